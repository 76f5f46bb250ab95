//! Misbehaving and mistaken callers: each gets a clear status, and nothing
//! else changes; an invalid share names its culprit.

use frost_ed25519::SigningPackage;
use frost_ed25519::round2::SignatureShare;
use quorate::local::REQUESTER;
use quorate_ceremonies::record::{RefusalReason, RefusedAction};
use quorate_e2e::*;
use quorate_participant::signer::Nonces;
use quorate_wire::{self as proto, CeremonyState};
use rand_core::OsRng;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_invalid_share_names_its_culprit_and_the_ceremony_re_forms() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    // Dave's credentials are in the hands of a cheater, not his agent.
    d.stop_agent(&pid("dave")).await;
    let id = request(&d, MANIFEST).await;
    d.approve(&pid("alice"), &id, T).await.unwrap();
    d.approve(&pid("carol"), &id, T).await.unwrap();

    let key = key_package(&d, "dave");
    let nonces = Nonces::generate(&key, &mut OsRng);
    let mut dave = raw_signer(&d, "dave").await;
    dave.approve(proto::ApproveRequest {
        ceremony: id.clone(),
        statement: approval(&d, "dave", &id),
        commitments: nonces.commitments().serialize().unwrap(),
    })
    .await
    .unwrap();
    let s = wait_for(&d, &id, "attempt 1", |s| {
        s.state() == CeremonyState::Signing
    })
    .await;
    assert!(s.signing_set.contains(&"dave".to_string()));

    // Dave signs a different message with his real nonces: a well-formed
    // share that does not verify for this package.
    let mut feed = dave
        .subscribe(proto::SubscribeRequest {})
        .await
        .unwrap()
        .into_inner();
    let package = loop {
        let work = feed.message().await.unwrap().unwrap();
        if work.ceremony.as_ref().unwrap().id == id && !work.signing_package.is_empty() {
            break SigningPackage::deserialize(&work.signing_package).unwrap();
        }
    };
    let forged = SigningPackage::new(package.signing_commitments().clone(), b"something else");
    let bad: SignatureShare = quorate_participant::signer::sign(
        &quorate_types::Sha256Digest::of(b"something else"),
        &forged,
        nonces,
        &key,
    )
    .unwrap();
    let err = dave
        .submit_share(proto::SubmitShareRequest {
            ceremony: id.clone(),
            attempt: 1,
            signature_share: bad.serialize(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("dave is dropped"),
        "{}",
        err.message()
    );

    let s = status(&d, &id).await;
    assert_ne!(s.state(), CeremonyState::Signed);
    assert_eq!(s.dropped.len(), 1);
    assert_eq!(s.dropped[0].participant, "dave");
    assert!(
        s.dropped[0].reason.contains("does not verify"),
        "{}",
        s.dropped[0].reason
    );

    // Another approver steps in; attempt 2 signs without the culprit.
    d.approve(&pid("erin"), &id, T).await.unwrap();
    let s = d.wait_finished(&id, T).await.unwrap();
    verify(&d, &s);
    assert_eq!(s.attempt, 2);
    assert!(!s.approvals.is_empty());
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_inputs_get_clear_statuses_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = deploy(dir.path()).await;
    let id = request(&d, MANIFEST).await;
    d.approve(&pid("alice"), &id, T).await.unwrap();
    d.approve(&pid("bob"), &id, T).await.unwrap();
    d.approve(&pid("carol"), &id, T).await.unwrap();
    let signed = d.wait_finished(&id, T).await.unwrap();
    verify(&d, &signed);

    let open = request(&d, MANIFEST).await;
    d.approve(&pid("alice"), &open, T).await.unwrap();
    let open_before = status(&d, &open).await;

    let share = || proto::SubmitShareRequest {
        ceremony: open.clone(),
        attempt: 1,
        signature_share: vec![0u8; 32],
    };
    let mut dave = raw_signer(&d, "dave").await;
    let mut mallory = raw_signer(&d, "mallory").await;
    let check =
        |result: Result<tonic::Response<proto::Ack>, tonic::Status>, code: Code, needle: &str| {
            let err = result.unwrap_err();
            assert_eq!(err.code(), code, "{}", err.message());
            assert!(
                err.message().contains(needle),
                "{:?} lacks {needle:?}",
                err.message()
            );
        };

    // A share when no signing package is out.
    check(
        dave.submit_share(share()).await,
        Code::FailedPrecondition,
        "no signing package is out",
    );
    // A share for an unknown ceremony.
    check(
        dave.submit_share(proto::SubmitShareRequest {
            ceremony: "0123456789abcdef".into(),
            ..share()
        })
        .await,
        Code::NotFound,
        "no ceremony 0123456789abcdef",
    );
    // A share after the ceremony ended.
    check(
        dave.submit_share(proto::SubmitShareRequest {
            ceremony: id.clone(),
            ..share()
        })
        .await,
        Code::FailedPrecondition,
        "signed and takes no more input",
    );
    // Someone nobody knows, and a known party outside every roster.
    check(
        mallory.submit_share(share()).await,
        Code::Unauthenticated,
        "unknown identity mallory",
    );
    check(
        raw_signer(&d, "auditor").await.submit_share(share()).await,
        Code::PermissionDenied,
        "auditor may not use the Signer service",
    );
    // A malformed share, a malformed commitment, a malformed digest, a bad id.
    check(
        dave.submit_share(proto::SubmitShareRequest {
            signature_share: vec![1, 2, 3],
            ..share()
        })
        .await,
        Code::InvalidArgument,
        "signature_share",
    );
    check(
        dave.approve(proto::ApproveRequest {
            ceremony: open.clone(),
            statement: approval(&d, "dave", &open),
            commitments: vec![0; 69],
        })
        .await,
        Code::InvalidArgument,
        "commitments",
    );
    check(
        dave.approve(proto::ApproveRequest {
            ceremony: open.clone(),
            statement: b"I, dave, approve".to_vec(),
            commitments: vec![],
        })
        .await,
        Code::InvalidArgument,
        "statement: not a signed statement",
    );
    check(
        dave.reject(proto::RejectRequest {
            ceremony: "../x".into(),
            statement: quorate_e2e::signed(
                &d,
                "dave",
                &open,
                MANIFEST.as_bytes(),
                quorate_types::Decision::Reject {
                    reason: "no".into(),
                },
            ),
        })
        .await,
        Code::InvalidArgument,
        "ceremony id",
    );
    // An approval of a different message.
    let key = key_package(&d, "dave");
    let nonces = Nonces::generate(&key, &mut OsRng);
    check(
        dave.approve(proto::ApproveRequest {
            ceremony: open.clone(),
            statement: quorate_e2e::signed(
                &d,
                "dave",
                &open,
                b"another manifest",
                quorate_types::Decision::Approve,
            ),
            commitments: nonces.commitments().serialize().unwrap(),
        })
        .await,
        Code::InvalidArgument,
        "but this ceremony signs",
    );
    // Someone else's approval, handed in by dave.
    check(
        dave.approve(proto::ApproveRequest {
            ceremony: open.clone(),
            statement: approval(&d, "bob", &open),
            commitments: nonces.commitments().serialize().unwrap(),
        })
        .await,
        Code::PermissionDenied,
        "it is bob's decision, and dave may only hand in its own",
    );
    // The attempt is in the record.
    let refused = record_entries(&d).await.into_iter().any(|e| {
        matches!(&e, quorate_ceremonies::Entry::Refused { caller, action, why, .. }
            if caller == "dave"
                && *action == RefusedAction::Approve
                && *why == RefusalReason::ForeignStatement { owner: pid("bob") })
    });
    assert!(
        refused,
        "dave's attempt to hand in bob's approval is not recorded"
    );
    // A statement altered after dave signed it (here: a rejection turned
    // into an approval) does not verify.
    let rejection = quorate_e2e::signed(
        &d,
        "dave",
        &open,
        MANIFEST.as_bytes(),
        quorate_types::Decision::Reject {
            reason: "no".into(),
        },
    );
    let mut altered = quorate_types::SignedStatement::from_bytes(&rejection).unwrap();
    altered.statement.decision = quorate_types::Decision::Approve;
    check(
        dave.approve(proto::ApproveRequest {
            ceremony: open.clone(),
            statement: altered.to_bytes(),
            commitments: nonces.commitments().serialize().unwrap(),
        })
        .await,
        Code::InvalidArgument,
        "the signature does not verify with dave's identity key",
    );
    // Fresh commitments from someone who has not approved.
    check(
        dave.commit(proto::CommitRequest {
            ceremony: open.clone(),
            commitments: nonces.commitments().serialize().unwrap(),
        })
        .await,
        Code::FailedPrecondition,
        "dave has not approved",
    );
    // Alice approving twice.
    let mut alice = raw_signer(&d, "alice").await;
    check(
        alice
            .approve(proto::ApproveRequest {
                ceremony: open.clone(),
                statement: approval(&d, "alice", &open),
                commitments: nonces.commitments().serialize().unwrap(),
            })
            .await,
        Code::AlreadyExists,
        "alice already approved",
    );
    // No identity at all.
    let mut anonymous = proto::signer_client::SignerClient::new(anonymous_channel(&d).await);
    let err = anonymous.submit_share(share()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    // None of it changed the open ceremony or the signed one.
    assert_eq!(status(&d, &open).await, open_before);
    assert_eq!(status(&d, &id).await, signed);

    // Requests a release manager can get wrong.
    let mut clients = d.clients(REQUESTER).await.unwrap();
    let err = clients
        .ceremonies
        .create(proto::CreateCeremonyRequest {
            key_group: "release".into(),
            message: vec![b'x'; quorate_types::MAX_MESSAGE_BYTES + 1],
            label: "big".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("sign a manifest"),
        "{}",
        err.message()
    );
    let err = clients
        .ceremonies
        .create(proto::CreateCeremonyRequest {
            key_group: "nope".into(),
            message: b"m".to_vec(),
            label: String::new(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(
        err.message().contains("no key group nope"),
        "{}",
        err.message()
    );
    // Registering the same key group again (as the operator may).
    let err = d
        .clients(quorate::local::OPERATOR)
        .await
        .unwrap()
        .key_groups
        .register(proto::RegisterKeyGroupRequest {
            key_group: Some(proto::KeyGroup::from(&d.group)),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    d.stop().await.unwrap();
}
