//! The gate as a table: each row is what a (possibly hostile) coordinator
//! sends alice's agent, and what the gate must decide. Real FROST keys from
//! a dealer, real identity keys, real signed statements.

use std::collections::BTreeMap;

use frost_ed25519::SigningPackage;
use frost_ed25519::keys::IdentifierList;
use frost_ed25519::round1::{SigningCommitments, commit};
use quorate_secrets::IdentityKey;
use quorate_types::batch::FollowUp;
use quorate_types::{CeremonyId, Policy, Statement};
use rand_core::OsRng;

use super::*;
use crate::journal::SignedAttempt;
use crate::testing::{MEMBERS, dealt_group, pid};

const MESSAGE: &[u8] =
    b"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  app.tar.gz\n";
/// A 3-of-5 key group needing one approval of each role, alice's view of a
/// ceremony in it, and everyone's commitments.
struct Fixture {
    group: KeyGroup,
    identities: BTreeMap<String, IdentityKey>,
    commitments: BTreeMap<String, SigningCommitments>,
    view: CeremonyView,
    entry: Entry,
}

impl Fixture {
    fn new() -> Self {
        let policy = Policy {
            required: [("engineering", 1), ("security", 1), ("release", 1)]
                .into_iter()
                .map(|(r, n)| (r.to_string(), n))
                .collect(),
            ..Policy::default()
        };
        let (group, identities, shares) = dealt_group(policy);
        let commitments = MEMBERS
            .iter()
            .map(|(n, _)| {
                let key =
                    frost_ed25519::keys::KeyPackage::try_from(shares[&pid(n).identifier()].clone())
                        .unwrap();
                (n.to_string(), commit(key.signing_share(), &mut OsRng).1)
            })
            .collect();
        let view = CeremonyView {
            id: CeremonyId::new("c1").unwrap(),
            key_group: group.name.clone(),
            requester: "release-manager".into(),
            message: MESSAGE.to_vec(),
            message_sha256: Sha256Digest::of(MESSAGE),
            follow_ups: Vec::new(),
            batch_signatures: Vec::new(),
            version: 5,
            attempt: 1,
            signing_set: Vec::new(),
            shares_received: Vec::new(),
            approvals: Vec::new(),
            open: true,
        };
        let mut f = Self {
            group,
            identities,
            commitments,
            view,
            entry: Entry {
                decision: Decision::Approved,
                message_sha256: Sha256Digest::of(MESSAGE),
                reason: None,
                break_glass: false,
                follow_ups: Vec::new(),
                signed_attempts: Vec::new(),
                statement: Vec::new(),
                acknowledged: true,
                receipt: None,
                record: None,
                refusals: Vec::new(),
            },
        };
        f.entry.statement = f.approval("alice", MESSAGE);
        f.view.approvals = ["carol", "erin", "bob"]
            .iter()
            .map(|n| f.approval(n, MESSAGE))
            .collect();
        f
    }

    /// `who`'s signed approval of `message`.
    fn approval(&self, who: &str, message: &[u8]) -> Vec<u8> {
        Statement {
            ceremony: self.view.id.clone(),
            key_group: self.group.name.clone(),
            participant: pid(who),
            message_sha256: Sha256Digest::of(message),
            break_glass: false,
            decision: quorate_types::Decision::Approve,
            at_unix_ms: 1_700_000_000_000,
            follow_ups: Vec::new(),
        }
        .sign(&self.identities[who])
        .to_bytes()
    }

    /// A package over `message` with the commitments of `signers`.
    fn package(&self, signers: &[&str], message: &[u8]) -> Vec<u8> {
        let commitments = signers
            .iter()
            .map(|n| (pid(n).identifier(), self.commitments[*n]))
            .collect();
        SigningPackage::new(commitments, message)
            .serialize()
            .unwrap()
    }
}

/// What alice's agent holds and is sent in one row.
struct Row {
    name: &'static str,
    /// alice holds the nonces of her commitments, recorded at this version.
    held_since: Option<u64>,
    package: Vec<u8>,
    commitments_wanted: bool,
    want: Want,
}

#[derive(Debug, PartialEq)]
enum Want {
    Resend,
    Sign { message: u32 },
    CommitAfresh,
    Wait,
    Refuse(&'static str),
}

fn code(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::ChangedMessage => "changed_message",
        Refusal::ForeignCommitment => "foreign_commitment",
        Refusal::MalformedPackage { .. } => "malformed_package",
        Refusal::PolicyViolation { .. } => "policy_violation",
        Refusal::WrongMessage { .. } => "wrong_message",
    }
}

fn run(f: &Fixture, row: &Row) -> Verdict {
    let me = pid("alice");
    let held = row.held_since.map(|since| Held {
        commitments: &f.commitments["alice"],
        since,
    });
    decide(&Inputs {
        me: &me,
        group: &f.group,
        entry: &f.entry,
        held,
        ceremony: &f.view,
        package: &row.package,
        commitments_wanted: row.commitments_wanted,
    })
}

fn check(f: &Fixture, rows: &[Row]) {
    for row in rows {
        let got = run(f, row);
        let got = match &got {
            Verdict::Sign {
                message, expected, ..
            } => {
                assert_eq!(*expected, Sha256Digest::of(MESSAGE), "{}", row.name);
                Want::Sign { message: *message }
            }
            Verdict::Resend { .. } => Want::Resend,
            Verdict::CommitAfresh => Want::CommitAfresh,
            Verdict::Wait => Want::Wait,
            Verdict::Refuse(r) => Want::Refuse(code(r)),
        };
        assert_eq!(got, row.want, "{}", row.name);
    }
}

#[test]
fn packages() {
    let f = Fixture::new();
    let good = f.package(&["alice", "carol", "erin"], MESSAGE);
    let row = |name, held_since, package: &Vec<u8>, want| Row {
        name,
        held_since,
        package: package.clone(),
        commitments_wanted: false,
        want,
    };
    check(
        &f,
        &[
            row(
                "one of each role, each approved: sign",
                Some(5),
                &good,
                Want::Sign { message: 0 },
            ),
            row(
                "restarted since committing: the nonces are gone",
                None,
                &good,
                Want::CommitAfresh,
            ),
            row(
                "no release approver in the signing set",
                Some(5),
                &f.package(&["alice", "bob", "carol"], MESSAGE),
                Want::Refuse("policy_violation"),
            ),
            row(
                "a signer the coordinator lists no approval of",
                Some(5),
                &f.package(&["alice", "dave", "erin"], MESSAGE),
                Want::Refuse("policy_violation"),
            ),
            row(
                "the approved message's package over another message",
                Some(5),
                &f.package(&["alice", "carol", "erin"], b"another message"),
                Want::Refuse("wrong_message"),
            ),
            row(
                "bytes that are no signing package",
                Some(5),
                &b"not a package".to_vec(),
                Want::Refuse("malformed_package"),
            ),
            row(
                "newer commitments recorded after the package formed",
                Some(6),
                &f.package(&["bob", "carol", "erin"], MESSAGE),
                Want::Wait,
            ),
        ],
    );
}

#[test]
fn a_package_with_a_commitment_alice_did_not_make_is_refused() {
    let mut f = Fixture::new();
    let good = f.package(&["alice", "carol", "erin"], MESSAGE);
    // The coordinator swaps in commitments alice never made.
    let key = frost_ed25519::keys::generate_with_dealer(2, 2, IdentifierList::Default, OsRng)
        .unwrap()
        .0;
    let share = key.values().next().unwrap();
    let (_, forged) = commit(share.signing_share(), &mut OsRng);
    let held = f.commitments.insert("alice".into(), forged).unwrap();
    let foreign = f.package(&["alice", "carol", "erin"], MESSAGE);
    f.commitments.insert("alice".into(), held);
    check(
        &f,
        &[
            Row {
                name: "a commitment alice did not make",
                held_since: Some(5),
                package: foreign,
                commitments_wanted: false,
                want: Want::Refuse("foreign_commitment"),
            },
            Row {
                name: "her own",
                held_since: Some(5),
                package: good,
                commitments_wanted: false,
                want: Want::Sign { message: 0 },
            },
        ],
    );
}

#[test]
fn approvals_the_coordinator_lists_are_checked_by_the_agent() {
    let mut f = Fixture::new();
    let package = f.package(&["alice", "carol", "erin"], MESSAGE);
    let row = |name| Row {
        name,
        held_since: Some(5),
        package: package.clone(),
        commitments_wanted: false,
        want: Want::Refuse("policy_violation"),
    };
    // erin's approval of another message.
    let honest = f.view.approvals.clone();
    f.view.approvals[1] = f.approval("erin", b"another message");
    check(&f, &[row("erin approved another message")]);
    // erin's approval signed by carol's key.
    let mut forged: quorate_types::SignedStatement =
        quorate_types::SignedStatement::from_bytes(&honest[1]).unwrap();
    forged = forged.statement.sign(&f.identities["carol"]);
    f.view.approvals[1] = forged.to_bytes();
    check(&f, &[row("erin's approval signed by another key")]);
    // The requester's own approval does not count.
    f.view.approvals = honest;
    f.view.requester = "erin".into();
    check(&f, &[row("the requester approved itself")]);
}

#[test]
fn news_without_a_package() {
    let mut f = Fixture::new();
    let row = |name, held_since, commitments_wanted, want| Row {
        name,
        held_since,
        package: Vec::new(),
        commitments_wanted,
        want,
    };
    check(
        &f,
        &[
            row(
                "asked after its commitments were recorded",
                Some(5),
                true,
                Want::CommitAfresh,
            ),
            row(
                "asked before its commitments were recorded",
                Some(6),
                true,
                Want::Wait,
            ),
            row("holding nonces, not asked", Some(5), false, Want::Wait),
            row(
                "no nonces and not signing: lost in a restart",
                None,
                false,
                Want::CommitAfresh,
            ),
        ],
    );
    f.view.signing_set = vec![pid("alice"), pid("carol"), pid("erin")];
    check(
        &f,
        &[row(
            "no nonces, in the signing set: used for its share",
            None,
            false,
            Want::Wait,
        )],
    );
}

#[test]
fn what_alice_did_not_approve_or_no_longer_concerns_her() {
    let mut f = Fixture::new();
    let package = f.package(&["alice", "carol", "erin"], MESSAGE);
    let row = |name, want| Row {
        name,
        held_since: Some(5),
        package: package.clone(),
        commitments_wanted: true,
        want,
    };
    f.entry.signed_attempts.push(SignedAttempt {
        attempt: 1,
        message: 0,
        sent: None,
    });
    check(&f, &[row("her share of attempt 1 is out", Want::Wait)]);
    f.entry.signed_attempts.clear();

    let honest = f.view.clone();
    f.view.message = b"another manifest\n".to_vec();
    f.view.message_sha256 = Sha256Digest::of(&f.view.message);
    check(
        &f,
        &[row("another message", Want::Refuse("changed_message"))],
    );
    f.view = honest.clone();
    f.view.follow_ups = vec![FollowUp::SignatureThen {
        suffix: b"trusted comment".to_vec(),
    }];
    check(&f, &[row("another batch", Want::Refuse("changed_message"))]);
    f.view = honest;
    f.view.open = false;
    check(&f, &[row("finished", Want::Wait)]);
    f.view.open = true;
    f.entry.decision = Decision::Rejected;
    check(&f, &[row("she rejected it", Want::Wait)]);
}

#[test]
fn only_refusals_over_a_package_naming_her_nonces_destroy_them() {
    let destroys: Vec<&str> = [
        Refusal::ChangedMessage,
        Refusal::ForeignCommitment,
        Refusal::MalformedPackage { why: String::new() },
        Refusal::PolicyViolation { why: String::new() },
        Refusal::WrongMessage { why: String::new() },
    ]
    .iter()
    .filter(|r| r.destroys_nonces())
    .map(code)
    .collect();
    assert_eq!(destroys, ["policy_violation", "wrong_message"]);
}

#[test]
fn a_share_the_coordinator_lost_is_sent_again_for_that_package_only() {
    let mut f = Fixture::new();
    let package = f.package(&["alice", "carol", "erin"], MESSAGE);
    let share = vec![7; 32];
    f.entry.signed_attempts.push(SignedAttempt {
        attempt: 1,
        message: 0,
        sent: Some(crate::journal::SentShare {
            package_sha256: Sha256Digest::of(&package),
            share: share.clone(),
            commitments: Vec::new(),
        }),
    });
    f.view.signing_set = vec![pid("alice"), pid("carol"), pid("erin")];
    let row = |name, package: &Vec<u8>, want| Row {
        name,
        held_since: None,
        package: package.clone(),
        commitments_wanted: false,
        want,
    };
    check(
        &f,
        &[row(
            "the coordinator lacks her share of this package",
            &package,
            Want::Resend,
        )],
    );
    let Verdict::Resend { share: again } = run(&f, &row("", &package, Want::Resend)) else {
        panic!("a resend");
    };
    assert_eq!(again, share, "the very share she sent");
    check(
        &f,
        &[row(
            "another package under the same attempt: nothing is signed or sent",
            &f.package(&["alice", "carol", "dave"], MESSAGE),
            Want::Wait,
        )],
    );
    f.view.shares_received = vec![pid("alice")];
    check(&f, &[row("the coordinator holds it", &package, Want::Wait)]);
}
