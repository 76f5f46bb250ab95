//! Who may call what, over real mutual TLS on loopback: no credentials, an
//! unknown identity, a certificate from another CA, a caller naming someone
//! else, plaintext, and every row of the authorization matrix.

use quorate::keygen;
use quorate::local::{AUDITOR, OPERATOR, REQUESTER};
use quorate_e2e::*;
use quorate_types::{KeyGroupName, Roster};
use quorate_wire::{
    self as proto, audit_client::AuditClient, ceremonies_client::CeremoniesClient,
    key_groups_client::KeyGroupsClient, signer_client::SignerClient,
};
use tonic::Code;
use tonic::transport::Channel;

/// Whether a call got past authorization: anything but a refusal of who
/// is calling counts (a domain error like NOT_FOUND means it was let in).
fn admitted<T>(result: &Result<T, tonic::Status>) -> bool {
    match result {
        Ok(_) => true,
        Err(s) => !matches!(s.code(), Code::PermissionDenied | Code::Unauthenticated),
    }
}

/// Every RPC of the matrix, called once as whoever owns `channel`.
async fn calls(
    channel: Channel,
    ceremony: &str,
    other_group: &proto::KeyGroup,
) -> Vec<(&'static str, bool)> {
    let mut groups = KeyGroupsClient::new(channel.clone());
    let mut ceremonies = CeremoniesClient::new(channel.clone());
    let mut signer = SignerClient::new(channel.clone());
    let mut audit = AuditClient::new(channel);
    let get = proto::GetCeremonyRequest {
        id: ceremony.into(),
    };
    vec![
        (
            "KeyGroups.Register",
            admitted(
                &groups
                    .register(proto::RegisterKeyGroupRequest {
                        key_group: Some(other_group.clone()),
                    })
                    .await,
            ),
        ),
        (
            "KeyGroups.ChangeRoster",
            admitted(
                &groups
                    .change_roster(proto::ChangeRosterRequest {
                        name: other_group.name.clone(),
                        roster: other_group.roster.clone(),
                    })
                    .await,
            ),
        ),
        (
            "KeyGroups.Get",
            admitted(
                &groups
                    .get(proto::GetKeyGroupRequest {
                        name: "release".into(),
                    })
                    .await,
            ),
        ),
        (
            "Ceremonies.Create",
            admitted(
                &ceremonies
                    .create(proto::CreateCeremonyRequest {
                        key_group: "release".into(),
                        message: MANIFEST.as_bytes().to_vec(),
                        label: "x".into(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "Ceremonies.Get",
            admitted(&ceremonies.get(get.clone()).await),
        ),
        (
            "Ceremonies.Watch",
            admitted(&ceremonies.watch(get.clone()).await),
        ),
        (
            "Ceremonies.List",
            admitted(
                &ceremonies
                    .list(proto::ListCeremoniesRequest::default())
                    .await,
            ),
        ),
        (
            "Ceremonies.Cancel",
            admitted(
                &ceremonies
                    .cancel(proto::CancelCeremonyRequest {
                        id: "0000".into(),
                        reason: "r".into(),
                    })
                    .await,
            ),
        ),
        (
            "Ceremonies.Review",
            admitted(
                &ceremonies
                    .review(proto::ReviewCeremonyRequest {
                        id: ceremony.into(),
                        notes: "n".into(),
                    })
                    .await,
            ),
        ),
        (
            "Signer.Subscribe",
            admitted(&signer.subscribe(proto::SubscribeRequest {}).await),
        ),
        (
            "Signer.Commit",
            admitted(
                &signer
                    .commit(proto::CommitRequest {
                        ceremony: ceremony.into(),
                        commitments: vec![],
                    })
                    .await,
            ),
        ),
        (
            "Audit.Checkpoint",
            admitted(&audit.checkpoint(proto::CheckpointRequest {}).await),
        ),
        (
            "Audit.CeremonyEntries",
            admitted(
                &audit
                    .ceremony_entries(proto::CeremonyEntriesRequest {
                        ceremony: ceremony.into(),
                        from: 0,
                    })
                    .await,
            ),
        ),
        (
            "Audit.StatementEvidence",
            admitted(
                &audit
                    .statement_evidence(proto::StatementEvidenceRequest {
                        ceremony: ceremony.into(),
                        old_size: 0,
                        witnessed: false,
                        prove_entries: false,
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "Audit.Entries",
            admitted(
                &audit
                    .entries(proto::EntriesRequest { start: 0, end: 1 })
                    .await,
            ),
        ),
    ]
}

/// A second key group, frank and grace, that operators may register.
fn other_group() -> proto::KeyGroup {
    let roster = Roster::from_toml(
        "[[participant]]\nid = \"frank\"\nname = \"Frank\"\nrole = \"engineering\"\n\
         [[participant]]\nid = \"grace\"\nname = \"Grace\"\nrole = \"security\"\n",
    )
    .unwrap();
    let dealt = keygen::deal(
        KeyGroupName::new("other").unwrap(),
        &roster,
        2,
        Default::default(),
    )
    .unwrap();
    proto::KeyGroup::from(&dealt.group)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_row_of_the_authorization_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let d = deploy(dir.path()).await;
    let id = request(&d, MANIFEST).await;
    let other = other_group();
    // Frank is a participant, but of the other key group only.
    KeyGroupsClient::new(channel_as(&d, OPERATOR).await)
        .register(proto::RegisterKeyGroupRequest {
            key_group: Some(other.clone()),
        })
        .await
        .unwrap();
    let mut taken = other.clone();
    taken.name = "other2".into();

    // Participants read their own key groups' ceremonies' entries, never
    // the whole log; auditors and operators read everything.
    //                        Reg    Roster KGGet  Create Get    Watch  List   Cancel Review Sub    Commit Chkpt  CerEnt StmtEv Entries
    let matrix: [(&str, [bool; 15]); 5] = [
        (
            REQUESTER,
            [
                false, false, true, true, true, true, true, true, false, false, false, false,
                false, false, false,
            ],
        ),
        (
            AUDITOR,
            [
                false, false, true, false, true, true, true, false, true, false, false, true, true,
                false, true,
            ],
        ),
        (
            OPERATOR,
            [
                true, true, true, false, true, true, true, false, false, false, false, true, true,
                false, true,
            ],
        ),
        (
            "alice",
            [
                false, false, true, false, true, true, true, false, false, true, true, true, true,
                true, false,
            ],
        ),
        (
            "frank",
            [
                false, false, true, false, false, false, true, false, false, true, true, true,
                false, false, false,
            ],
        ),
    ];
    for (who, expected) in matrix {
        let got = calls(channel_as(&d, who).await, &id, &taken).await;
        for ((rpc, admitted), want) in got.iter().zip(expected) {
            assert_eq!(*admitted, want, "{who} calling {rpc}");
        }
    }
    // Frank lists ceremonies but sees none of the release group's.
    let listed = CeremoniesClient::new(channel_as(&d, "frank").await)
        .list(proto::ListCeremoniesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.ceremonies.is_empty(), "{listed:?}");
    let listed = CeremoniesClient::new(channel_as(&d, "alice").await)
        .list(proto::ListCeremoniesRequest::default())
        .await
        .unwrap()
        .into_inner();
    // Hers: the one requested above and the one the requester's row made.
    assert_eq!(listed.ceremonies.len(), 2);
    assert!(listed.ceremonies.iter().all(|c| c.key_group == "release"));
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn callers_must_prove_who_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let d = deploy(dir.path()).await;
    let id = request(&d, MANIFEST).await;
    let get = proto::GetCeremonyRequest { id: id.clone() };

    // TLS but no client certificate.
    let err = CeremoniesClient::new(anonymous_channel(&d).await)
        .get(get.clone())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    assert!(err.message().contains("no client certificate"), "{err}");

    // A certificate from the deployment's CA for a name nobody knows.
    let err = CeremoniesClient::new(channel_as(&d, "mallory").await)
        .get(get.clone())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    assert!(err.message().contains("unknown identity mallory"), "{err}");

    // A certificate naming the operator, from another CA: no handshake.
    let rogue = quorate::pki::LocalPki::create(&dir.path().join("rogue")).unwrap();
    let mut files = rogue.client(OPERATOR).unwrap();
    files.ca = d.pki.ca_cert();
    let refused = async {
        let channel = quorate_wire::tls::channel(&d.url(), Some(&files)).await?;
        CeremoniesClient::new(channel)
            .get(get.clone())
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    assert!(
        refused.is_err(),
        "a certificate from another CA was accepted"
    );

    // The requester names the operator in the old identity header: over
    // TLS the certificate decides, so it is still the requester.
    let mut groups = KeyGroupsClient::with_interceptor(
        channel_as(&d, REQUESTER).await,
        quorate_wire::client::Identify::new(OPERATOR).unwrap(),
    );
    let err = groups
        .register(proto::RegisterKeyGroupRequest {
            key_group: Some(other_group()),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err}");
    assert!(
        err.message().contains("release-manager may not register"),
        "{err}"
    );

    // Plaintext to the TLS port gets nowhere.
    let plain = tonic::transport::Endpoint::from_shared(d.url().replace("https://", "http://"))
        .unwrap()
        .connect()
        .await;
    if let Ok(channel) = plain {
        let result = CeremoniesClient::new(channel).get(get).await;
        assert!(result.is_err(), "a plaintext call was answered");
    }
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_need_a_client_certificate_from_the_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let d = deploy(dir.path()).await;
    let addr = d.metrics_addr().expect("local deployments serve metrics");
    let scraped = https_get_as(&d, addr, "/metrics", Some(quorate::local::AUDITOR))
        .await
        .unwrap();
    assert!(scraped.starts_with("HTTP/1.1 200"), "{scraped}");
    assert!(scraped.contains("quorate_"), "{scraped}");
    // Without a certificate the handshake fails, or the server closes the
    // connection before it answers.
    let anonymous = https_get_as(&d, addr, "/metrics", None).await;
    assert!(
        anonymous.as_ref().is_err() || anonymous.as_ref().is_ok_and(|r| !r.contains("200")),
        "{anonymous:?}"
    );
    // Clients that connect and never start their handshake hold up no
    // scrape. (Handshakes taken one at a time, each given 5 s, made the
    // scrape below wait 20 s behind these four.)
    let mut stalled = Vec::new();
    for _ in 0..4 {
        stalled.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let scraped = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        https_get_as(&d, addr, "/metrics", Some(quorate::local::AUDITOR)),
    )
    .await
    .expect("a scrape waited behind stalled handshakes")
    .unwrap();
    assert!(scraped.starts_with("HTTP/1.1 200"), "{scraped}");
    drop(stalled);
    d.stop().await.unwrap();
}
