//! The record end to end: a real ceremony exported, replayed offline with no
//! coordinator running, and checkpoints checked for consistency across more
//! ceremonies and against a forked history.

use quorate::audit;
use quorate::client::{Clients, Target};
use quorate_coordinator::Config;
use quorate_e2e::*;
use quorate_types::CeremonyId;

async fn sign(d: &quorate::local::LocalDeployment, message: &str) -> String {
    let id = request(d, message).await;
    for who in ["alice", "carol", "erin"] {
        d.approve(&pid(who), &id, T).await.unwrap();
    }
    let s = d.wait_finished(&id, T).await.unwrap();
    verify(d, &s);
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_ceremony_replays_offline_and_the_log_stays_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    let log = audit::log_verifier(&d.log_verifier_key).unwrap();
    let id = sign(&d, MANIFEST).await;

    // Each approver's agent finds its own signed approval in the record,
    // proved against a checkpoint it verified with the log key.
    for who in ["alice", "carol", "erin"] {
        let record = record_of(&d, who, &id).await;
        assert!(record.starts_with("included at "), "{who}: {record}");
    }

    let mut clients = d.clients("auditor").await.unwrap();
    let transcript = audit::export(&mut clients.audit, &CeremonyId::new(&id).unwrap())
        .await
        .unwrap();
    let path = dir.path().join("ceremony.transcript");
    audit::save_transcript(&transcript, &path).unwrap();
    let first = audit::checkpoint(&mut clients.audit).await.unwrap();
    drop(clients);

    // Offline: nothing of quorate is running.
    d.stop_coordinator().await.unwrap();
    let report = audit::replay_file(&path, &log).unwrap();
    assert!(report.passed, "{report}");
    assert_eq!(report.state, "signed");
    assert!(report.signature.is_some());
    let text = report.to_string();
    for who in ["alice", "carol", "erin"] {
        assert!(
            text.contains(&format!("{who} (")) && text.contains("approved"),
            "{text}"
        );
    }
    // Replayed against another log's key, it fails at the checkpoint.
    let other =
        quorate_tlog::LogKey::generate(&mut rand_core::OsRng, "quorate.localhost/log").unwrap();
    let wrong = audit::replay_file(&path, &other.verifier().unwrap()).unwrap();
    assert_eq!(
        wrong.first_finding().unwrap().field,
        "checkpoint",
        "{wrong}"
    );

    // Keep a copy of the log as it was at the first checkpoint.
    let data = d.coordinator_config.data_dir.clone();
    let fork_dir = dir.path().join("fork");
    copy_dir(&data, &fork_dir);

    // More ceremonies; the new checkpoint extends the first.
    d.start_coordinator().await.unwrap();
    sign(&d, &MANIFEST.replace("1.0.0", "1.0.1")).await;
    sign(&d, &MANIFEST.replace("1.0.0", "1.0.2")).await;
    let mut clients = d.clients("auditor").await.unwrap();
    let second = audit::checkpoint(&mut clients.audit).await.unwrap();
    let ok = audit::verify_log(&mut clients.audit, &log, &first, &second)
        .await
        .unwrap();
    assert!(ok.new.size > ok.old.size);
    // The old transcript still replays: it is proved against its own checkpoint.
    assert!(audit::replay_file(&path, &log).unwrap().passed);

    // A forked history: the same log key and the same first entries, then
    // other entries. It extends the first checkpoint, but not the second.
    let fork = quorate_coordinator::start(&Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: fork_dir,
        metrics_listen: None,
        page_listen: None,
        // The fork is written in a hurry.
        limits: quorate_coordinator::limits::Limits {
            creation_burst: 1000,
            ..Default::default()
        },
        ..d.coordinator_config.clone()
    })
    .await
    .unwrap();
    assert_eq!(fork.log_verifier_key, d.log_verifier_key);
    let mut forked = Clients::connect(&Target {
        url: format!("https://{}", fork.addr),
        ..d.target("release-manager").unwrap()
    })
    .await
    .unwrap();
    for n in 0..(ok.new.size - ok.old.size + 3) {
        forked
            .ceremonies
            .create(quorate_wire::CreateCeremonyRequest {
                key_group: "release".into(),
                message: format!("{n}  other.tar.gz\n").into_bytes(),
                label: "other".into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let mut forked = Clients::connect(&Target {
        url: format!("https://{}", fork.addr),
        ..d.target(quorate::local::AUDITOR).unwrap()
    })
    .await
    .unwrap();
    let forged = audit::checkpoint(&mut forked.audit).await.unwrap();
    audit::verify_log(&mut forked.audit, &log, &first, &forged)
        .await
        .expect("the fork does extend the first checkpoint");
    let err = audit::verify_log(&mut forked.audit, &log, &second, &forged)
        .await
        .expect_err("a forked history is detected");
    assert!(err.to_string().contains("rewrote or forked"), "{err}");
    // And the honest coordinator cannot prove the forged checkpoint either.
    let err = audit::verify_log(&mut clients.audit, &log, &second, &forged)
        .await
        .expect_err("the forged checkpoint is not of this log");
    assert!(
        err.to_string().contains("rewrote or forked") || err.to_string().contains("beyond"),
        "{err}"
    );
    fork.stop().await.unwrap();
    d.stop().await.unwrap();
}

/// What `who`'s agent says about its statement in the record, once checked.
async fn record_of(d: &quorate::local::LocalDeployment, who: &str, id: &str) -> String {
    let mut control = d.control(&pid(who)).await.unwrap();
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let review = control
            .show(quorate_wire::ShowRequest {
                ceremony: id.to_string(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(!review.record_problem, "{who}: {}", review.record);
        if !review.record.is_empty() {
            return review.record;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{who} never checked the record"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// `Audit.StatementEvidence` gives an agent its whole record check in one
/// tree: a checkpoint signed by the log key, the ceremony's entries, the
/// inclusion proof of exactly the caller's statement, and a consistency
/// proof from the tree it last verified. A participant with no statement
/// gets no proof; a ceremony the record lacks has no entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn statement_evidence_proves_the_callers_own_statement() {
    use quorate_tlog::{Hash, InclusionProof, check_consistency, check_inclusion, leaf_hash};
    use quorate_wire as proto;

    let dir = tempfile::tempdir().unwrap();
    let d = deploy(dir.path()).await;
    let log = audit::log_verifier(&d.log_verifier_key).unwrap();
    let first = sign(&d, MANIFEST).await;
    let mut auditor = d.clients("auditor").await.unwrap();
    let early = log
        .verify_checkpoint(&audit::checkpoint(&mut auditor.audit).await.unwrap())
        .unwrap();
    let id = sign(&d, "another  release\n").await;
    let hashes = |list: Vec<Vec<u8>>| -> Vec<Hash> {
        list.iter().map(|h| Hash::from_slice(h).unwrap()).collect()
    };
    let evidence = |who: &'static str, ceremony: String, old_size: u64| {
        let d = &d;
        async move {
            let mut clients = d.clients(who).await.unwrap();
            clients
                .audit
                .statement_evidence(proto::StatementEvidenceRequest {
                    ceremony,
                    old_size,
                    witnessed: false,
                    prove_entries: false,
                    ..Default::default()
                })
                .await
        }
    };

    for who in ["alice", "carol", "erin"] {
        let reply = evidence(who, id.clone(), early.size)
            .await
            .unwrap()
            .into_inner();
        let checkpoint = log.verify_checkpoint(&reply.note).unwrap();
        assert!(reply.entries.iter().all(|e| e.index < checkpoint.size));
        // The proof is of the entry holding the caller's statement.
        let ours = reply
            .entries
            .iter()
            .find(|e| {
                quorate_ceremonies::Entry::statement_in(&e.entry)
                    .is_some_and(|(_, s)| s.statement.participant.as_str() == who)
            })
            .unwrap();
        let proof = InclusionProof {
            index: ours.index,
            tree_size: checkpoint.size,
            hashes: hashes(reply.inclusion),
        };
        check_inclusion(&proof, leaf_hash(&ours.entry), checkpoint.root).unwrap();
        let consistency = quorate_tlog::ConsistencyProof {
            old_size: early.size,
            new_size: checkpoint.size,
            hashes: hashes(reply.consistency),
        };
        check_consistency(&consistency, early.root, checkpoint.root).unwrap();
    }
    // Bob did not approve: the entries, but no proof.
    let reply = evidence("bob", id.clone(), 0).await.unwrap().into_inner();
    assert!(!reply.entries.is_empty());
    assert!(reply.inclusion.is_empty() && reply.consistency.is_empty());
    // Another ceremony's evidence proves alice's statement there instead.
    let reply = evidence("alice", first.clone(), 0)
        .await
        .unwrap()
        .into_inner();
    assert!(!reply.inclusion.is_empty());
    // A ceremony the record lacks; a malformed id; a caller who is no
    // participant.
    let reply = evidence("alice", "00000000".into(), 0)
        .await
        .unwrap()
        .into_inner();
    assert!(reply.entries.is_empty() && reply.inclusion.is_empty());
    log.verify_checkpoint(&reply.note).unwrap();
    let bad = evidence("alice", "not an id!".into(), 0).await.unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument, "{bad:?}");
    let refused = evidence("auditor", id.clone(), 0).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    d.stop().await.unwrap();
}
