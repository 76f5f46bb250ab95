//! The journal's entries (`quorate_participant::journal`): old entries still
//! read, updates keep other fields, and which record checks an entry needs
//! (`quorate_participant::record_check::task::wanted`); and many
//! ceremonies' decisions flushed at once in several journals of one
//! process, as agents do.

use std::sync::Arc;
use std::time::Duration;

use quorate_participant::journal::{Decision, Entry, Journal, SignedAttempt};
use quorate_participant::record_check::task::{Request, wanted};
use quorate_participant::record_check::{RecordCheck, RecordProblem};
use quorate_types::{CeremonyId, Sha256Digest};

fn id() -> CeremonyId {
    CeremonyId::new("c1").unwrap()
}

fn entry() -> Entry {
    Entry {
        decision: Decision::Approved,
        message_sha256: Sha256Digest::of(b"SHA256SUMS"),
        reason: None,
        break_glass: false,
        follow_ups: Vec::new(),
        signed_attempts: Vec::new(),
        statement: b"{\"statement\":{}}".to_vec(),
        acknowledged: true,
        receipt: None,
        record: None,
        refusals: Vec::new(),
    }
}

#[test]
fn an_entry_from_before_statements_still_reads() {
    let old = serde_json::json!({
        "decision": "approved",
        "message_sha256": Sha256Digest::of(b"SHA256SUMS"),
        "reason": null,
        "break_glass": false,
        "signed_attempts": [1],
    });
    let entry: Entry = serde_json::from_value(old).unwrap();
    assert!(entry.statement.is_empty());
    assert_eq!(
        entry.signed_attempts,
        vec![SignedAttempt {
            attempt: 1,
            message: 0,
            sent: None,
        }]
    );
    assert!(entry.follow_ups.is_empty());
    assert!(!entry.acknowledged);
    assert_eq!(entry.record, None);
    assert_eq!(wanted(&id(), &entry, true), None);
}

#[tokio::test]
async fn updates_keep_the_statement_and_the_outcome_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let journal = Journal::open(dir.path()).unwrap();
        journal.put(&id(), &entry()).await.unwrap();
        journal
            .update(&id(), |e| {
                e.signed_attempts.push(SignedAttempt {
                    attempt: 3,
                    message: 1,
                    sent: None,
                })
            })
            .await
            .unwrap();
        let verified = RecordCheck::Verified {
            index: 7,
            tree_size: 9,
            finished: false,
        };
        journal
            .update(&id(), |e| e.record = Some(verified.clone()))
            .await
            .unwrap();
        journal.set_checkpoint("note\n").unwrap();
        assert!(
            journal
                .update(&CeremonyId::new("c2").unwrap(), |e| e.acknowledged = true)
                .await
                .unwrap()
                .is_none()
        );
    }
    let journal = Journal::open(dir.path()).unwrap();
    let back = journal.get(&id()).unwrap().unwrap();
    assert_eq!(back.statement, entry().statement);
    assert_eq!(
        back.signed_attempts,
        vec![SignedAttempt {
            attempt: 3,
            message: 1,
            sent: None,
        }]
    );
    assert!(back.signed(3) && !back.signed(1));
    assert_eq!(
        back.record.unwrap().describe(),
        "included at 7 in a tree of 9"
    );
    assert_eq!(journal.checkpoint().unwrap().as_deref(), Some("note\n"));
    assert_eq!(journal.entries().len(), 1);
}

#[test]
fn checks_are_wanted_once_acknowledged_and_again_when_finished() {
    let request = |finished, urgent| {
        Some(Request {
            ceremony: id(),
            finished,
            urgent,
        })
    };
    let mut e = entry();
    e.acknowledged = false;
    assert_eq!(wanted(&id(), &e, true), None, "not acknowledged");
    e.acknowledged = true;
    assert_eq!(wanted(&id(), &e, true), request(false, false));
    assert_eq!(wanted(&id(), &e, false), request(true, true));
    e.record = Some(RecordCheck::Verified {
        index: 1,
        tree_size: 2,
        finished: false,
    });
    assert_eq!(wanted(&id(), &e, true), None, "verified while open");
    assert_eq!(wanted(&id(), &e, false), request(true, true));
    e.record = Some(RecordCheck::Verified {
        index: 1,
        tree_size: 5,
        finished: true,
    });
    assert_eq!(wanted(&id(), &e, false), None, "verified after finishing");
    e.record = Some(RecordCheck::Problem(RecordProblem::MissingStatement));
    assert_eq!(wanted(&id(), &e, false), None, "a problem is final");
    assert!(e.record.unwrap().is_problem());
}

fn numbered_entry(n: u8) -> Entry {
    Entry {
        decision: Decision::Approved,
        message_sha256: Sha256Digest::of(&[n]),
        reason: None,
        break_glass: false,
        follow_ups: Vec::new(),
        signed_attempts: Vec::new(),
        statement: vec![n; 200],
        acknowledged: false,
        receipt: None,
        record: None,
        refusals: Vec::new(),
    }
}

/// Runs on a runtime of its own in a thread of its own, so that a hung
/// flush fails the test instead of hanging it.
#[test]
fn overlapping_flushes_in_several_journals_all_complete() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let _ = done.send(rt.block_on(write_concurrently(&path)));
    });
    let journals = finished
        .recv_timeout(Duration::from_secs(60))
        .expect("every journal write finished within 60 s");
    for journal in &journals {
        let entries = journal.entries();
        assert_eq!(entries.len(), 40);
        assert!(entries.iter().all(|(_, e)| e.acknowledged));
    }
}

/// Five journals, forty ceremonies each, every decision written and then
/// acknowledged, all at once.
async fn write_concurrently(dir: &std::path::Path) -> Vec<Arc<Journal>> {
    let journals: Vec<Arc<Journal>> = (0..5)
        .map(|i| Arc::new(Journal::open(&dir.join(format!("agent{i}"))).unwrap()))
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (j, journal) in journals.iter().enumerate() {
        for n in 0..40u8 {
            let journal = Arc::clone(journal);
            tasks.spawn(async move {
                let id = CeremonyId::new(format!("{j:02x}{n:014x}")).unwrap();
                journal.put(&id, &numbered_entry(n)).await.unwrap();
                journal
                    .update(&id, |e| e.acknowledged = true)
                    .await
                    .unwrap();
            });
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    journals
}

#[test]
fn refusals_are_kept_once_each_and_only_the_latest() {
    use quorate_participant::gate::Refusal;
    use quorate_participant::journal::{MAX_REFUSALS, Refused};
    let mut e = entry();
    let refused = |version: u64| Refused {
        version,
        attempt: 1,
        refusal: Refusal::ForeignCommitment,
    };
    assert!(e.note_refusal(refused(1)));
    assert!(!e.note_refusal(refused(1)), "a repeat is not noted again");
    for v in 2..=40 {
        assert!(e.note_refusal(refused(v)));
    }
    assert_eq!(e.refusals.len(), MAX_REFUSALS);
    assert_eq!(e.refusals.last(), Some(&refused(40)));
    assert_eq!(e.refusals[0], refused(40 - MAX_REFUSALS as u64 + 1));
    // They survive the journal's encoding, and an entry without any reads.
    let back: Entry = serde_json::from_slice(&serde_json::to_vec(&e).unwrap()).unwrap();
    assert_eq!(back, e);
    let text = serde_json::to_string(&entry()).unwrap();
    assert!(!text.contains("refusals"), "{text}");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// A journal of the release that kept it in sled
/// (`tests/vectors/v1-journal`, written once by sled 0.34.7) is refused
/// as it is, then migrated whole (needs `quorate-sled-export`, which
/// `tests/run` builds and names in `QUORATE_SLED_EXPORT`).
#[test]
fn a_sled_journal_is_refused_then_migrated() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/v1-journal"),
        dir.path(),
    );
    let refused = Journal::open(dir.path())
        .err()
        .expect("an old journal is refused");
    assert!(
        refused
            .to_string()
            .contains("quorate-participant migrate-journal"),
        "{refused}"
    );

    let copied = quorate_participant::journal::migrate::from_sled(dir.path(), None).unwrap();
    assert_eq!(copied, 2);
    let journal = Journal::open(dir.path()).unwrap();
    let c1 = journal
        .get(&CeremonyId::new("c1").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(c1.decision, Decision::Approved);
    assert!(c1.signed(1));
    let c2 = journal
        .get(&CeremonyId::new("c2").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(c2.decision, Decision::Rejected);
    assert_eq!(c2.reason.as_deref(), Some("not the build CI made"));
    assert_eq!(c2.statement, b"{}".to_vec());
    assert_eq!(journal.entries().len(), 2);
    assert_eq!(
        journal.checkpoint().unwrap().as_deref(),
        Some("quorate.example/log\n3\nAAAA\n\n- sig\n")
    );
    drop(journal);

    let again = quorate_participant::journal::migrate::from_sled(dir.path(), None).unwrap_err();
    assert!(again.to_string().contains("exists already"), "{again}");
}
