//! The release check against a record built here: real entries in a real
//! Merkle tree under a real log key, with one thing wrong per case.

use std::collections::BTreeMap;

use frost_ed25519::round1::commit;
use quorate_ceremonies::{Action, Entry, Event, KeyGroup, Request, Timestamp};
use quorate_secrets::IdentityKey;
use quorate_tlog::{Checkpoint, LogKey, MemoryTree, prove_inclusion};
use quorate_types::policy::Emergency;
use quorate_types::{
    CeremonyId, Decision, Policy, RequestId, RequestStatement, Sha256Digest, SignedStatement,
    Statement,
};
use rand_core::OsRng;

use super::*;
use crate::testing::{dealt_group, pid};

const MESSAGE: &[u8] = b"9f86d081884c7d65  app.tar.gz\n";
/// The request's time; the events follow within seconds.
const T0: i64 = 1_800_000_000_000;

struct Fixture {
    group: KeyGroup,
    identities: BTreeMap<String, IdentityKey>,
    log: LogKey,
    ceremony: CeremonyId,
    /// The requester the ceremony's status shows, if not the recorded one.
    shown: Option<String>,
}

impl Fixture {
    fn new() -> Self {
        let policy = Policy {
            requesters: vec!["release-manager".into()],
            veto_roles: vec!["security".into()],
            emergency: Some(Emergency {
                declarers: vec!["release-manager".into()],
                reviewers: vec!["auditor".into()],
                approvals: None,
                required: BTreeMap::new(),
                deadlines: quorate_types::policy::Deadlines::emergency(),
            }),
            ..Policy::default()
        };
        let (group, identities, _) = dealt_group(policy);
        Fixture {
            group,
            identities,
            log: LogKey::from_seed("log.test", &[7; 32]).unwrap(),
            ceremony: CeremonyId::new("c1").unwrap(),
            shown: None,
        }
    }

    /// As [`Self::new`], with the release manager's key in the policy's
    /// requester keys, and the ceremony the one its request r1 makes.
    fn signed() -> (Self, IdentityKey) {
        let mut f = Self::new();
        let key = IdentityKey::generate(pid("release-manager"), &mut OsRng);
        f.group
            .policy
            .requester_keys
            .insert("release-manager".into(), key.public());
        f.ceremony = CeremonyId::of_request("release-manager", &RequestId::new("r1").unwrap());
        (f, key)
    }

    /// The release manager's request, signed with `key`.
    fn signed_request(&self, key: &IdentityKey) -> Entry {
        let mut entry = self.request("release-manager", None);
        if let Entry::CeremonyRequested { request, .. } = &mut entry {
            request.signed = Some(
                RequestStatement {
                    key_group: self.group.name.clone(),
                    requester: "release-manager".into(),
                    request_id: RequestId::new("r1").unwrap(),
                    label: request.label.clone(),
                    message_sha256: Sha256Digest::of(MESSAGE),
                    break_glass: None,
                    context_sha256: None,
                    follow_ups: Vec::new(),
                    at_unix_ms: T0,
                }
                .sign(key),
            );
        }
        entry
    }

    fn statement(&self, who: &str, decision: Decision) -> SignedStatement {
        Statement {
            ceremony: self.ceremony.clone(),
            key_group: self.group.name.clone(),
            participant: pid(who),
            message_sha256: Sha256Digest::of(MESSAGE),
            break_glass: false,
            decision,
            at_unix_ms: T0,
            follow_ups: Vec::new(),
        }
        .sign(&self.identities[who])
    }

    fn request(&self, requester: &str, break_glass: Option<&str>) -> Entry {
        Entry::CeremonyRequested {
            at: Timestamp(T0),
            request: Request {
                id: self.ceremony.clone(),
                key_group: self.group.name.clone(),
                requester: requester.into(),
                label: "app".into(),
                message: MESSAGE.to_vec(),
                created_at: Timestamp(T0),
                break_glass: break_glass.map(str::to_owned),
                context: Vec::new(),
                key_group_version: 0,
                follow_ups: Vec::new(),
                rules: 1,
                signed: None,
            },
        }
    }

    fn event(&self, seq: u64, event: Event, decisions: Vec<Action>) -> Entry {
        Entry::CeremonyEvent {
            at: Timestamp(T0 + 1000 * seq as i64),
            ceremony: self.ceremony.clone(),
            seq,
            event,
            decisions,
        }
    }

    fn approved(&self, seq: u64, who: &str, decisions: Vec<Action>) -> Entry {
        let share = frost_ed25519::keys::SigningShare::deserialize(&[1; 32]).unwrap();
        let (_, commitments) = commit(&share, &mut OsRng);
        self.event(
            seq,
            Event::Approved {
                statement: self.statement(who, Decision::Approve),
                commitments,
            },
            decisions,
        )
    }

    fn formed() -> Vec<Action> {
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: vec![pid("alice"), pid("carol"), pid("erin")],
        }]
    }

    /// The honest record: request, three approvals, the set formed.
    fn honest(&self) -> Vec<Entry> {
        vec![
            self.request("release-manager", None),
            self.approved(0, "alice", vec![]),
            self.approved(1, "carol", vec![]),
            self.approved(2, "erin", Self::formed()),
        ]
    }

    /// Judges `entries` as alice's agent at `now`, given the evidence the
    /// tree and log key make of them (after `tamper`).
    fn judge_at(
        &self,
        entries: &[Entry],
        now: i64,
        tamper: impl FnOnce(&mut Vec<(u64, Vec<u8>)>, &mut Vec<(u64, Vec<Hash>)>),
    ) -> Verdict {
        let mut tree = MemoryTree::new();
        tree.append(b"an earlier entry of another ceremony");
        let mut listed = Vec::new();
        for e in entries {
            let bytes = e.encode();
            let index = tree.size();
            tree.append(&bytes);
            listed.push((index, bytes));
        }
        let mut proofs: Vec<(u64, Vec<Hash>)> = listed
            .iter()
            .map(|(i, _)| (*i, prove_inclusion(*i, tree.size(), &tree).unwrap().hashes))
            .collect();
        let note = self
            .log
            .sign_checkpoint(&Checkpoint {
                origin: "log.test".into(),
                size: tree.size(),
                root: tree.root(),
            })
            .unwrap();
        tamper(&mut listed, &mut proofs);
        let ours = self.statement("alice", Decision::Approve).to_bytes();
        // The coordinator shows the requester it recorded, unless told.
        let requester = match (&self.shown, entries.first()) {
            (Some(shown), _) => shown.clone(),
            (None, Some(Entry::CeremonyRequested { request, .. })) => request.requester.clone(),
            _ => "release-manager".into(),
        };
        let log = self.log.verifier().unwrap();
        let signers = [pid("alice"), pid("carol"), pid("erin")];
        let me = pid("alice");
        let inputs = Inputs {
            me: &me,
            ceremony: &self.ceremony,
            requester: &requester,
            ours: &ours,
            group: &self.group,
            log: &log,
            witnesses: None,
            attempt: 1,
            signers: &signers,
            now: Timestamp(now),
        };
        judge(
            &inputs,
            &Evidence {
                note: &note,
                entries: &listed,
                proofs: &proofs,
            },
        )
    }

    fn judge(&self, entries: &[Entry]) -> Verdict {
        self.judge_at(entries, T0 + 10_000, |_, _| {})
    }
}

fn breach(v: Verdict) -> String {
    match v {
        Verdict::Breach(why) => why,
        other => panic!("expected a breach, got {other:?}"),
    }
}

#[test]
fn an_honest_record_releases_the_share() {
    let f = Fixture::new();
    assert_eq!(f.judge(&f.honest()), Verdict::Release);
}

#[test]
fn a_veto_before_the_signing_set_is_a_breach() {
    let f = Fixture::new();
    let mut entries = f.honest();
    // dave (security, a veto role) rejected; the set was formed anyway.
    let veto = f.event(
        2,
        Event::Rejected {
            statement: f.statement(
                "dave",
                Decision::Reject {
                    reason: "no".into(),
                },
            ),
        },
        vec![],
    );
    entries.insert(3, veto);
    entries[4] = f.approved(3, "erin", Fixture::formed());
    let why = breach(f.judge(&entries));
    assert!(
        why.contains("dave (security, a veto role) rejected"),
        "{why}"
    );
    // A rejection by a role without a veto is not one.
    let mut entries = f.honest();
    entries.insert(
        3,
        f.event(
            2,
            Event::Rejected {
                statement: f.statement(
                    "bob",
                    Decision::Reject {
                        reason: "meh".into(),
                    },
                ),
            },
            vec![],
        ),
    );
    entries[4] = f.approved(3, "erin", Fixture::formed());
    assert_eq!(f.judge(&entries), Verdict::Release);
}

#[test]
fn a_hidden_event_is_a_breach() {
    let f = Fixture::new();
    let mut entries = f.honest();
    // The coordinator leaves out event 1 (say, a veto) from what it shows.
    entries.remove(2);
    let why = breach(f.judge(&entries));
    assert!(why.contains("skips event 1"), "{why}");
}

#[test]
fn a_requester_or_declarer_the_policy_does_not_allow_is_a_breach() {
    let f = Fixture::new();
    let mut entries = f.honest();
    entries[0] = f.request("mallory", None);
    assert!(breach(f.judge(&entries)).contains("requester mallory is not among"));
    entries[0] = f.request("release-manager", Some("  "));
    assert!(breach(f.judge(&entries)).contains("without a justification"));
    entries[0] = f.request("release-manager", Some("CVE-2026-1234 is exploited"));
    assert_eq!(f.judge(&entries), Verdict::Release);
}

#[test]
fn with_requester_keys_only_the_requesters_signed_request_releases() {
    let (f, key) = Fixture::signed();
    let mut entries = f.honest();
    entries[0] = f.signed_request(&key);
    assert_eq!(f.judge(&entries), Verdict::Release);
    // Unsigned, as a coordinator that made the request up records it.
    entries[0] = f.request("release-manager", None);
    assert!(breach(f.judge(&entries)).contains("this one is unsigned"));
    // Signed by another key.
    let other = IdentityKey::generate(pid("release-manager"), &mut OsRng);
    entries[0] = f.signed_request(&other);
    assert!(breach(f.judge(&entries)).contains("does not verify"));
}

#[test]
fn the_requester_shown_must_be_the_one_recorded() {
    let mut f = Fixture::new();
    // The gate judged self-approval by the requester the status showed.
    f.shown = Some("release-deputy".into());
    let why = breach(f.judge(&f.honest()));
    assert!(why.contains("shows it as release-deputy's"), "{why}");
}

#[test]
fn deadlines_are_checked_by_the_agents_clock_with_tolerance() {
    let f = Fixture::new();
    let entries = f.honest();
    // The set was formed at T0 + 2 s; signing allows 60 s, plus 30 s.
    let formed = T0 + 2_000;
    assert_eq!(
        f.judge_at(&entries, formed + 89_000, |_, _| {}),
        Verdict::Release
    );
    let why = breach(f.judge_at(&entries, formed + 91_000, |_, _| {}));
    assert!(why.contains("signing deadline passed"), "{why}");
}

#[test]
fn evidence_that_does_not_prove_itself_is_a_breach() {
    let f = Fixture::new();
    let entries = f.honest();
    let why = breach(f.judge_at(&entries, T0 + 10_000, |_, proofs| {
        proofs.remove(1);
    }));
    assert!(why.contains("without its inclusion proof"), "{why}");
    let why = breach(f.judge_at(&entries, T0 + 10_000, |listed, _| {
        listed[1].1.push(b' ');
    }));
    assert!(why.contains("bad proof"), "{why}");
}

#[test]
fn a_record_that_has_not_caught_up_is_waited_for() {
    let f = Fixture::new();
    let entries = f.honest();
    // Our approval is not in the tree yet.
    let without_ours: Vec<Entry> = entries
        .iter()
        .filter(|e| !matches!(e, Entry::CeremonyEvent { seq: 0, .. }))
        .cloned()
        .collect();
    assert!(matches!(f.judge(&without_ours), Verdict::NotYet(_)));
    // The event that formed the set is not in the tree yet.
    assert!(matches!(f.judge(&entries[..3]), Verdict::NotYet(_)));
}

#[test]
fn a_veto_or_cancellation_after_the_set_was_formed_is_a_breach_too() {
    let f = Fixture::new();
    let mut entries = f.honest();
    entries.push(f.event(
        3,
        Event::Rejected {
            statement: f.statement(
                "dave",
                Decision::Reject {
                    reason: "late".into(),
                },
            ),
        },
        vec![],
    ));
    assert!(breach(f.judge(&entries)).contains("dave (security, a veto role)"));
    let mut entries = f.honest();
    entries.push(f.event(
        3,
        Event::Cancelled {
            by: "release-manager".into(),
            reason: "wrong tarball".into(),
        },
        vec![],
    ));
    assert!(breach(f.judge(&entries)).contains("cancelled the ceremony"));
}

#[test]
fn entries_without_proofs_are_waited_for_not_signed_on() {
    let f = Fixture::new();
    let verdict = f.judge_at(&f.honest(), T0 + 10_000, |_, proofs| proofs.clear());
    assert!(
        matches!(verdict, Verdict::NotYet(ref why) if why.contains("without their inclusion proofs")),
        "{verdict:?}"
    );
}

#[test]
fn a_signing_set_is_compared_as_a_set() {
    let (a, b, c) = (pid("alice"), pid("bob"), pid("carol"));
    assert!(same_set(&[a.clone(), b.clone()], &[b.clone(), a.clone()]));
    assert!(!same_set(
        &[a.clone(), a.clone(), b.clone()],
        &[a.clone(), b.clone(), c.clone()]
    ));
    assert!(!same_set(
        &[a.clone(), b.clone(), c.clone()],
        &[a.clone(), a, b]
    ));
}
