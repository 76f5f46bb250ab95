//! The agent's judgement of the coordinator's record
//! (`quorate_participant::record_check::assess`), over a log built here with
//! `quorate_tlog::MemoryTree` and checkpoints signed by a fresh log key.

use frost_ed25519::keys::{IdentifierList, KeyPackage};
use frost_ed25519::round1::SigningCommitments;
use quorate_ceremonies::{Entry, Event, Timestamp};
use quorate_participant::record_check::{Evidence, RecordProblem, assess};
use quorate_secrets::IdentityKey;
use quorate_tlog::{
    Checkpoint, Hash, LogKey, LogVerifier, MemoryTree, prove_consistency, prove_inclusion,
};
use quorate_types::{CeremonyId, Decision, KeyGroupName, ParticipantId, Sha256Digest, Statement};
use rand_core::OsRng;

const LOG: &str = "coordinator.example/log";

fn pid(s: &str) -> ParticipantId {
    ParticipantId::new(s).unwrap()
}

fn ceremony() -> CeremonyId {
    CeremonyId::new("c1").unwrap()
}

fn commitments() -> SigningCommitments {
    let (shares, _) =
        frost_ed25519::keys::generate_with_dealer(3, 2, IdentifierList::Default, OsRng).unwrap();
    let share = shares.into_values().next().unwrap();
    let key = KeyPackage::try_from(share).unwrap();
    frost_ed25519::round1::commit(key.signing_share(), &mut OsRng).1
}

/// `who`'s signed statement about c1, approving unless `reject`.
fn statement(key: &IdentityKey, at: i64, reject: bool) -> quorate_types::SignedStatement {
    Statement {
        ceremony: ceremony(),
        key_group: KeyGroupName::new("release").unwrap(),
        participant: key.participant().clone(),
        message_sha256: Sha256Digest::of(b"SHA256SUMS"),
        break_glass: false,
        decision: if reject {
            Decision::Reject {
                reason: "no".into(),
            }
        } else {
            Decision::Approve
        },
        at_unix_ms: at,
        follow_ups: Vec::new(),
    }
    .sign(key)
}

fn event(of: &str, seq: u64, event: Event) -> Vec<u8> {
    Entry::CeremonyEvent {
        at: Timestamp(1_700_000_000_000 + seq as i64),
        ceremony: CeremonyId::new(of).unwrap(),
        seq,
        event,
        decisions: Vec::new(),
    }
    .encode()
}

/// A log: filler of another ceremony, alice's approval of c1 (entry 1),
/// bob's rejection of c1 (entry 2), more filler.
struct Log {
    tree: MemoryTree,
    entries: Vec<(u64, Vec<u8>)>,
    ours: Vec<u8>,
    key: LogKey,
}

impl Log {
    fn new(alice_in_record: quorate_types::SignedStatement, ours: Vec<u8>) -> Self {
        let bob = IdentityKey::generate(pid("bob"), &mut OsRng);
        let entries = vec![
            event("c0", 0, Event::DeadlinePassed),
            event(
                "c1",
                0,
                Event::Approved {
                    statement: alice_in_record,
                    commitments: commitments(),
                },
            ),
            event(
                "c1",
                1,
                Event::Rejected {
                    statement: statement(&bob, 5, true),
                },
            ),
            event("c0", 1, Event::DeadlinePassed),
        ];
        let mut tree = MemoryTree::new();
        let entries = entries
            .into_iter()
            .map(|bytes| (tree.append(&bytes), bytes))
            .collect();
        Self {
            tree,
            entries,
            ours,
            key: LogKey::generate(&mut OsRng, LOG).unwrap(),
        }
    }

    /// alice's statement, recorded as she signed it.
    fn honest() -> Self {
        let alice = IdentityKey::generate(pid("alice"), &mut OsRng);
        let signed = statement(&alice, 1, false);
        let ours = signed.to_bytes();
        Self::new(signed, ours)
    }

    fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            origin: LOG.into(),
            size: self.tree.size(),
            root: self.tree.root(),
        }
    }

    fn note(&self) -> String {
        self.key.sign_checkpoint(&self.checkpoint()).unwrap()
    }

    fn verifier(&self) -> LogVerifier {
        self.key.verifier().unwrap()
    }

    fn inclusion(&self, index: u64) -> Vec<Hash> {
        prove_inclusion(index, self.tree.size(), &self.tree)
            .unwrap()
            .hashes
    }

    /// Judges the evidence with `ours` as alice's journal has it.
    fn assess(&self, evidence: &Evidence<'_>) -> Result<(Checkpoint, u64), RecordProblem> {
        assess(
            &self.verifier(),
            &ceremony(),
            &pid("alice"),
            &self.ours,
            evidence,
        )
    }
}

fn evidence<'a>(
    note: &'a str,
    entries: &'a [(u64, Vec<u8>)],
    inclusion: &'a [Hash],
) -> Evidence<'a> {
    Evidence {
        note,
        previous: None,
        consistency: &[],
        entries,
        inclusion,
    }
}

#[test]
fn a_statement_included_unaltered_is_verified() {
    let log = Log::honest();
    let (note, inclusion) = (log.note(), log.inclusion(1));
    let (checkpoint, index) = log
        .assess(&evidence(&note, &log.entries, &inclusion))
        .unwrap();
    assert_eq!(index, 1);
    assert_eq!(checkpoint, log.checkpoint());
}

#[test]
fn a_checkpoint_that_extends_the_previous_one_is_accepted() {
    let mut log = Log::honest();
    let old = log.checkpoint();
    log.tree.append(b"later entry");
    let (note, inclusion) = (log.note(), log.inclusion(1));
    let consistency = prove_consistency(old.size, log.tree.size(), &log.tree)
        .unwrap()
        .hashes;
    let evidence = Evidence {
        previous: Some(&old),
        consistency: &consistency,
        ..evidence(&note, &log.entries, &inclusion)
    };
    assert_eq!(log.assess(&evidence).unwrap().1, 1);
}

#[test]
fn a_missing_statement_is_a_problem() {
    let log = Log::honest();
    let note = log.note();
    let without: Vec<_> = log
        .entries
        .iter()
        .filter(|(i, _)| *i != 1)
        .cloned()
        .collect();
    assert_eq!(
        log.assess(&evidence(&note, &without, &[])).unwrap_err(),
        RecordProblem::MissingStatement
    );
}

#[test]
fn an_altered_statement_is_a_problem() {
    // The record holds a statement of alice's other than the one her
    // journal kept (here: signed again at another time).
    let alice = IdentityKey::generate(pid("alice"), &mut OsRng);
    let journal = statement(&alice, 1, false).to_bytes();
    let log = Log::new(statement(&alice, 2, false), journal);
    let (note, inclusion) = (log.note(), log.inclusion(1));
    let problem = log
        .assess(&evidence(&note, &log.entries, &inclusion))
        .unwrap_err();
    assert_eq!(problem, RecordProblem::AlteredStatement { index: 1 });
    assert!(problem.to_string().starts_with("altered statement"));
}

#[test]
fn a_proof_against_another_root_is_a_problem() {
    let log = Log::honest();
    // A checkpoint of another tree of the same size, validly signed.
    let mut other = MemoryTree::new();
    for (_, bytes) in &log.entries[..3] {
        other.append(bytes);
    }
    other.append(b"a different last entry");
    let forged = Checkpoint {
        root: other.root(),
        ..log.checkpoint()
    };
    let note = log.key.sign_checkpoint(&forged).unwrap();
    let inclusion = log.inclusion(1);
    let problem = log
        .assess(&evidence(&note, &log.entries, &inclusion))
        .unwrap_err();
    assert!(
        matches!(problem, RecordProblem::BadProof { index: 1, .. }),
        "{problem}"
    );

    // The true checkpoint with a proof for another entry's position.
    let note = log.note();
    let wrong = log.inclusion(2);
    let problem = log
        .assess(&evidence(&note, &log.entries, &wrong))
        .unwrap_err();
    assert!(
        matches!(problem, RecordProblem::BadProof { index: 1, .. }),
        "{problem}"
    );
}

#[test]
fn a_checkpoint_signed_by_another_key_is_a_problem() {
    let log = Log::honest();
    let impostor = LogKey::generate(&mut OsRng, LOG).unwrap();
    let note = impostor.sign_checkpoint(&log.checkpoint()).unwrap();
    let inclusion = log.inclusion(1);
    let problem = log
        .assess(&evidence(&note, &log.entries, &inclusion))
        .unwrap_err();
    assert!(
        matches!(problem, RecordProblem::BadCheckpoint(_)),
        "{problem}"
    );
    assert!(problem.to_string().starts_with("bad checkpoint signature"));
}

#[test]
fn a_checkpoint_of_another_origin_is_a_problem() {
    let log = Log::honest();
    let elsewhere = Checkpoint {
        origin: "other.example/log".into(),
        ..log.checkpoint()
    };
    let note = log.key.sign_checkpoint(&elsewhere).unwrap();
    let inclusion = log.inclusion(1);
    let problem = log
        .assess(&evidence(&note, &log.entries, &inclusion))
        .unwrap_err();
    assert!(
        matches!(problem, RecordProblem::BadCheckpoint(_)),
        "{problem}"
    );
}

#[test]
fn a_previous_checkpoint_of_a_forked_log_is_a_problem() {
    let log = Log::honest();
    // The agent earlier verified a 2-entry tree whose first entry differs.
    let mut fork = MemoryTree::new();
    fork.append(b"the entry the coordinator showed before");
    fork.append(&log.entries[1].1);
    let old = Checkpoint {
        origin: LOG.into(),
        size: 2,
        root: fork.root(),
    };
    let consistency = prove_consistency(2, log.tree.size(), &log.tree)
        .unwrap()
        .hashes;
    let (note, inclusion) = (log.note(), log.inclusion(1));
    let evidence = Evidence {
        previous: Some(&old),
        consistency: &consistency,
        ..evidence(&note, &log.entries, &inclusion)
    };
    let problem = log.assess(&evidence).unwrap_err();
    assert!(
        matches!(problem, RecordProblem::InconsistentCheckpoints(_)),
        "{problem}"
    );
    assert!(problem.to_string().contains("forked or was rewritten"));
}

#[test]
fn a_log_that_shrank_is_a_problem() {
    let mut log = Log::honest();
    let (note, inclusion) = (log.note(), log.inclusion(1));
    log.tree.append(b"an entry the coordinator later dropped");
    let old = log.checkpoint();
    let evidence = Evidence {
        previous: Some(&old),
        ..evidence(&note, &log.entries, &inclusion)
    };
    let problem = log.assess(&evidence).unwrap_err();
    assert!(problem.to_string().contains("shrank"), "{problem}");
}
