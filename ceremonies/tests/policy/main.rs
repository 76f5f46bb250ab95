//! The quorum policy through the engine's public API: roles, the agent's own
//! check of a signing set, self-approval, requesters, veto, deadlines at their
//! boundaries, break-glass and its review, cancelling, and the one-line
//! progress texts people read. Real FROST keys (3-of-5, trusted dealer) and
//! real round 1 / round 2; time is handed in as `Timestamp`s, never read.
//!
//! One test binary; each section of tests is a module of it.

mod agent_check;
mod break_glass;
mod cancel;
mod deadlines;
mod late_inputs;
mod progress_texts;
mod requesters;
mod roles;
mod self_approval;
mod veto;

#[path = "../support/mod.rs"]
mod support;
use support::{Agent, pid, reject};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use frost_ed25519::Signature;
use quorate_ceremonies::quorum::{PolicyViolation, check_signing_set};
use quorate_ceremonies::reason::{AbandonReason, DropReason, ExpiryReason, RejectionReason};
use quorate_ceremonies::{
    Action, Ceremony, CeremonyError, Event, KeyGroup, Outcome, Phase, Progress, Request, Round,
    State, Timestamp,
};
use quorate_types::policy::{Deadlines, Emergency};
use quorate_types::{CeremonyId, Decision, KeyGroupName, ParticipantId, Policy, SignedStatement};

/// The roster: two engineers, two security people, one release engineer.
const ROSTER: [(&str, &str); 5] = [
    ("alice", "engineering"),
    ("bob", "engineering"),
    ("carol", "security"),
    ("dave", "security"),
    ("erin", "release"),
];
const THRESHOLD: u16 = 3;
const GROUP: &str = "release-signing";
const MESSAGE: &[u8] =
    b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  quorate-1.0.0.tar.gz\n";

/// When every ceremony here is created, in unix ms.
const T0: i64 = 1_700_000_000_000;
const MS: i64 = 1;
const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

/// `offset` ms after the ceremony was created.
fn at(offset: i64) -> Timestamp {
    Timestamp(T0 + offset)
}

fn ids(names: &[&str]) -> Vec<ParticipantId> {
    names.iter().map(|n| pid(n)).collect()
}

fn role_counts(pairs: &[(&str, u16)]) -> BTreeMap<String, u16> {
    pairs.iter().map(|(r, n)| (r.to_string(), *n)).collect()
}

/// One approval from each of engineering, security and release.
fn one_of_each_role() -> BTreeMap<String, u16> {
    role_counts(&[("engineering", 1), ("security", 1), ("release", 1)])
}

/// The normal policy most tests use: one approval from each role.
fn roles_policy() -> Policy {
    Policy {
        required: one_of_each_role(),
        ..Policy::default()
    }
}

/// Approval 1h, signing 60s, overall 3h.
fn short_deadlines() -> Deadlines {
    Deadlines {
        approval: Duration::from_secs(3600),
        signing: Duration::from_secs(60),
        overall: Duration::from_secs(3 * 3600),
    }
}

/// One of each role normally; under break-glass, release-manager declares,
/// auditor reviews, and one security approval (plus t in all) is enough.
fn emergency_policy() -> Policy {
    Policy {
        requesters: vec!["release-manager".into()],
        emergency: Some(Emergency {
            declarers: vec!["release-manager".into()],
            reviewers: vec!["auditor".into()],
            approvals: None,
            required: role_counts(&[("security", 1)]),
            deadlines: Deadlines::emergency(),
        }),
        ..roles_policy()
    }
}

/// A 3-of-5 key group under `policy` (which must be valid for the roster),
/// from a trusted dealer, with one agent per participant.
fn key_group(policy: Policy) -> (Arc<KeyGroup>, BTreeMap<ParticipantId, Agent>) {
    let (group, agents) = key_group_unchecked(policy);
    group
        .policy
        .validate(&group.roster, THRESHOLD)
        .expect("the test policy is valid for the roster");
    (group, agents)
}

/// As [`key_group`], without validating the policy first.
fn key_group_unchecked(policy: Policy) -> (Arc<KeyGroup>, BTreeMap<ParticipantId, Agent>) {
    let (public_key_package, roster, agents) = support::deal(&ROSTER, THRESHOLD);
    let group = KeyGroup {
        name: KeyGroupName::new(GROUP).expect("a valid key group name"),
        threshold: THRESHOLD,
        public_key_package,
        roster,
        policy,
        version: 0,
    };
    (Arc::new(group), agents)
}

fn request(requester: &str, break_glass: Option<&str>) -> Request {
    Request {
        id: CeremonyId::new("release-1.0.0").expect("a valid ceremony id"),
        key_group: KeyGroupName::new(GROUP).expect("a valid key group name"),
        requester: requester.into(),
        label: "SHA256SUMS".into(),
        message: MESSAGE.to_vec(),
        created_at: at(0),
        break_glass: break_glass.map(Into::into),
        context: Vec::new(),
        key_group_version: 0,
        rules: 1,
        follow_ups: Vec::new(),
        signed: None,
    }
}

/// A live ceremony and the agents of its key group. Every event is handed in
/// with an explicit time.
struct Harness {
    group: Arc<KeyGroup>,
    agents: BTreeMap<ParticipantId, Agent>,
    ceremony: Ceremony,
}

impl Harness {
    /// A normal ceremony requested by release-manager.
    fn new(policy: Policy) -> Self {
        Self::requested(policy, request("release-manager", None))
    }

    fn requested(policy: Policy, request: Request) -> Self {
        let (group, agents) = key_group(policy);
        Self::start(group, agents, request)
    }

    fn start(
        group: Arc<KeyGroup>,
        agents: BTreeMap<ParticipantId, Agent>,
        request: Request,
    ) -> Self {
        let ceremony = Ceremony::new(request, group.clone()).expect("a valid request");
        Self {
            group,
            agents,
            ceremony,
        }
    }

    fn send(&mut self, event: Event, now: Timestamp) -> Result<Vec<Action>, CeremonyError> {
        self.ceremony.handle(&event, now)
    }

    /// Sends an event that must be refused, and checks it changed nothing.
    fn refused(&mut self, event: Event, now: Timestamp) -> CeremonyError {
        let before = self.ceremony.clone();
        let err = self
            .send(event.clone(), now)
            .expect_err(&format!("{event:?} should be refused"));
        assert_eq!(
            self.ceremony, before,
            "a refused event changed the ceremony"
        );
        err
    }

    fn agent(&mut self, name: &str) -> &mut Agent {
        self.agents.get_mut(&pid(name)).expect("a known agent")
    }

    /// `name`'s signed statement of `decision` about this ceremony.
    fn decide(&self, name: &str, decision: Decision) -> SignedStatement {
        self.agents[&pid(name)].decide(&self.ceremony, decision)
    }

    /// An approval carrying `statement`, with fresh commitments of `name`.
    fn approved_with(&mut self, name: &str, statement: SignedStatement) -> Event {
        Event::Approved {
            statement,
            commitments: self.agent(name).commit(),
        }
    }

    fn approval(&mut self, name: &str) -> Event {
        let statement = self.decide(name, Decision::Approve);
        self.approved_with(name, statement)
    }

    fn approve(&mut self, name: &str, now: Timestamp) -> Vec<Action> {
        let event = self.approval(name);
        self.send(event, now).expect("the approval is accepted")
    }

    fn commit(&mut self, name: &str, now: Timestamp) -> Vec<Action> {
        let commitments = self.agent(name).commit();
        let event = Event::Committed {
            participant: pid(name),
            commitments,
        };
        self.send(event, now).expect("the commitments are accepted")
    }

    fn rejection(&self, name: &str) -> Event {
        Event::Rejected {
            statement: self.decide(name, reject("the tarball does not match the CI build")),
        }
    }

    fn reject(&mut self, name: &str, now: Timestamp) -> Vec<Action> {
        let event = self.rejection(name);
        self.send(event, now).expect("the rejection is accepted")
    }

    fn round(&self) -> &Round {
        match self.ceremony.phase() {
            Phase::ExpectShares(round) => round,
            other => panic!("no signing package is out: {other:?}"),
        }
    }

    fn signers(&self) -> Vec<&str> {
        self.round().signers().iter().map(|s| s.as_str()).collect()
    }

    fn submit(&mut self, name: &str, now: Timestamp) -> Vec<Action> {
        let round = self
            .ceremony
            .package_for(&pid(name))
            .unwrap_or_else(|| panic!("{name} owes no share"))
            .clone();
        let share = self.agent(name).sign(round.package());
        let event = Event::ShareSubmitted {
            participant: pid(name),
            attempt: round.attempt(),
            share,
        };
        self.send(event, now).expect("the share is accepted")
    }

    /// Every signer that still owes a share sends it at `now`; returns the
    /// signature the ceremony closed with, checked as a consumer would.
    fn sign_all(&mut self, now: Timestamp) -> Signature {
        let owing: Vec<String> = self
            .round()
            .signers()
            .iter()
            .filter(|s| self.ceremony.package_for(s).is_some())
            .map(|s| s.to_string())
            .collect();
        let (last, others) = owing.split_last().expect("a share is owed");
        for s in others {
            assert_eq!(self.submit(s, now), vec![], "share of {s}");
        }
        let actions = self.submit(last, now);
        let [Action::Close(Outcome::Signed { signature, .. })] = actions.as_slice() else {
            panic!("the last share should close the ceremony as signed: {actions:?}");
        };
        assert!(self.ceremony.is_finished());
        assert_eq!(self.ceremony.signature(), Some(signature));
        let key = ed25519_dalek::VerifyingKey::from_bytes(&self.group.group_key())
            .expect("an Ed25519 key");
        let bytes = signature.serialize().expect("signature bytes");
        let sig = ed25519_dalek::Signature::from_slice(&bytes).expect("an Ed25519 signature");
        key.verify_strict(MESSAGE, &sig)
            .expect("verify_strict accepts the signature");
        *signature
    }

    fn deadline(&mut self, now: Timestamp) -> Result<Vec<Action>, CeremonyError> {
        self.send(Event::DeadlinePassed, now)
    }

    /// A deadline event `now` must be refused as not due, naming `next`.
    fn not_due(&mut self, now: Timestamp, next: Timestamp) {
        let err = self.refused(Event::DeadlinePassed, now);
        assert_eq!(
            err,
            CeremonyError::NotDue {
                next: Some(next.unix_ms())
            }
        );
    }

    fn review(&mut self, by: &str, notes: &str, now: Timestamp) -> Result<(), CeremonyError> {
        let event = Event::Reviewed {
            by: by.into(),
            notes: notes.into(),
        };
        self.send(event, now).map(|actions| {
            assert_eq!(actions, vec![], "a review has nothing to carry out");
        })
    }

    fn progress(&self) -> String {
        Progress(&self.ceremony).to_string()
    }

    fn role_of(&self, name: &str) -> &str {
        self.group.role_of(&pid(name)).expect("in the roster")
    }

    /// The outcome of a closed ceremony.
    fn outcome(&self) -> Outcome {
        match self.ceremony.phase() {
            Phase::Done(outcome) => outcome.clone(),
            other => panic!("the ceremony is not closed: {other:?}"),
        }
    }

    /// The outcome's reason as shown, for a closed ceremony.
    fn reason(&self) -> String {
        match self.ceremony.phase() {
            Phase::Done(Outcome::Expired { reason }) => reason.to_string(),
            Phase::Done(Outcome::Rejected { reason }) => reason.to_string(),
            Phase::Done(Outcome::Failed { reason }) => reason.to_string(),
            Phase::Done(Outcome::Cancelled { reason, .. }) => reason.clone(),
            other => panic!("the ceremony has no closing reason: {other:?}"),
        }
    }
}

/// Under [`roles_policy`] with [`short_deadlines`]: alice, carol and erin
/// approve, the package goes out at +10m, dave approves as a 4th, alice and
/// erin send shares, carol does not; at +10m+60s carol is dropped and alice
/// and erin owe fresh commitments. Returns the time the package was formed.
fn drop_carol_at_signing_deadline(h: &mut Harness) -> Timestamp {
    assert_eq!(h.approve("alice", at(MINUTE)), vec![]);
    assert_eq!(h.approve("carol", at(2 * MINUTE)), vec![]);
    let formed = at(10 * MINUTE);
    assert_eq!(
        h.approve("erin", formed),
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: ids(&["alice", "carol", "erin"]),
        }]
    );
    assert_eq!(h.ceremony.next_deadline(), Some(at(10 * MINUTE + MINUTE)));
    // A 4th approver while the package is out: kept for a later attempt.
    assert_eq!(h.approve("dave", at(10 * MINUTE + 5 * SECOND)), vec![]);
    assert_eq!(h.ceremony.state(), State::Signing);
    assert_eq!(h.submit("alice", at(10 * MINUTE + 10 * SECOND)), vec![]);
    assert_eq!(h.submit("erin", at(10 * MINUTE + 20 * SECOND)), vec![]);

    // One millisecond early: not due, nothing changes.
    h.not_due(at(10 * MINUTE + MINUTE - MS), at(10 * MINUTE + MINUTE));
    assert_eq!(h.ceremony.state(), State::Signing);

    // Exactly at the deadline: carol, who owes a share, is dropped.
    let actions = h
        .deadline(at(10 * MINUTE + MINUTE))
        .expect("the signing deadline is due");
    let reason = h
        .ceremony
        .dropped()
        .get(&pid("carol"))
        .expect("carol was dropped")
        .clone();
    assert_eq!(
        reason,
        DropReason::MissedSigningDeadline {
            attempt: 1,
            deadline_ms: 60_000
        }
    );
    assert!(reason.to_string().contains("signing deadline"), "{reason}");
    assert_eq!(h.ceremony.dropped().len(), 1, "only carol was late");
    assert_eq!(
        actions,
        vec![
            Action::DropSigner {
                participant: pid("carol"),
                reason: reason.clone(),
            },
            Action::AbandonAttempt {
                attempt: 1,
                reason: AbandonReason::SignerDropped {
                    participant: pid("carol")
                },
            },
            // Alice's and erin's commitments went into attempt 1; dave's did
            // not, so they are still fresh.
            Action::RequestCommitments {
                from: ids(&["alice", "erin"]),
            },
        ]
    );
    assert_eq!(h.ceremony.state(), State::CollectingCommitments);
    assert!(h.ceremony.package_for(&pid("carol")).is_none());
    formed
}
