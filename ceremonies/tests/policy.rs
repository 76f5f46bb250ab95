//! The quorum policy through the engine's public API: roles, the agent's own
//! check of a signing set, self-approval, requesters, veto, deadlines at their
//! boundaries, break-glass and its review, cancelling, and the one-line
//! progress texts people read. Real FROST keys (3-of-5, trusted dealer) and
//! real round 1 / round 2; time is handed in as `Timestamp`s, never read.

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
        follow_ups: Vec::new(),
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

// === 1. roles ===

#[test]
fn three_approvals_without_release_do_not_form_a_package() {
    let mut h = Harness::new(roles_policy());
    assert_eq!(h.ceremony.rules().signers, 3);
    for (i, name) in ["alice", "bob", "carol"].into_iter().enumerate() {
        assert_eq!(h.approve(name, at((i as i64 + 1) * MINUTE)), vec![]);
    }
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    assert_eq!(h.ceremony.phase(), &Phase::ExpectApprovals);
    assert_eq!(h.ceremony.attempts(), 0);
    let shortfall = h.ceremony.shortfall();
    assert_eq!(shortfall.by_role, role_counts(&[("release", 1)]));
    assert_eq!(shortfall.any, 0);
    let progress = h.progress();
    assert!(
        progress.contains("needs 1 more approval from release"),
        "{progress}"
    );
    assert!(progress.contains("3 approvals counted"), "{progress}");
}

#[test]
fn release_approval_completes_one_of_each_role_and_signs() {
    let mut h = Harness::new(roles_policy());
    for (i, name) in ["alice", "bob", "carol"].into_iter().enumerate() {
        h.approve(name, at((i as i64 + 1) * MINUTE));
    }
    let actions = h.approve("erin", at(4 * MINUTE));
    // Bob's approval is not needed: one of each role, in approval order.
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: ids(&["alice", "carol", "erin"]),
        }]
    );
    assert_eq!(h.ceremony.state(), State::Signing);
    assert_eq!(h.signers().len(), 3);
    let mut roles: Vec<&str> = h.signers().iter().map(|s| h.role_of(s)).collect();
    roles.sort_unstable();
    assert_eq!(roles, ["engineering", "release", "security"]);
    assert!(h.ceremony.shortfall().is_empty());
    assert!(h.ceremony.package_for(&pid("bob")).is_none());

    // The agents' own check accepts what the engine formed.
    let approved: Vec<ParticipantId> = h
        .ceremony
        .approvals()
        .iter()
        .map(|(p, _)| p.clone())
        .collect();
    let quorum = check_signing_set(
        &h.group,
        &h.ceremony.rules(),
        "release-manager",
        h.round().signers(),
        &approved,
    )
    .expect("the engine's signing set satisfies the policy");
    assert_eq!(
        quorum.signers(),
        ids(&["alice", "carol", "erin"]).as_slice()
    );

    h.sign_all(at(4 * MINUTE + 30 * SECOND));
    assert_eq!(h.ceremony.state(), State::Signed);
}

#[test]
fn two_required_from_a_role_are_chosen_over_earlier_approvers() {
    let policy = Policy {
        required: role_counts(&[("security", 2)]),
        ..Policy::default()
    };
    let mut h = Harness::new(policy);
    for (i, name) in ["alice", "bob", "erin"].into_iter().enumerate() {
        assert_eq!(h.approve(name, at((i as i64 + 1) * MINUTE)), vec![]);
    }
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    let progress = h.progress();
    assert!(
        progress.contains("needs 2 more approvals from security"),
        "{progress}"
    );
    assert_eq!(h.approve("carol", at(4 * MINUTE)), vec![]);
    let actions = h.approve("dave", at(5 * MINUTE));
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: ids(&["alice", "carol", "dave"]),
        }]
    );
    h.sign_all(at(5 * MINUTE + 30 * SECOND));
}

#[test]
fn approvals_above_the_threshold_widen_the_signing_set() {
    let policy = Policy {
        approvals: Some(4),
        ..Policy::default()
    };
    let mut h = Harness::new(policy);
    assert_eq!(h.ceremony.rules().signers, 4);
    for (i, name) in ["alice", "bob", "carol"].into_iter().enumerate() {
        assert_eq!(h.approve(name, at((i as i64 + 1) * MINUTE)), vec![]);
    }
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    let progress = h.progress();
    assert!(
        progress.contains("needs 1 more approval from anyone"),
        "{progress}"
    );
    let actions = h.approve("dave", at(4 * MINUTE));
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: ids(&["alice", "bob", "carol", "dave"]),
        }]
    );
    h.sign_all(at(4 * MINUTE + 30 * SECOND));
}

// === 2. the agent's own check of a signing set ===

#[test]
fn check_signing_set_refuses_sets_the_policy_forbids() {
    let (group, _) = key_group(Policy {
        requesters: vec!["alice".into(), "release-manager".into()],
        ..roles_policy()
    });
    let rules = group.policy.rules(THRESHOLD);
    let everyone = ids(&["alice", "bob", "carol", "dave", "erin"]);

    // The right set passes.
    let ok = check_signing_set(
        &group,
        &rules,
        "release-manager",
        &ids(&["alice", "carol", "erin"]),
        &everyone,
    )
    .expect("one of each role, all approved");
    assert_eq!(ok.signers(), ids(&["alice", "carol", "erin"]).as_slice());

    // Three signers, engineering and security only: no release.
    let err = check_signing_set(
        &group,
        &rules,
        "release-manager",
        &ids(&["alice", "bob", "carol"]),
        &everyone,
    )
    .expect_err("no release signer");
    assert_eq!(
        err,
        PolicyViolation::Short("1 more approval from release".into())
    );
    assert_eq!(
        err.to_string(),
        "the signing set lacks 1 more approval from release"
    );

    // Too few signers altogether.
    let err = check_signing_set(
        &group,
        &rules,
        "release-manager",
        &ids(&["carol", "erin"]),
        &everyone,
    )
    .expect_err("two signers");
    assert_eq!(
        err,
        PolicyViolation::Short("1 more approval from engineering".into())
    );

    // A signer that did not approve.
    let err = check_signing_set(
        &group,
        &rules,
        "release-manager",
        &ids(&["alice", "carol", "erin"]),
        &ids(&["alice", "carol", "bob"]),
    )
    .expect_err("erin did not approve");
    assert_eq!(err, PolicyViolation::NotApproved(pid("erin")));

    // The requester signing its own request.
    let err = check_signing_set(
        &group,
        &rules,
        "alice",
        &ids(&["alice", "carol", "erin"]),
        &everyone,
    )
    .expect_err("alice requested it");
    assert_eq!(err, PolicyViolation::SelfApproval(pid("alice")));

    // Someone not in the roster, even if the coordinator says they approved.
    let mut approved = everyone.clone();
    approved.push(pid("mallory"));
    let err = check_signing_set(
        &group,
        &rules,
        "release-manager",
        &ids(&["alice", "mallory", "erin"]),
        &approved,
    )
    .expect_err("mallory is not in the roster");
    assert_eq!(err, PolicyViolation::NotInRoster("mallory".into()));
}

#[test]
fn check_signing_set_allows_the_requester_when_self_approval_is_allowed() {
    let (group, _) = key_group(Policy {
        prevent_self_approval: false,
        ..roles_policy()
    });
    let rules = group.policy.rules(THRESHOLD);
    check_signing_set(
        &group,
        &rules,
        "alice",
        &ids(&["alice", "carol", "erin"]),
        &ids(&["alice", "carol", "erin"]),
    )
    .expect("self-approval is allowed");
}

// === 3. self-approval ===

fn alice_requests(prevent_self_approval: bool) -> Harness {
    let policy = Policy {
        requesters: vec!["alice".into()],
        prevent_self_approval,
        ..Policy::default()
    };
    Harness::requested(policy, request("alice", None))
}

#[test]
fn the_requesters_own_approval_does_not_count() {
    let mut h = alice_requests(true);
    for (i, name) in ["alice", "bob", "carol"].into_iter().enumerate() {
        assert_eq!(h.approve(name, at((i as i64 + 1) * MINUTE)), vec![]);
    }
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    assert_eq!(
        h.ceremony.approvals().len(),
        3,
        "alice's approval is recorded"
    );
    assert_eq!(h.ceremony.shortfall().any, 1);
    let progress = h.progress();
    assert!(progress.starts_with("2 approvals counted"), "{progress}");
    assert!(
        progress.contains("needs 1 more approval from anyone"),
        "{progress}"
    );

    // A 4th approval forms the package, without alice.
    let actions = h.approve("dave", at(4 * MINUTE));
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: ids(&["bob", "carol", "dave"]),
        }]
    );
    assert!(h.ceremony.package_for(&pid("alice")).is_none());
    h.sign_all(at(4 * MINUTE + 30 * SECOND));
}

#[test]
fn the_requesters_approval_counts_when_self_approval_is_allowed() {
    let mut h = alice_requests(false);
    assert_eq!(h.approve("alice", at(MINUTE)), vec![]);
    assert_eq!(h.approve("bob", at(2 * MINUTE)), vec![]);
    let actions = h.approve("carol", at(3 * MINUTE));
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: ids(&["alice", "bob", "carol"]),
        }]
    );
    h.sign_all(at(3 * MINUTE + 30 * SECOND));
}

// === 4. requesters ===

#[test]
fn only_listed_requesters_may_request() {
    let (group, _) = key_group(Policy {
        requesters: vec!["release-manager".into()],
        ..roles_policy()
    });
    let err = Ceremony::new(request("mallory", None), group.clone())
        .expect_err("mallory is not a requester");
    assert_eq!(
        err,
        CeremonyError::NotAllowed {
            who: "mallory".into(),
            action: format!("request ceremonies for key group {GROUP}"),
        }
    );
    // A participant is not a requester either unless listed.
    let err =
        Ceremony::new(request("alice", None), group.clone()).expect_err("alice is not listed");
    assert!(matches!(err, CeremonyError::NotAllowed { .. }), "{err:?}");

    Ceremony::new(request("release-manager", None), group).expect("a listed requester");

    // No list: anyone may ask.
    let (open, _) = key_group(roles_policy());
    Ceremony::new(request("mallory", None), open).expect("no requesters list");
}

// === 5. veto ===

fn veto_policy() -> Policy {
    Policy {
        veto_roles: vec!["security".into()],
        ..Policy::default()
    }
}

#[test]
fn a_rejection_from_a_veto_role_ends_the_ceremony() {
    let mut h = Harness::new(veto_policy());
    h.approve("alice", at(MINUTE));
    h.approve("bob", at(2 * MINUTE));
    let actions = h.reject("carol", at(3 * MINUTE));
    assert_eq!(h.ceremony.state(), State::Rejected);
    let reason = h.reason();
    assert!(reason.contains("vetoed by carol"), "{reason}");
    assert!(reason.contains("security"), "{reason}");
    assert_eq!(
        h.outcome(),
        Outcome::Rejected {
            reason: RejectionReason::Vetoed {
                by: pid("carol"),
                role: "security".into()
            }
        }
    );
    // The veto's words are carol's, in her signed statement, and shown.
    let progress = h.progress();
    assert!(
        progress.contains("the tarball does not match the CI build"),
        "{progress}"
    );
    assert_eq!(actions, vec![Action::Close(h.outcome())]);
    assert_eq!(h.ceremony.next_deadline(), None);
    let event = h.approval("erin");
    let err = h.refused(event, at(4 * MINUTE));
    assert_eq!(
        err,
        CeremonyError::Finished {
            state: State::Rejected
        }
    );
}

#[test]
fn a_rejection_outside_the_veto_roles_does_not_end_the_ceremony() {
    let mut h = Harness::new(veto_policy());
    assert_eq!(h.reject("bob", at(MINUTE)), vec![]);
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    assert_eq!(h.reject("erin", at(2 * MINUTE)), vec![]);
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    h.approve("alice", at(3 * MINUTE));
    h.approve("carol", at(4 * MINUTE));
    let actions = h.approve("dave", at(5 * MINUTE));
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: ids(&["alice", "carol", "dave"]),
        }]
    );
    h.sign_all(at(5 * MINUTE + 30 * SECOND));
}

#[test]
fn a_veto_while_the_package_is_out_ends_the_ceremony() {
    let mut h = Harness::new(veto_policy());
    h.approve("alice", at(MINUTE));
    h.approve("bob", at(2 * MINUTE));
    h.approve("erin", at(3 * MINUTE));
    assert_eq!(h.ceremony.state(), State::Signing);
    h.submit("alice", at(3 * MINUTE + 30 * SECOND));
    let actions = h.reject("dave", at(3 * MINUTE + 45 * SECOND));
    assert!(
        matches!(
            actions.as_slice(),
            [Action::Close(Outcome::Rejected { .. })]
        ),
        "{actions:?}"
    );
    assert_eq!(h.ceremony.state(), State::Rejected);
    assert!(h.reason().contains("vetoed by dave"), "{}", h.reason());
    assert!(h.ceremony.package_for(&pid("bob")).is_none());
}

// === 6. deadlines, each at its boundary ===

fn deadlines_policy() -> Policy {
    Policy {
        deadlines: short_deadlines(),
        ..roles_policy()
    }
}

#[test]
fn approval_deadline_expires_exactly_at_its_boundary() {
    let mut h = Harness::new(deadlines_policy());
    assert_eq!(h.ceremony.next_deadline(), Some(at(HOUR)));
    h.approve("alice", at(MINUTE));
    h.approve("carol", at(2 * MINUTE));
    assert_eq!(h.ceremony.next_deadline(), Some(at(HOUR)));

    h.not_due(at(HOUR - MS), at(HOUR));
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);

    let actions = h.deadline(at(HOUR)).expect("the approval deadline is due");
    assert_eq!(h.ceremony.state(), State::Expired);
    let reason = h.reason().to_string();
    assert!(reason.contains("approval deadline"), "{reason}");
    assert!(reason.contains("1h"), "{reason}");
    assert!(reason.contains("1 more approval from release"), "{reason}");
    assert!(matches!(
        h.outcome(),
        Outcome::Expired {
            reason: ExpiryReason::ApprovalDeadline {
                deadline_ms: 3_600_000,
                ..
            }
        }
    ));
    assert_eq!(actions, vec![Action::Close(h.outcome())]);
    let progress = h.progress();
    assert!(progress.contains("approval deadline"), "{progress}");
    assert_eq!(h.ceremony.next_deadline(), None);

    let err = h.refused(Event::DeadlinePassed, at(2 * HOUR));
    assert_eq!(
        err,
        CeremonyError::Finished {
            state: State::Expired
        }
    );
}

#[test]
fn signing_deadline_drops_the_late_signer_and_reforms_without_it() {
    let mut h = Harness::new(deadlines_policy());
    let formed = drop_carol_at_signing_deadline(&mut h);
    assert_eq!(formed, at(10 * MINUTE));
    // Waiting for commitments: only the overall cap applies.
    assert_eq!(h.ceremony.next_deadline(), Some(at(3 * HOUR)));

    // The dropped signer is out for the rest of the ceremony.
    let commitments = h.agent("carol").commit();
    let err = h.refused(
        Event::Committed {
            participant: pid("carol"),
            commitments,
        },
        at(11 * MINUTE + SECOND),
    );
    assert!(
        matches!(&err, CeremonyError::ParticipantDropped { participant, .. } if participant == &pid("carol")),
        "{err:?}"
    );

    assert_eq!(
        h.commit("alice", at(11 * MINUTE + 10 * SECOND)),
        vec![Action::RequestCommitments {
            from: ids(&["erin"]),
        }]
    );
    let reformed = at(11 * MINUTE + 20 * SECOND);
    assert_eq!(
        h.commit("erin", reformed),
        vec![Action::SendSigningPackage {
            attempt: 2,
            signers: ids(&["alice", "erin", "dave"]),
        }]
    );
    assert_eq!(h.ceremony.attempts(), 2);
    assert_eq!(h.round().attempt(), 2);
    assert!(!h.round().is_signer(&pid("carol")));
    assert_eq!(h.round().formed_at(), reformed);
    assert_eq!(
        h.ceremony.next_deadline(),
        Some(at(11 * MINUTE + 20 * SECOND + MINUTE))
    );
    h.not_due(
        at(11 * MINUTE + 20 * SECOND + MINUTE - MS),
        at(11 * MINUTE + 20 * SECOND + MINUTE),
    );
    h.sign_all(at(11 * MINUTE + 30 * SECOND));
    assert_eq!(h.ceremony.state(), State::Signed);
    assert_eq!(h.ceremony.next_deadline(), None);
}

#[test]
fn overall_deadline_caps_the_approval_phase() {
    let mut h = Harness::new(deadlines_policy());
    h.approve("alice", at(MINUTE));
    // The clock was not handed in before: at the cap, the cap is the reason.
    h.deadline(at(3 * HOUR)).expect("a deadline is due");
    assert_eq!(h.ceremony.state(), State::Expired);
    assert!(h.reason().contains("overall deadline"), "{}", h.reason());
    assert!(h.reason().contains("3h"), "{}", h.reason());
}

#[test]
fn overall_deadline_caps_the_commitment_phase() {
    let mut h = Harness::new(deadlines_policy());
    drop_carol_at_signing_deadline(&mut h);
    assert_eq!(h.ceremony.state(), State::CollectingCommitments);
    assert_eq!(h.ceremony.next_deadline(), Some(at(3 * HOUR)));
    h.not_due(at(3 * HOUR - MS), at(3 * HOUR));
    let actions = h.deadline(at(3 * HOUR)).expect("the overall deadline");
    assert_eq!(h.ceremony.state(), State::Expired);
    let reason = h.reason().to_string();
    assert!(reason.contains("overall deadline"), "{reason}");
    assert!(matches!(
        h.outcome(),
        Outcome::Expired {
            reason: ExpiryReason::OverallDeadline { .. }
        }
    ));
    assert_eq!(actions, vec![Action::Close(h.outcome())]);
}

#[test]
fn overall_deadline_caps_the_signing_phase() {
    let mut h = Harness::new(deadlines_policy());
    drop_carol_at_signing_deadline(&mut h);
    h.commit("alice", at(HOUR));
    // Attempt 2 goes out 30s before the cap: its 60s do not extend it.
    let formed = at(3 * HOUR - 30 * SECOND);
    let actions = h.commit("erin", formed);
    assert!(
        matches!(
            actions.as_slice(),
            [Action::SendSigningPackage { attempt: 2, .. }]
        ),
        "{actions:?}"
    );
    assert_eq!(h.ceremony.next_deadline(), Some(at(3 * HOUR)));
    h.submit("alice", at(3 * HOUR - 10 * SECOND));
    h.not_due(at(3 * HOUR - MS), at(3 * HOUR));
    h.deadline(at(3 * HOUR)).expect("the overall deadline");
    assert_eq!(h.ceremony.state(), State::Expired);
    assert!(h.reason().contains("overall deadline"), "{}", h.reason());
    assert!(h.ceremony.package_for(&pid("erin")).is_none());
}

#[test]
fn next_deadline_follows_the_phase() {
    let mut h = Harness::new(deadlines_policy());
    // Collecting approvals: the approval deadline, from creation.
    assert_eq!(h.ceremony.next_deadline(), Some(at(HOUR)));
    h.approve("alice", at(MINUTE));
    h.approve("carol", at(2 * MINUTE));
    assert_eq!(h.ceremony.next_deadline(), Some(at(HOUR)));
    // Signing: the signing deadline, from when the package was formed.
    h.approve("erin", at(50 * MINUTE));
    assert_eq!(h.ceremony.state(), State::Signing);
    assert_eq!(h.ceremony.next_deadline(), Some(at(51 * MINUTE)));
    // The approval deadline no longer applies once the package is out.
    h.submit("alice", at(50 * MINUTE + SECOND));
    h.submit("carol", at(50 * MINUTE + 2 * SECOND));
    h.not_due(at(51 * MINUTE - MS), at(51 * MINUTE));
    h.sign_all(at(51 * MINUTE - MS));
    assert_eq!(h.ceremony.next_deadline(), None);
}

// === 7. break-glass ===

#[test]
fn break_glass_needs_justification_declarer_and_emergency_policy() {
    let (group, _) = key_group(emergency_policy());

    for blank in ["", "   \n"] {
        let err = Ceremony::new(request("release-manager", Some(blank)), group.clone())
            .expect_err("no justification");
        assert!(
            matches!(err, CeremonyError::InvalidRequest(ref why) if why.contains("justification")),
            "{err:?}"
        );
    }

    // Not a declarer: not even a participant nor a listed requester may.
    for who in ["mallory", "alice"] {
        let err = Ceremony::new(request(who, Some("prod is down")), group.clone())
            .expect_err("not a declarer");
        assert_eq!(
            err,
            CeremonyError::NotAllowed {
                who: who.into(),
                action: format!("declare break-glass for key group {GROUP}"),
            }
        );
    }

    // No emergency policy: no break-glass, whoever asks.
    let (plain, _) = key_group(Policy {
        requesters: vec!["release-manager".into()],
        ..roles_policy()
    });
    let err = Ceremony::new(request("release-manager", Some("prod is down")), plain)
        .expect_err("no emergency policy");
    assert!(
        matches!(err, CeremonyError::InvalidRequest(ref why) if why.contains("no emergency policy")),
        "{err:?}"
    );

    let c = Ceremony::new(request("release-manager", Some("prod is down")), group)
        .expect("a declarer with a justification");
    assert!(c.is_break_glass());
    assert_eq!(c.rules().required, role_counts(&[("security", 1)]));
    assert_eq!(c.rules().signers, THRESHOLD);
}

fn break_glass() -> Harness {
    Harness::requested(
        emergency_policy(),
        request(
            "release-manager",
            Some("CVE fix must ship before the embargo"),
        ),
    )
}

#[test]
fn break_glass_relaxes_roles_but_never_goes_below_threshold() {
    let mut h = break_glass();
    assert_eq!(h.approve("alice", at(MINUTE)), vec![]);
    assert_eq!(h.approve("carol", at(2 * MINUTE)), vec![]);
    // Security is there, but two approvals never make a signing set.
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    assert_eq!(h.ceremony.shortfall().any, 1);
    assert!(
        h.progress().starts_with("BREAK-GLASS: "),
        "{}",
        h.progress()
    );

    // A third, without release: enough under break-glass.
    let actions = h.approve("bob", at(3 * MINUTE));
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: ids(&["alice", "carol", "bob"]),
        }]
    );
    h.sign_all(at(3 * MINUTE + 30 * SECOND));
    assert_eq!(h.ceremony.state(), State::AwaitingReview);
    assert!(h.ceremony.signature().is_some());
    assert!(h.ceremony.review_record().is_none());
}

#[test]
fn break_glass_still_needs_its_required_roles() {
    let mut h = break_glass();
    for (i, name) in ["alice", "bob", "erin"].into_iter().enumerate() {
        assert_eq!(h.approve(name, at((i as i64 + 1) * MINUTE)), vec![]);
    }
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    assert!(
        h.progress().contains("needs 1 more approval from security"),
        "{}",
        h.progress()
    );
    let actions = h.approve("dave", at(4 * MINUTE));
    assert!(
        matches!(actions.as_slice(), [Action::SendSigningPackage { signers, .. }]
            if signers.contains(&pid("dave")) && signers.len() == 3),
        "{actions:?}"
    );
}

#[test]
fn an_emergency_approvals_count_below_t_is_raised_to_t() {
    let mut policy = emergency_policy();
    if let Some(e) = policy.emergency.as_mut() {
        e.approvals = Some(2);
        e.required.clear();
    }
    let (group, agents) = key_group_unchecked(policy);
    group
        .policy
        .validate(&group.roster, THRESHOLD)
        .expect_err("validation refuses approvals below t");
    // Even if such a policy reached the engine, it would not go below t.
    let mut h = Harness::start(
        group,
        agents,
        request("release-manager", Some("prod is down")),
    );
    assert_eq!(h.ceremony.rules().signers, THRESHOLD);
    h.approve("alice", at(MINUTE));
    h.approve("bob", at(2 * MINUTE));
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    h.approve("erin", at(3 * MINUTE));
    assert_eq!(h.ceremony.state(), State::Signing);
    assert_eq!(h.signers().len(), 3);
}

#[test]
fn break_glass_runs_under_the_emergency_deadlines() {
    let mut h = break_glass();
    // Emergency: approval 1h, overall 4h (the normal policy has 24h / 72h).
    assert_eq!(h.ceremony.rules().deadlines, Deadlines::emergency());
    assert_eq!(h.ceremony.next_deadline(), Some(at(HOUR)));
    h.approve("alice", at(MINUTE));
    h.not_due(at(HOUR - MS), at(HOUR));
    h.deadline(at(HOUR))
        .expect("the emergency approval deadline");
    assert_eq!(h.ceremony.state(), State::Expired);
}

#[test]
fn break_glass_review_by_a_reviewer_with_notes_completes_it() {
    let mut h = break_glass();
    h.approve("alice", at(MINUTE));
    h.approve("carol", at(2 * MINUTE));

    // Not while it is still open.
    let err = h.refused(
        Event::Reviewed {
            by: "auditor".into(),
            notes: "too early".into(),
        },
        at(2 * MINUTE + SECOND),
    );
    assert!(
        matches!(err, CeremonyError::NoReviewNeeded(ref why) if why.contains("still open")),
        "{err:?}"
    );

    h.approve("bob", at(3 * MINUTE));
    h.sign_all(at(3 * MINUTE + 30 * SECOND));
    assert_eq!(h.ceremony.state(), State::AwaitingReview);

    // Not a reviewer: not even the declarer or a signer.
    for who in ["mallory", "release-manager", "carol"] {
        let err = h.refused(
            Event::Reviewed {
                by: who.into(),
                notes: "looks fine".into(),
            },
            at(HOUR),
        );
        assert_eq!(
            err,
            CeremonyError::NotAllowed {
                who: who.into(),
                action: "review break-glass ceremonies of this key group".into(),
            }
        );
    }
    // A review without notes is no review.
    for notes in ["", "  \t"] {
        let err = h.refused(
            Event::Reviewed {
                by: "auditor".into(),
                notes: notes.into(),
            },
            at(HOUR),
        );
        assert!(
            matches!(err, CeremonyError::InvalidRequest(ref why) if why.contains("notes")),
            "{err:?}"
        );
    }
    assert_eq!(h.ceremony.state(), State::AwaitingReview);

    let notes = "checked the CVE patch against the advisory; tarball matches CI";
    h.review("auditor", notes, at(2 * HOUR))
        .expect("the auditor's review is accepted");
    assert_eq!(h.ceremony.state(), State::Signed);
    let record = h.ceremony.review_record().expect("a review record");
    assert_eq!(record.by, "auditor");
    assert_eq!(record.notes, notes);
    assert_eq!(record.at, at(2 * HOUR));

    let err = h.refused(
        Event::Reviewed {
            by: "auditor".into(),
            notes: "again".into(),
        },
        at(3 * HOUR),
    );
    assert!(
        matches!(err, CeremonyError::NoReviewNeeded(ref why) if why.contains("already")),
        "{err:?}"
    );
    assert_eq!(h.ceremony.state(), State::Signed);
}

#[test]
fn statements_acknowledge_break_glass_exactly_when_it_was_declared() {
    let bad_statement = |err: CeremonyError, name: &str, why: &str| {
        assert!(
            matches!(&err, CeremonyError::BadStatement { participant, why: w }
                if *participant == pid(name) && w.contains(why)),
            "expected a bad statement of {name} ({why}), got {err:?}"
        );
    };

    // A break-glass ceremony: an approver that did not see it was one
    // (its statement says break_glass = false) is not counted.
    let mut h = break_glass();
    let mut unaware = h.agents[&pid("carol")].statement(&h.ceremony, Decision::Approve);
    assert!(unaware.break_glass, "the agent states what it saw");
    unaware.break_glass = false;
    let statement = h.agents[&pid("carol")].sign_statement(unaware);
    let approval = h.approved_with("carol", statement);
    let err = h.refused(approval, at(MINUTE));
    bad_statement(
        err,
        "carol",
        "this is a break-glass ceremony, but the statement does not acknowledge it",
    );
    let mut unaware = h.agents[&pid("dave")].statement(&h.ceremony, reject("no"));
    unaware.break_glass = false;
    let rejection = Event::Rejected {
        statement: h.agents[&pid("dave")].sign_statement(unaware),
    };
    let err = h.refused(rejection, at(MINUTE));
    bad_statement(err, "dave", "does not acknowledge");
    assert!(h.ceremony.statements().is_empty());
    // Acknowledged, it counts.
    h.approve("carol", at(2 * MINUTE));
    let approval = h
        .ceremony
        .approval_of(&pid("carol"))
        .expect("carol approved");
    assert!(approval.statement.break_glass);

    // A normal ceremony in the same key group: a statement claiming
    // break-glass is refused.
    let mut h = Harness::new(emergency_policy());
    let mut claimed = h.agents[&pid("carol")].statement(&h.ceremony, Decision::Approve);
    assert!(!claimed.break_glass);
    claimed.break_glass = true;
    let statement = h.agents[&pid("carol")].sign_statement(claimed);
    let approval = h.approved_with("carol", statement);
    let err = h.refused(approval, at(MINUTE));
    bad_statement(
        err,
        "carol",
        "it claims a break-glass ceremony, but this one is not",
    );
    h.approve("carol", at(2 * MINUTE));
    assert_eq!(h.ceremony.statements().len(), 1);
}

#[test]
fn a_normal_ceremony_needs_no_review() {
    // With an emergency policy in the key group, and without one.
    for policy in [emergency_policy(), roles_policy()] {
        let mut h = Harness::new(policy);
        for (i, name) in ["alice", "carol", "erin"].into_iter().enumerate() {
            h.approve(name, at((i as i64 + 1) * MINUTE));
        }
        h.sign_all(at(3 * MINUTE + 30 * SECOND));
        assert_eq!(h.ceremony.state(), State::Signed);
        let err = h.refused(
            Event::Reviewed {
                by: "auditor".into(),
                notes: "looks fine".into(),
            },
            at(HOUR),
        );
        assert!(matches!(err, CeremonyError::NoReviewNeeded(_)), "{err:?}");
        assert!(h.ceremony.review_record().is_none());
    }
}

// === 8. cancel ===

#[test]
fn only_the_requester_may_cancel() {
    let mut h = Harness::new(roles_policy());
    h.approve("alice", at(MINUTE));
    for who in ["alice", "mallory", "auditor"] {
        let err = h.refused(
            Event::Cancelled {
                by: who.into(),
                reason: "wrong tarball".into(),
            },
            at(2 * MINUTE),
        );
        assert!(
            matches!(&err, CeremonyError::NotAllowed { who: w, .. } if w == who),
            "{err:?}"
        );
    }
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);

    let actions = h
        .send(
            Event::Cancelled {
                by: "release-manager".into(),
                reason: "wrong tarball".into(),
            },
            at(3 * MINUTE),
        )
        .expect("the requester may cancel");
    let outcome = Outcome::Cancelled {
        by: "release-manager".into(),
        reason: "wrong tarball".into(),
    };
    assert_eq!(actions, vec![Action::Close(outcome)]);
    assert_eq!(h.ceremony.state(), State::Cancelled);
    assert_eq!(h.ceremony.next_deadline(), None);
}

#[test]
fn the_requester_may_cancel_while_signing() {
    let mut h = Harness::new(roles_policy());
    for (i, name) in ["alice", "carol", "erin"].into_iter().enumerate() {
        h.approve(name, at((i as i64 + 1) * MINUTE));
    }
    h.submit("alice", at(3 * MINUTE + 30 * SECOND));
    h.send(
        Event::Cancelled {
            by: "release-manager".into(),
            reason: "superseded by 1.0.1".into(),
        },
        at(3 * MINUTE + 45 * SECOND),
    )
    .expect("the requester may cancel");
    assert_eq!(h.ceremony.state(), State::Cancelled);
    assert!(h.ceremony.package_for(&pid("carol")).is_none());
}

// === 9. progress texts ===

#[test]
fn progress_no_approvals_yet() {
    let h = Harness::new(roles_policy());
    insta::assert_snapshot!("progress_no_approvals", h.progress());
}

#[test]
fn progress_two_approvals_missing_release() {
    let mut h = Harness::new(roles_policy());
    h.approve("alice", at(MINUTE));
    h.approve("carol", at(2 * MINUTE));
    insta::assert_snapshot!("progress_missing_release", h.progress());
}

#[test]
fn progress_requesters_approval_not_counted() {
    let mut h = alice_requests(true);
    h.approve("alice", at(MINUTE));
    h.approve("bob", at(2 * MINUTE));
    insta::assert_snapshot!("progress_self_approval_not_counted", h.progress());
}

#[test]
fn progress_waiting_for_shares() {
    let mut h = Harness::new(roles_policy());
    for (i, name) in ["alice", "carol", "erin"].into_iter().enumerate() {
        h.approve(name, at((i as i64 + 1) * MINUTE));
    }
    h.submit("alice", at(3 * MINUTE + 30 * SECOND));
    insta::assert_snapshot!("progress_waiting_for_shares", h.progress());
}

#[test]
fn progress_signer_dropped_reform_pending() {
    let mut h = Harness::new(deadlines_policy());
    drop_carol_at_signing_deadline(&mut h);
    insta::assert_snapshot!("progress_signer_dropped", h.progress());
}

#[test]
fn progress_expired() {
    let mut h = Harness::new(deadlines_policy());
    h.approve("alice", at(MINUTE));
    h.approve("carol", at(2 * MINUTE));
    h.deadline(at(HOUR)).expect("the approval deadline");
    insta::assert_snapshot!("progress_expired", h.progress());
}

#[test]
fn progress_vetoed() {
    let mut h = Harness::new(veto_policy());
    h.approve("alice", at(MINUTE));
    h.reject("carol", at(2 * MINUTE));
    insta::assert_snapshot!("progress_vetoed", h.progress());
}

#[test]
fn progress_cancelled() {
    let mut h = Harness::new(roles_policy());
    h.send(
        Event::Cancelled {
            by: "release-manager".into(),
            reason: "wrong tarball".into(),
        },
        at(MINUTE),
    )
    .expect("the requester may cancel");
    insta::assert_snapshot!("progress_cancelled", h.progress());
}

#[test]
fn progress_break_glass_collecting() {
    let mut h = break_glass();
    h.approve("alice", at(MINUTE));
    h.approve("carol", at(2 * MINUTE));
    insta::assert_snapshot!("progress_break_glass_collecting", h.progress());
}

#[test]
fn progress_break_glass_awaiting_review_then_reviewed() {
    let mut h = break_glass();
    for (i, name) in ["alice", "carol", "bob"].into_iter().enumerate() {
        h.approve(name, at((i as i64 + 1) * MINUTE));
    }
    h.sign_all(at(3 * MINUTE + 30 * SECOND));
    insta::assert_snapshot!("progress_break_glass_awaiting_review", h.progress());
    h.review("auditor", "checked against the advisory", at(HOUR))
        .expect("the review is accepted");
    insta::assert_snapshot!("progress_break_glass_reviewed", h.progress());
}

// === deadlines take effect at their time, whatever arrives first ===

#[test]
fn a_late_approval_meets_the_ceremony_as_its_deadline_left_it() {
    let mut h = Harness::new(deadlines_policy());
    h.approve("alice", at(MINUTE));
    h.approve("carol", at(2 * MINUTE));
    // The approval deadline (1h) passed before the clock's own event came:
    // erin's approval must not form a signing package.
    let approval = h.approval("erin");
    let err = h.refused(approval, at(HOUR + 5 * SECOND));
    assert!(matches!(err, CeremonyError::Finished { .. }), "{err:?}");
}

#[test]
fn a_late_share_is_refused_once_the_signing_deadline_passed() {
    let mut h = Harness::new(deadlines_policy());
    for (i, name) in ["alice", "carol", "erin"].into_iter().enumerate() {
        h.approve(name, at((i as i64 + 1) * MINUTE));
    }
    // Package at 3m, signing deadline 60s: a share at 4m05s comes too late.
    let round = h.ceremony.package_for(&pid("alice")).unwrap().clone();
    let share = h.agent("alice").sign(round.package());
    let late = Event::ShareSubmitted {
        participant: pid("alice"),
        attempt: round.attempt(),
        share,
    };
    let err = h.refused(late, at(4 * MINUTE + 5 * SECOND));
    assert!(
        matches!(err, CeremonyError::NoSigningPackage { .. }),
        "{err:?}"
    );
}

#[test]
fn check_signing_set_refuses_a_repeated_signer() {
    let h = Harness::new(roles_policy());
    let group = h.ceremony.key_group().clone();
    let rules = group.policy.rules(group.threshold);
    let signers = [pid("carol"), pid("carol"), pid("erin"), pid("alice")];
    let err = check_signing_set(&group, &rules, "release-manager", &signers, &signers).unwrap_err();
    assert_eq!(err, PolicyViolation::Repeated(pid("carol")));
}
