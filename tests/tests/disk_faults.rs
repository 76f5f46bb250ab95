//! A full disk or a failed fsync under the record: the write is refused,
//! never acknowledged.
//!
//! - A full disk fails the write before it commits: once there is room
//!   again, the next append succeeds without a restart, at the index after
//!   the last acknowledged entry.
//! - A failed fsync leaves the write's outcome unknown (the entry may be
//!   in the file all the same, as here): the store halts, so that the
//!   coordinator stops and a restart rebuilds its state from the record,
//!   whatever it holds.
//!
//! The faults come from `quorate_e2e::faulty_disk`, a redb storage backend
//! that wraps the real file backend and fails on command.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use quorate::local::{LocalDeployment, Options, REQUESTER, sample_roster};
use quorate_ceremonies::{Entry, Event, Timestamp};
use quorate_coordinator::store::{CeremonyStore, RedbStore, StoreError};
use quorate_e2e::faulty_disk::{Faults, open_faulty, opener};
use quorate_e2e::{MANIFEST, T};
use quorate_tlog::MemoryTree;
use quorate_types::CeremonyId;
use quorate_wire as proto;

fn event(seq: u64) -> Entry {
    Entry::CeremonyEvent {
        at: Timestamp(1_700_000_000_000 + seq as i64),
        ceremony: CeremonyId::new("c1").unwrap(),
        seq,
        event: Event::DeadlinePassed,
        decisions: Vec::new(),
    }
}

fn failed(result: Result<Vec<u64>, StoreError>) -> String {
    match result {
        Err(StoreError::Failed(why)) => why,
        other => panic!("expected a failed write, got {other:?}"),
    }
}

#[tokio::test]
async fn a_full_disk_or_failed_fsync_is_refused_and_the_store_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(Faults::default());
    let mut acknowledged = Vec::new();
    {
        let store = open_faulty(dir.path(), &faults).unwrap();
        for seq in 0..3 {
            store.append(vec![event(seq)]).await.unwrap();
            acknowledged.push(event(seq));
        }

        // The disk fills: the append is refused, and again while it stays
        // full (the store cannot open its database again yet).
        faults.full.store(true, Ordering::SeqCst);
        let why = failed(store.append(vec![event(3)]).await);
        assert!(why.contains("could not be written"), "{why}");
        let why = failed(store.append(vec![event(3)]).await);
        assert!(why.contains("free disk space"), "{why}");
        assert_eq!(store.size(), 3);
        let refusing = store.refusing();
        {
            let r = refusing.borrow();
            assert!(r.now && r.episodes == 1, "{r:?}");
            assert!(r.why.contains("could not be written"), "{r:?}");
        }

        // Space returns: the next append goes on from the last
        // acknowledged entry, in this same process.
        faults.full.store(false, Ordering::SeqCst);
        assert_eq!(store.append(vec![event(3)]).await.unwrap(), vec![3]);
        {
            let r = refusing.borrow();
            assert!(!r.now && r.episodes == 1, "{r:?}");
        }
        acknowledged.push(event(3));

        // An fsync fails: refused, and the store halts, saying why.
        faults.sync_fails.store(true, Ordering::SeqCst);
        let halted = store.halted();
        let why = failed(store.append(vec![event(4)]).await);
        assert!(why.contains("could not be written"), "{why}");
        faults.sync_fails.store(false, Ordering::SeqCst);
        let why = failed(store.append(vec![event(5)]).await);
        assert!(
            why.contains("holds 5 entries, not the 4 acknowledged"),
            "{why}"
        );
        let halted = tokio::time::timeout(std::time::Duration::from_secs(5), halted)
            .await
            .expect("the store halts");
        assert!(halted.contains("start it again"), "{halted}");
        assert_eq!(store.size(), 4);
    }

    // Reopened (a restart): the acknowledged entries, then the one whose
    // fsync failed, which reached the file all the same.
    {
        let store = RedbStore::open(dir.path()).unwrap();
        assert_eq!(store.size(), 5);
        assert_eq!(store.entry(4).unwrap(), event(4).encode());
        // The ceremony's next event is 5: event 4 is in the record.
        assert!(matches!(
            store.append(vec![event(4)]).await,
            Err(StoreError::Exists(_))
        ));
        store.append(vec![event(5)]).await.unwrap();
        acknowledged.push(event(4));
        acknowledged.push(event(5));
    }

    // Reopened on the plain file: exactly the acknowledged entries, and the
    // tree over them.
    let store = RedbStore::open(dir.path()).unwrap();
    assert_eq!(store.size(), acknowledged.len() as u64);
    let mut mirror = MemoryTree::new();
    for (i, e) in acknowledged.iter().enumerate() {
        assert_eq!(store.entry(i as u64).unwrap(), e.encode(), "entry {i}");
        mirror.append(&e.encode());
    }
    assert_eq!(store.root(store.size()).unwrap(), mirror.root());
}

/// Asks for a signature over the manifest with `request_id`: the
/// ceremony's id, or the refusal.
async fn create(d: &LocalDeployment, request_id: &str) -> Result<String, tonic::Status> {
    // A coordinator that stopped itself cannot even be connected to.
    let mut requester = d
        .clients(REQUESTER)
        .await
        .map_err(|e| tonic::Status::unavailable(format!("{e:#}")))?;
    let created = requester
        .ceremonies
        .create(proto::CreateCeremonyRequest {
            key_group: "release".into(),
            message: MANIFEST.as_bytes().to_vec(),
            label: "SHA256SUMS".into(),
            request_id: request_id.into(),
            ..Default::default()
        })
        .await?;
    Ok(created.into_inner().id)
}

/// The refusal of a request, which must be UNAVAILABLE and say `why`.
async fn unavailable(d: &LocalDeployment, request_id: &str, why: &str) {
    let refused = create(d, request_id).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    assert!(refused.message().contains(why), "{refused:?}");
}

/// The alerts named `name` the alert command wrote to `file` so far.
fn alerts_named(file: &std::path::Path, name: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|a: &serde_json::Value| a["alert"] == name)
        .collect()
}

/// The first alert named `name`, once the alert command has written it
/// (within `T`).
async fn alerted(file: &std::path::Path, name: &str) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        if let Some(alert) = alerts_named(file, name).into_iter().next() {
            return alert;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {name} alert in {:?}",
            std::fs::read_to_string(file).unwrap_or_default()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn signs(d: &LocalDeployment, id: &str) {
    let status = d.wait_finished(id, T).await.unwrap();
    assert_eq!(status.state(), proto::CeremonyState::Signed, "{id}");
}

/// End to end over gRPC: a coordinator whose disk fills answers
/// UNAVAILABLE, saying why, alerts once that writes are refused, and signs
/// again once there is room, without a restart, alerting that writes go
/// through again; after a failed fsync it stops by itself, having sent its
/// alert command why, and once restarted it serves what its record holds,
/// and the retried request signs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_coordinator_on_a_failing_disk_answers_unavailable_and_recovers() {
    quorate_e2e::init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(Faults::default());
    let alerts = dir.path().join("alerts.jsonl");
    let options = Options {
        auto_approve: true,
        store: Some(opener(&dir.path().join("coordinator"), &faults)),
        alert_command: Some(vec![
            "sh".into(),
            "-c".into(),
            format!("cat >> {}; echo >> {}", alerts.display(), alerts.display()),
        ]),
        ..Options::default()
    };
    let mut d =
        LocalDeployment::start_with(dir.path(), "release", &sample_roster(None), 3, options)
            .await
            .unwrap();

    // The disk fills: the request is refused with UNAVAILABLE, saying why,
    // and the alert command hears it once, however often writes are
    // refused.
    faults.full.store(true, Ordering::SeqCst);
    unavailable(&d, "while-full", "could not be written").await;
    unavailable(&d, "while-full", "free disk space").await;
    let refused = alerted(&alerts, "record_write_refused").await;
    assert!(
        refused["why"]
            .as_str()
            .unwrap()
            .contains("could not be written"),
        "{refused}"
    );

    // Room again: the same request goes through and signs, no restart,
    // and the alert command hears that writes go through again.
    faults.full.store(false, Ordering::SeqCst);
    let id = create(&d, "while-full").await.unwrap();
    signs(&d, &id).await;
    alerted(&alerts, "record_writable_again").await;
    assert_eq!(alerts_named(&alerts, "record_write_refused").len(), 1);

    // An fsync fails: refused.
    faults.sync_fails.store(true, Ordering::SeqCst);
    unavailable(&d, "fsync-failed", "could not be written").await;
    faults.sync_fails.store(false, Ordering::SeqCst);
    // The write reached the file all the same: the coordinator's state
    // and its record may disagree, so it refuses, saying so, and stops. (A
    // request that arrives as it stops finds the connection closed, and
    // one after it stopped (an agent's read may find the disagreement
    // first) finds no coordinator: it is never acknowledged either way.)
    match create(&d, "fsync-failed").await {
        Ok(id) => panic!("ceremony {id} acknowledged after a failed fsync"),
        Err(s) if s.message().contains("cannot reach the coordinator") => {}
        Err(s) if s.code() == tonic::Code::Unavailable => {
            assert!(s.message().contains("start it again"), "{s:?}")
        }
        Err(s) => assert!(s.message().contains("transport error"), "{s:?}"),
    }
    let coordinator = d.coordinator.take().unwrap();
    let stopped = tokio::time::timeout(T, coordinator.wait())
        .await
        .expect("the coordinator stops by itself")
        .unwrap_err();
    assert!(stopped.to_string().contains("start it again"), "{stopped}");
    // Its alert command heard why, though the record could not hold it.
    // (Before the store could tell that the write had reached the disk, it
    // was refusing writes: one more refusal alert came first.)
    let alert = alerted(&alerts, "record_write_failed").await;
    assert_eq!(alerts_named(&alerts, "record_write_refused").len(), 2);
    assert!(
        alert["why"].as_str().unwrap().contains("start it again"),
        "{alert}"
    );

    // Restarted, it serves its record; the retried request (which the
    // record may or may not hold) signs.
    d.start_coordinator().await.unwrap();
    signs(&d, &id).await;
    let retried = create(&d, "fsync-failed").await.unwrap();
    signs(&d, &retried).await;
}

/// A write that takes long (a stalling fsync) holds its ceremony for a
/// bounded time: another write to it waits at most CEREMONY_LOCK_WAIT and
/// is then refused with UNAVAILABLE, saying so; reading the ceremony does
/// not wait for the write; once the disk is quick again, all goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_write_holds_its_ceremony_for_a_bounded_time() {
    use quorate_coordinator::limits::CEREMONY_LOCK_WAIT;
    use quorate_e2e::{approval, key_package, pid, raw_signer, request};
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(Faults::default());
    let options = Options {
        store: Some(opener(&dir.path().join("coordinator"), &faults)),
        ..Options::default()
    };
    let mut d =
        LocalDeployment::start_with(dir.path(), "release", &sample_roster(None), 3, options)
            .await
            .unwrap();
    for who in ["alice", "bob"] {
        d.stop_agent(&pid(who)).await;
    }
    let id = request(&d, MANIFEST).await;
    let commitments = |who: &str| {
        frost_ed25519::round1::commit(key_package(&d, who).signing_share(), &mut rand_core::OsRng)
            .1
            .serialize()
            .unwrap()
    };
    let approve = |who: &'static str| {
        let (d, id) = (&d, id.clone());
        let commitments = commitments(who);
        async move {
            raw_signer(d, who)
                .await
                .approve(proto::ApproveRequest {
                    ceremony: id.clone(),
                    statement: approval(d, who, &id),
                    commitments,
                })
                .await
        }
    };
    // alice's approval is written to a disk that stalls past the wait.
    faults.slow_sync_ms.store(
        (CEREMONY_LOCK_WAIT.as_millis() + 3_000) as u64,
        Ordering::SeqCst,
    );
    let (alice, bob) = tokio::join!(approve("alice"), async {
        // Once alice's write holds the ceremony, bob's waits for it.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let read = d
            .clients(REQUESTER)
            .await
            .unwrap()
            .ceremonies
            .get(proto::GetCeremonyRequest { id: id.clone() })
            .await;
        (approve("bob").await, read)
    });
    let (bob, read) = bob;
    let busy = bob.unwrap_err();
    assert_eq!(busy.code(), tonic::Code::Unavailable, "{busy:?}");
    assert!(
        busy.message().contains(&format!(
            "ceremony {id} is busy: a write of its to the record is taking long"
        )),
        "{busy:?}"
    );
    assert!(read.unwrap().into_inner().approvals.is_empty());
    alice.unwrap();
    // The disk is quick again: bob's approval goes through.
    faults.slow_sync_ms.store(0, Ordering::SeqCst);
    approve("bob").await.unwrap();
    let s = quorate_e2e::status(&d, &id).await;
    assert_eq!(s.approvals.len(), 2, "{}", s.summary);
    d.stop().await.unwrap();
}

/// A call whose handler runs past `limits.call_seconds` (here a create
/// whose write stalls on the disk) is ended with CANCELLED. What it
/// started still completes, since the coordinator never leaves a write
/// half done, and a retry under the same request id finds the ceremony it
/// made: one ceremony, not two.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_call_past_its_time_is_cancelled_and_a_retry_finds_what_it_made() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(Faults::default());
    let options = Options {
        store: Some(opener(&dir.path().join("coordinator"), &faults)),
        limits: quorate_coordinator::limits::Limits {
            call_seconds: 1,
            ..Default::default()
        },
        ..Options::default()
    };
    let d = LocalDeployment::start_with(dir.path(), "release", &sample_roster(None), 3, options)
        .await
        .unwrap();
    faults.slow_sync_ms.store(3_000, Ordering::SeqCst);
    let cut = create(&d, "slow-disk").await.unwrap_err();
    assert_eq!(cut.code(), tonic::Code::Cancelled, "{cut:?}");
    assert!(cut.message().contains("Timeout expired"), "{cut:?}");
    faults.slow_sync_ms.store(0, Ordering::SeqCst);

    // The write finishes anyway: the ceremony is listed once it has.
    let deadline = tokio::time::Instant::now() + T;
    let made = loop {
        let all = quorate_e2e::listed(&d).await;
        if let Some(c) = all.first() {
            break c.id.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the cut create made nothing"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let retried = create(&d, "slow-disk").await.unwrap();
    assert_eq!(retried, made);
    assert_eq!(quorate_e2e::listed(&d).await.len(), 1);
    d.stop().await.unwrap();
}
