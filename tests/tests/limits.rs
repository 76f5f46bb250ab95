//! Abuse limits over the real coordinator: oversize requests on every
//! service, caps on open ceremonies (per requester and in total), the
//! per-identity creation rate, the events one participant may add to a
//! ceremony, and the calls one connection may carry at once. Each refusal
//! is a clear status, and a refused create records nothing.

use quorate::local::{AUDITOR, LocalDeployment, OPERATOR, Options, REQUESTER, sample_roster};
use quorate_coordinator::authz::{Party, Role};
use quorate_coordinator::limits::{Limits, MAX_DECODE};
use quorate_e2e::*;
use quorate_wire::{self as proto, CeremonyState};
use tonic::Code;

/// A second release manager.
const OTHER: &str = "release-manager-2";

async fn deploy_with(dir: &std::path::Path, limits: Limits) -> LocalDeployment {
    let mut d = LocalDeployment::start_with(
        dir,
        "release",
        &sample_roster(None),
        3,
        Options {
            limits,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // OTHER may request too.
    d.coordinator_config.parties.push(Party {
        name: OTHER.into(),
        roles: vec![Role::Requester],
    });
    d.stop_coordinator().await.unwrap();
    d.start_coordinator().await.unwrap();
    d
}

async fn create(d: &LocalDeployment, who: &str, message: Vec<u8>) -> Result<String, tonic::Status> {
    d.clients(who)
        .await
        .unwrap()
        .ceremonies
        .create(proto::CreateCeremonyRequest {
            key_group: "release".into(),
            message,
            label: "SHA256SUMS".into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().id)
}

fn exhausted(result: Result<String, tonic::Status>) -> String {
    let status = result.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    status.message().to_string()
}

fn ids(statuses: &[proto::CeremonyStatus]) -> Vec<String> {
    let mut ids: Vec<_> = statuses.iter().map(|s| s.id.clone()).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn open_ceremonies_are_capped_per_requester_and_in_total() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_open_ceremonies: 3,
        max_open_per_requester: 2,
        ..Default::default()
    };
    let mut d = deploy_with(dir.path(), limits).await;
    let m = || MANIFEST.as_bytes().to_vec();

    let mine = [
        create(&d, REQUESTER, m()).await.unwrap(),
        create(&d, REQUESTER, m()).await.unwrap(),
    ];
    let size = record_size(&d).await;
    assert_eq!(
        exhausted(create(&d, REQUESTER, m()).await),
        "requester release-manager has 2 open ceremonies, the most allowed \
         (limits.max_open_per_requester); finish or cancel some first"
    );
    // Another requester still may.
    let theirs = create(&d, OTHER, m()).await.unwrap();
    assert_eq!(
        exhausted(create(&d, OTHER, m()).await),
        "the coordinator has 3 open ceremonies, the most it allows \
         (limits.max_open_ceremonies); wait for some to finish, or cancel some"
    );
    // The refusals recorded nothing.
    assert_eq!(record_size(&d).await, size + 1);
    let all = listed(&d).await;
    let mut expected = vec![mine[0].clone(), mine[1].clone(), theirs.clone()];
    expected.sort();
    assert_eq!(ids(&all), expected);

    // A finished ceremony frees its slot.
    d.clients(REQUESTER)
        .await
        .unwrap()
        .ceremonies
        .cancel(proto::CancelCeremonyRequest {
            id: mine[0].clone(),
            reason: "wrong build".into(),
        })
        .await
        .unwrap();
    let again = create(&d, REQUESTER, m()).await.unwrap();

    // The counts come back from the record after a restart.
    d.stop_coordinator().await.unwrap();
    d.start_coordinator().await.unwrap();
    assert!(
        exhausted(create(&d, REQUESTER, m()).await).starts_with("requester release-manager has 2")
    );
    assert!(exhausted(create(&d, OTHER, m()).await).starts_with("the coordinator has 3"));
    let all = listed(&d).await;
    assert_eq!(all.len(), 4);
    let open: Vec<_> = all
        .iter()
        .filter(|s| s.state() == CeremonyState::CollectingApprovals)
        .map(|s| s.id.clone())
        .collect();
    let mut expected = vec![mine[1].clone(), theirs, again];
    expected.sort();
    let mut open = open;
    open.sort();
    assert_eq!(open, expected);
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creation_is_rate_limited_per_identity() {
    let dir = tempfile::tempdir().unwrap();
    // One a minute after a burst of 3: the fourth create within the minute
    // is refused however fast or slow this machine is.
    let limits = Limits {
        creations_per_minute: 1,
        creation_burst: 3,
        ..Default::default()
    };
    let d = deploy_with(dir.path(), limits).await;
    let m = || MANIFEST.as_bytes().to_vec();
    let mut accepted = Vec::new();
    for _ in 0..3 {
        accepted.push(create(&d, REQUESTER, m()).await.unwrap());
    }
    let size = record_size(&d).await;
    let message = exhausted(create(&d, REQUESTER, m()).await);
    assert!(
        message.starts_with(
            "requester release-manager is creating ceremonies faster than the 1 a minute \
             (after a burst of 3) allowed per identity (limits.creations_per_minute, \
             limits.creation_burst); try again in "
        ),
        "{message}"
    );
    assert_eq!(
        record_size(&d).await,
        size,
        "a refused create records nothing"
    );
    // Every identity has its own bucket.
    accepted.push(create(&d, OTHER, m()).await.unwrap());
    accepted.sort();
    assert_eq!(ids(&listed(&d).await), accepted);
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn oversize_requests_are_refused_on_every_service() {
    let dir = tempfile::tempdir().unwrap();
    let d = deploy(dir.path()).await;
    let size = record_size(&d).await;
    let huge = MAX_DECODE + 1024;
    let over_limit = |status: tonic::Status| {
        assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
        assert!(
            status
                .message()
                .starts_with("Error, decoded message length too large")
                && status
                    .message()
                    .ends_with(&format!("the limit is: {MAX_DECODE} bytes")),
            "{status:?}"
        );
    };

    // Ceremonies: over the transport limit ...
    over_limit(create(&d, REQUESTER, vec![b'x'; huge]).await.unwrap_err());
    // ... and under it, but over the message cap.
    let status = create(&d, REQUESTER, vec![b'x'; 100 * 1024])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status.message(),
        "message: 102400 bytes is over the limit of 65536; sign a manifest of the \
         artifacts (e.g. SHA256SUMS) instead"
    );

    // KeyGroups.
    let status = d
        .clients(OPERATOR)
        .await
        .unwrap()
        .key_groups
        .register(proto::RegisterKeyGroupRequest {
            key_group: Some(proto::KeyGroup {
                name: "big".into(),
                policy_toml: "x".repeat(huge),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    over_limit(status);

    // Signer.
    let status = raw_signer(&d, "alice")
        .await
        .approve(proto::ApproveRequest {
            ceremony: "0000000000000000".into(),
            statement: vec![0; huge],
            commitments: Vec::new(),
        })
        .await
        .unwrap_err();
    over_limit(status);

    // Audit.
    let status = d
        .clients(AUDITOR)
        .await
        .unwrap()
        .audit
        .ceremony_entries(proto::CeremonyEntriesRequest {
            ceremony: "x".repeat(huge),
            from: 0,
        })
        .await
        .unwrap_err();
    over_limit(status);

    assert_eq!(record_size(&d).await, size);
    assert!(listed(&d).await.is_empty());
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_participant_adds_a_bounded_number_of_events_to_a_ceremony() {
    use quorate_coordinator::limits::MAX_EVENTS_PER_PARTICIPANT;
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy_with(dir.path(), Limits::default()).await;
    // alice's own agent is stopped: her certificate and key act alone,
    // as a stuck or hostile agent would.
    d.stop_agent(&pid("alice")).await;
    let id = request(&d, MANIFEST).await;
    let key = key_package(&d, "alice");
    let commitments = || {
        frost_ed25519::round1::commit(key.signing_share(), &mut rand_core::OsRng)
            .1
            .serialize()
            .unwrap()
    };
    let mut signer = raw_signer(&d, "alice").await;
    signer
        .approve(proto::ApproveRequest {
            ceremony: id.clone(),
            statement: approval(&d, "alice", &id),
            commitments: commitments(),
        })
        .await
        .unwrap();
    // Her approval and fresh commitments up to the cap are taken.
    for _ in 1..MAX_EVENTS_PER_PARTICIPANT {
        signer
            .commit(proto::CommitRequest {
                ceremony: id.clone(),
                commitments: commitments(),
            })
            .await
            .unwrap();
    }
    for restart in [false, true] {
        if restart {
            // The count is rebuilt from the record.
            d.stop_coordinator().await.unwrap();
            d.start_coordinator().await.unwrap();
            signer = raw_signer(&d, "alice").await;
        }
        let size = record_size(&d).await;
        let refused = signer
            .commit(proto::CommitRequest {
                ceremony: id.clone(),
                commitments: commitments(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
        // It stands: no retry-after.
        assert!(refused.metadata().get("retry-after").is_none());
        assert!(
            refused.message().contains(&format!(
                "alice has added {MAX_EVENTS_PER_PARTICIPANT} events to ceremony {id}"
            )),
            "{}",
            refused.message()
        );
        assert_eq!(record_size(&d).await, size, "a refused event was recorded");
    }
    // The others go on, and the requester can still call it off.
    d.approve(&pid("bob"), &id, T).await.unwrap();
    wait_for(&d, &id, "bob's approval", |s| s.approvals.len() == 2).await;
    d.clients(REQUESTER)
        .await
        .unwrap()
        .ceremonies
        .cancel(proto::CancelCeremonyRequest {
            id: id.clone(),
            reason: "alice's agent is broken".into(),
        })
        .await
        .unwrap();
    assert_eq!(status(&d, &id).await.state(), CeremonyState::Cancelled);
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_entries_reply_stays_under_what_clients_accept() {
    use prost::Message as _;
    use quorate_coordinator::limits::MAX_ENCODE;
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        creation_burst: 40,
        ..Limits::default()
    };
    let d = deploy_with(dir.path(), limits).await;
    // 36 requests of 64 KiB messages: 4.5 MiB of entries (hex), more than
    // a client takes in one reply.
    for i in 0..36u8 {
        create(&d, REQUESTER, vec![b'a' + i % 26; 64 * 1024])
            .await
            .unwrap();
    }
    let size = record_size(&d).await;
    let mut audit = d.clients(AUDITOR).await.unwrap().audit;
    let mut start = 0;
    let mut replies = 0;
    while start < size {
        let reply = audit
            .entries(proto::EntriesRequest { start, end: size })
            .await
            .unwrap()
            .into_inner();
        assert!(reply.encoded_len() < MAX_ENCODE, "{}", reply.encoded_len());
        let indexes: Vec<u64> = reply.entries.iter().map(|e| e.index).collect();
        assert!(!indexes.is_empty());
        assert_eq!(
            indexes,
            (start..start + indexes.len() as u64).collect::<Vec<_>>()
        );
        start += indexes.len() as u64;
        replies += 1;
    }
    assert!(replies >= 2, "all {size} entries came in one reply");
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writing_calls_are_rate_limited_per_identity() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        writes_per_minute: 6,
        write_burst: 2,
        ..Limits::default()
    };
    let d = deploy_with(dir.path(), limits).await;
    // Two creates, then the third write of the release manager (a cancel)
    // is refused, and nothing is recorded of it.
    let first = create(&d, REQUESTER, MANIFEST.as_bytes().to_vec())
        .await
        .unwrap();
    create(&d, REQUESTER, b"def  app-1.1.tar.gz\n".to_vec())
        .await
        .unwrap();
    let size = record_size(&d).await;
    let refused = d
        .clients(REQUESTER)
        .await
        .unwrap()
        .ceremonies
        .cancel(proto::CancelCeremonyRequest {
            id: first.clone(),
            reason: "superseded".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().starts_with(
            "release-manager is making writing calls faster than the 6 a minute (after a burst \
             of 2) allowed per identity (limits.writes_per_minute, limits.write_burst)"
        ),
        "{}",
        refused.message()
    );
    // It passes: it says when to try again (agents go on resending).
    let retry: u64 = refused
        .metadata()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=10).contains(&retry), "{retry}");
    assert_eq!(record_size(&d).await, size);
    assert_eq!(
        status(&d, &first).await.state(),
        CeremonyState::CollectingApprovals
    );
    // Reading is not writing; and another identity has its own budget.
    assert_eq!(listed(&d).await.len(), 2);
    d.approve(&pid("alice"), &first, T).await.unwrap();
    wait_for(&d, &first, "alice's approval", |s| s.approvals.len() == 1).await;
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_list_page_stays_under_what_clients_accept() {
    use prost::Message as _;
    use quorate_coordinator::limits::MAX_ENCODE;
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        creation_burst: 80,
        max_open_per_requester: 100,
        ..Limits::default()
    };
    let d = deploy_with(dir.path(), limits).await;
    // 70 statuses of 64 KiB messages: 4.5 MiB in one page of 100.
    let mut made = Vec::new();
    for i in 0..70u8 {
        made.push(
            create(&d, REQUESTER, vec![b'a' + i % 26; 64 * 1024])
                .await
                .unwrap(),
        );
    }
    let mut ceremonies = d.clients(REQUESTER).await.unwrap().ceremonies;
    let (mut listed, mut token, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let reply = ceremonies
            .list(proto::ListCeremoniesRequest {
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(reply.encoded_len() < MAX_ENCODE, "{}", reply.encoded_len());
        assert!(!reply.ceremonies.is_empty());
        listed.extend(reply.ceremonies.into_iter().map(|c| c.id));
        pages += 1;
        if reply.next_page_token.is_empty() {
            break;
        }
        token = reply.next_page_token;
    }
    assert!(pages >= 2, "70 large statuses came in one page");
    assert_eq!(listed, made);
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agents_held_back_by_the_write_rate_go_on_and_sign() {
    let dir = tempfile::tempdir().unwrap();
    // Five writes at once, then one a second, for every identity: each
    // agent needs ten here (an approval and a share per ceremony).
    let limits = Limits {
        writes_per_minute: 60,
        write_burst: 5,
        ..Limits::default()
    };
    let mut d = deploy_with(dir.path(), limits).await;
    for who in ["alice", "carol", "erin"] {
        d.set_auto_approve(&pid(who), true).await.unwrap();
    }
    let mut ids = Vec::new();
    for i in 0..5u8 {
        ids.push(
            create(
                &d,
                REQUESTER,
                format!("{i}  app-1.{i}.tar.gz\n").into_bytes(),
            )
            .await
            .unwrap(),
        );
    }
    for id in &ids {
        let s = d.wait_finished(id, T).await.unwrap();
        assert_eq!(s.state(), CeremonyState::Signed, "{}", s.summary);
        verify(&d, &s);
    }
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agents_follow_small_evidence_pages_and_sign() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // A ceremony's entries are a few KiB: every agent's release check and
    // record check take several pages of StatementEvidence here.
    let limits = Limits {
        reply_bytes: 1024,
        ..Limits::default()
    };
    let mut d = deploy_with(dir.path(), limits).await;
    for who in ["alice", "carol", "erin"] {
        d.set_auto_approve(&pid(who), true).await?;
    }
    let id = create(&d, REQUESTER, b"0  app-2.0.tar.gz\n".to_vec()).await?;
    let s = d.wait_finished(&id, T).await?;
    assert_eq!(s.state(), CeremonyState::Signed, "{}", s.summary);
    verify(&d, &s);

    // The entries did not fit one page.
    let mut audit = d.clients(AUDITOR).await?.audit;
    let first = audit
        .statement_evidence(proto::StatementEvidenceRequest {
            ceremony: id.clone(),
            prove_entries: true,
            ..Default::default()
        })
        .await;
    // An auditor is no participant: only agents fetch evidence.
    assert_eq!(
        first.map(|_| ()).map_err(|e| e.code()),
        Err(Code::PermissionDenied)
    );
    let mut agent = d.clients("alice").await?.audit;
    let first = agent
        .statement_evidence(proto::StatementEvidenceRequest {
            ceremony: id.clone(),
            prove_entries: true,
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(
        first.more,
        "{} entries came in one page",
        first.entries.len()
    );
    let beyond = agent
        .statement_evidence(proto::StatementEvidenceRequest {
            ceremony: id.clone(),
            size: first.size + 1000,
            from: 1,
            ..Default::default()
        })
        .await
        .map(|_| ())
        .map_err(|e| (e.code(), e.message().to_string()));
    let (code, message) = beyond.err().unwrap_or((Code::Ok, String::new()));
    assert_eq!(code, Code::InvalidArgument, "{message}");
    let want = format!("size: {} is beyond the log's ", first.size + 1000);
    assert!(message.starts_with(&want), "{message}");

    // Each signer's agent checked the record, through the pages, after
    // the ceremony ended, and found it right.
    for who in ["alice", "carol", "erin"] {
        wait_checked_after_end(&d, who, &id).await;
    }
    d.stop().await?;
    Ok(())
}

/// One client connection carries at most `limits.streams_per_connection`
/// calls and streams at once: with two watch streams open, a third call
/// on that connection waits, while another connection is served; once a
/// stream ends, the waiting call goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_connection_carries_at_most_its_stream_limit() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let limits = Limits {
        streams_per_connection: 2,
        ..Limits::default()
    };
    let d = deploy_with(dir.path(), limits).await;
    let id = create(&d, REQUESTER, MANIFEST.as_bytes().to_vec()).await?;
    let get = proto::GetCeremonyRequest { id: id.clone() };
    let mut full = d.clients(REQUESTER).await?;
    let first = full.ceremonies.watch(get.clone()).await?.into_inner();
    let _second = full.ceremonies.watch(get.clone()).await?.into_inner();

    // The connection is full: a third call on it waits.
    let mut waiting = full.ceremonies.clone();
    let third = tokio::spawn(async move { waiting.get(get).await });
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(!third.is_finished(), "a third call went through at once");
    // Another connection is not held up.
    let other = d
        .clients(REQUESTER)
        .await?
        .ceremonies
        .get(proto::GetCeremonyRequest { id: id.clone() })
        .await?;
    assert_eq!(other.into_inner().id, id);

    // A stream ends: the waiting call goes through.
    drop(first);
    let got = tokio::time::timeout(T, third).await???;
    assert_eq!(got.into_inner().id, id);
    d.stop().await?;
    Ok(())
}
