//! The ceremony engine through its public API, with real FROST keys and real
//! round 1 / round 2 done here the way the agents do them.

mod support;
use support::{Agent, pid, reject};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use frost_ed25519::{Signature, SigningPackage};
use quorate_ceremonies::reason::{DropReason, RejectionReason};
use quorate_ceremonies::{
    Action, Ceremony, CeremonyError, Event, KeyGroup, Outcome, Phase, Request, Round, State,
    Timestamp,
};
use quorate_secrets::IdentityKey;
use quorate_types::batch::FollowUp;
use quorate_types::{
    CeremonyId, Decision, KeyGroupName, MAX_MESSAGE_BYTES, ParticipantId, Sha256Digest,
    SignedStatement, Statement,
};

const NAMES: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];
const MESSAGE: &[u8] =
    b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  quorate-1.0.0.tar.gz\n";

/// A 3-of-5 key group from a trusted dealer, one agent per participant.
fn key_group() -> (Arc<KeyGroup>, BTreeMap<ParticipantId, Agent>) {
    let members: Vec<(&str, &str)> = NAMES
        .into_iter()
        .zip([
            "engineering",
            "security",
            "release",
            "engineering",
            "security",
        ])
        .collect();
    let (public_key_package, roster, agents) = support::deal(&members, 3);
    let group = KeyGroup {
        name: KeyGroupName::new("release-signing").expect("a valid key group name"),
        threshold: 3,
        public_key_package,
        roster,
        policy: Default::default(),
        version: 0,
    };
    (Arc::new(group), agents)
}

fn request(message: &[u8]) -> Request {
    Request {
        id: CeremonyId::new("release-1.0.0").expect("a valid ceremony id"),
        key_group: KeyGroupName::new("release-signing").expect("a valid key group name"),
        requester: "release-manager".into(),
        label: "SHA256SUMS".into(),
        message: message.to_vec(),
        created_at: Timestamp(1_700_000_000_000),
        break_glass: None,
        context: Vec::new(),
        key_group_version: 0,
        follow_ups: Vec::new(),
    }
}

/// A live ceremony, the agents, and the log of accepted events, as the
/// coordinator would keep it.
struct Harness {
    group: Arc<KeyGroup>,
    agents: BTreeMap<ParticipantId, Agent>,
    ceremony: Ceremony,
    log: Vec<(Event, Timestamp)>,
    clock: i64,
}

impl Harness {
    fn new() -> Self {
        let (group, agents) = key_group();
        Self::start(group, agents)
    }

    /// A ceremony for [`MESSAGE`] in `group`, whose members' agents are `agents`.
    fn start(group: Arc<KeyGroup>, agents: BTreeMap<ParticipantId, Agent>) -> Self {
        let ceremony = Ceremony::new(request(MESSAGE), group.clone()).expect("a valid request");
        Self {
            group,
            agents,
            ceremony,
            log: Vec::new(),
            clock: 1_700_000_000_000,
        }
    }

    /// Hands one event to the engine; records it if it was accepted.
    fn send(&mut self, event: Event) -> Result<Vec<Action>, CeremonyError> {
        self.clock += 1_000;
        let at = Timestamp(self.clock);
        let result = self.ceremony.handle(&event, at);
        if result.is_ok() {
            self.log.push((event, at));
        }
        result
    }

    /// Sends an event that must be refused, and checks it changed nothing.
    fn refused(&mut self, event: Event) -> CeremonyError {
        let before = self.ceremony.clone();
        let err = self
            .send(event.clone())
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

    /// `name`'s unsigned statement of `decision` about this ceremony.
    fn statement(&self, name: &str, decision: Decision) -> Statement {
        self.agents[&pid(name)].statement(&self.ceremony, decision)
    }

    /// `statement`, signed with `name`'s identity key.
    fn signed_by(&self, name: &str, statement: Statement) -> SignedStatement {
        self.agents[&pid(name)].sign_statement(statement)
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

    fn rejection(&self, name: &str, reason: &str) -> Event {
        Event::Rejected {
            statement: self.decide(name, reject(reason)),
        }
    }

    fn approve(&mut self, name: &str) -> Vec<Action> {
        let event = self.approval(name);
        self.send(event).expect("the approval is accepted")
    }

    fn commit(&mut self, name: &str) -> Vec<Action> {
        let commitments = self.agent(name).commit();
        self.send(Event::Committed {
            participant: pid(name),
            commitments,
        })
        .expect("the commitments are accepted")
    }

    fn reject(&mut self, name: &str) -> Vec<Action> {
        let event = self.rejection(name, &format!("{name} does not recognise the artifacts"));
        self.send(event).expect("the rejection is accepted")
    }

    fn round(&self) -> &Round {
        match self.ceremony.phase() {
            Phase::ExpectShares(round) => round,
            other => panic!("no signing package is out: {other:?}"),
        }
    }

    /// What `name`'s agent computes for the package it owes a share for.
    fn share_of(&mut self, name: &str) -> Event {
        let round = self
            .ceremony
            .package_for(&pid(name))
            .unwrap_or_else(|| panic!("{name} owes no share"))
            .clone();
        let share = self.agent(name).sign(round.package());
        Event::ShareSubmitted {
            participant: pid(name),
            attempt: round.attempt(),
            share,
        }
    }

    fn submit(&mut self, name: &str) -> Vec<Action> {
        let event = self.share_of(name);
        self.send(event).expect("the share is accepted")
    }

    /// Every signer that still owes a share sends it; returns the
    /// signature the ceremony closed with.
    fn sign_all(&mut self) -> Signature {
        let owing: Vec<ParticipantId> = self
            .round()
            .signers()
            .iter()
            .filter(|s| self.ceremony.package_for(s).is_some())
            .cloned()
            .collect();
        let (last, others) = owing.split_last().expect("a share is owed");
        for s in others {
            assert_eq!(self.submit(s.as_str()), vec![], "share of {s}");
        }
        let actions = self.submit(last.as_str());
        let [Action::Close(Outcome::Signed { signature, .. })] = actions.as_slice() else {
            panic!("the last share should close the ceremony as signed: {actions:?}");
        };
        assert_eq!(self.ceremony.state(), State::Signed);
        assert!(self.ceremony.is_finished());
        assert_eq!(self.ceremony.signature(), Some(signature));
        *signature
    }
}

fn assert_verifies(group: &KeyGroup, message: &[u8], signature: &Signature) {
    let key = ed25519_dalek::VerifyingKey::from_bytes(&group.group_key()).expect("an Ed25519 key");
    let bytes = signature.serialize().expect("signature bytes");
    let sig = ed25519_dalek::Signature::from_slice(&bytes).expect("an Ed25519 signature");
    key.verify_strict(message, &sig)
        .expect("verify_strict accepts the signature");
    assert!(key.verify_strict(b"another message", &sig).is_err());
}

fn ids(names: &[&str]) -> Vec<ParticipantId> {
    names.iter().map(|n| pid(n)).collect()
}

fn commitment_set(round: &Round) -> BTreeSet<Vec<u8>> {
    round
        .package()
        .signing_commitments()
        .values()
        .map(|c| c.serialize().expect("commitments serialize"))
        .collect()
}

// === the happy path ===

#[test]
fn three_of_five_happy_path_signs() {
    let mut h = Harness::new();
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    assert_eq!(h.ceremony.message_sha256(), Sha256Digest::of(MESSAGE));

    assert_eq!(h.approve("alice"), vec![]);
    assert_eq!(h.approve("bob"), vec![]);
    assert_eq!(h.ceremony.phase(), &Phase::ExpectApprovals);
    assert!(h.ceremony.package_for(&pid("alice")).is_none());

    let actions = h.approve("carol");
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: ids(&["alice", "bob", "carol"]),
        }]
    );
    assert_eq!(h.ceremony.state(), State::Signing);
    assert_eq!(h.ceremony.attempts(), 1);
    assert_eq!(h.ceremony.approvals().len(), 3);

    let round = h
        .ceremony
        .package_for(&pid("alice"))
        .expect("alice owes a share");
    assert_eq!(round.attempt(), 1);
    assert_eq!(round.signers(), ids(&["alice", "bob", "carol"]).as_slice());
    assert_eq!(round.package().message(), MESSAGE);
    let in_package: BTreeSet<_> = round
        .package()
        .signing_commitments()
        .keys()
        .copied()
        .collect();
    let expected: BTreeSet<_> = ["alice", "bob", "carol"]
        .iter()
        .map(|n| pid(n).identifier())
        .collect();
    assert_eq!(in_package, expected);
    assert!(h.ceremony.package_for(&pid("dave")).is_none());

    assert_eq!(h.submit("alice"), vec![]);
    assert!(
        h.ceremony.package_for(&pid("alice")).is_none(),
        "alice no longer owes a share"
    );
    assert!(h.ceremony.package_for(&pid("bob")).is_some());

    let signature = h.sign_all();
    assert_verifies(&h.group, MESSAGE, &signature);
    // frost's own verification agrees.
    h.group
        .public_key_package
        .verifying_key()
        .verify(MESSAGE, &signature)
        .expect("frost verifies the signature");
}

// === refused events change nothing ===

#[test]
fn refuses_unknown_participant() {
    let mut h = Harness::new();
    h.approve("alice");
    // mallory signs properly, with an identity key of her own that the
    // roster does not list.
    let mallory = pid("mallory");
    let mallorys_key = IdentityKey::generate(mallory.clone(), &mut rand_core::OsRng);
    let commitments = h.agent("bob").commit();
    let err = h.refused(Event::Approved {
        statement: support::statement(&mallory, &h.ceremony, Decision::Approve).sign(&mallorys_key),
        commitments,
    });
    assert!(
        matches!(&err, CeremonyError::UnknownParticipant { participant, key_group }
            if *participant == mallory && key_group == "release-signing"),
        "{err:?}"
    );
    let err = h.refused(Event::Rejected {
        statement: support::statement(&mallory, &h.ceremony, reject("no")).sign(&mallorys_key),
    });
    assert!(
        matches!(err, CeremonyError::UnknownParticipant { .. }),
        "{err:?}"
    );
    let err = h.refused(Event::Committed {
        participant: mallory,
        commitments,
    });
    assert!(matches!(err, CeremonyError::NotApproved { .. }), "{err:?}");
}

#[test]
fn refuses_duplicate_approval() {
    let mut h = Harness::new();
    h.approve("alice");
    let again = h.approval("alice");
    let err = h.refused(again);
    assert_eq!(
        err,
        CeremonyError::AlreadyDecided {
            participant: pid("alice"),
            decision: "approved",
        }
    );
    // Nor can an approver change its mind.
    let err = h.refused(h.rejection("alice", "changed my mind"));
    assert!(
        matches!(
            err,
            CeremonyError::AlreadyDecided {
                decision: "approved",
                ..
            }
        ),
        "{err:?}"
    );

    h.reject("bob");
    let late = h.approval("bob");
    let err = h.refused(late);
    assert!(
        matches!(
            err,
            CeremonyError::AlreadyDecided {
                decision: "rejected",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(h.ceremony.approvals().len(), 1);
}

#[test]
fn refuses_approval_of_another_message() {
    let mut h = Harness::new();
    // alice's agent signs, with her own key, an approval of another digest.
    let other = Sha256Digest::of(b"a different manifest");
    let mut statement = h.statement("alice", Decision::Approve);
    statement.message_sha256 = other;
    let statement = h.signed_by("alice", statement);
    let approval = h.approved_with("alice", statement);
    let err = h.refused(approval);
    assert_eq!(
        err,
        CeremonyError::MessageMismatch {
            participant: pid("alice"),
            expected: Sha256Digest::of(MESSAGE).to_string(),
            got: other.to_string(),
        }
    );
    let mut statement = h.statement("bob", reject("looked at the wrong thing"));
    statement.message_sha256 = other;
    let err = h.refused(Event::Rejected {
        statement: h.signed_by("bob", statement),
    });
    assert!(
        matches!(err, CeremonyError::MessageMismatch { .. }),
        "{err:?}"
    );
    assert!(h.ceremony.approvals().is_empty());
    assert!(h.ceremony.rejections().is_empty());
}

#[test]
fn refuses_share_from_non_signer() {
    let mut h = Harness::new();
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    // dave approves after the package went out: he is not in attempt 1.
    assert_eq!(h.approve("dave"), vec![]);
    assert!(h.ceremony.package_for(&pid("dave")).is_none());

    let Event::ShareSubmitted { share, .. } = h.share_of("alice") else {
        unreachable!()
    };
    for who in ["dave", "erin", "mallory"] {
        let err = h.refused(Event::ShareSubmitted {
            participant: pid(who),
            attempt: 1,
            share,
        });
        assert_eq!(
            err,
            CeremonyError::NotInSigningSet {
                participant: pid(who),
                attempt: 1,
            }
        );
    }
    assert!(h.ceremony.dropped().is_empty());
}

#[test]
fn refuses_share_for_stale_attempt() {
    let mut h = Harness::new();
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    let alice_1 = h.share_of("alice");
    let Event::ShareSubmitted { share, .. } = alice_1.clone() else {
        unreachable!()
    };
    // A share for an attempt that does not exist yet.
    let err = h.refused(Event::ShareSubmitted {
        participant: pid("alice"),
        attempt: 2,
        share,
    });
    assert_eq!(err, CeremonyError::StaleAttempt { got: 2, current: 1 });

    // bob lost his nonces: attempt 1 is abandoned and attempt 2 formed.
    h.agent("bob").nonces = None;
    h.commit("bob");
    h.commit("alice");
    let actions = h.commit("carol");
    assert!(
        matches!(
            actions.as_slice(),
            [Action::SendSigningPackage { attempt: 2, .. }]
        ),
        "{actions:?}"
    );

    // alice's share of attempt 1 arrives late.
    let err = h.refused(alice_1);
    assert_eq!(err, CeremonyError::StaleAttempt { got: 1, current: 2 });
    let signature = h.sign_all();
    assert_verifies(&h.group, MESSAGE, &signature);
}

#[test]
fn refuses_duplicate_share() {
    let mut h = Harness::new();
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    let share = h.share_of("alice");
    assert_eq!(
        h.send(share.clone()).expect("the first share is accepted"),
        vec![]
    );
    let err = h.refused(share);
    assert_eq!(
        err,
        CeremonyError::DuplicateShare {
            participant: pid("alice"),
            attempt: 1,
        }
    );
}

#[test]
fn refuses_share_without_package() {
    let mut h = Harness::new();
    h.approve("alice");
    h.approve("bob");
    // A real share, from another ceremony where a package is out.
    let mut other = Harness::new();
    for name in ["alice", "bob", "carol"] {
        other.approve(name);
    }
    let Event::ShareSubmitted { share, .. } = other.share_of("alice") else {
        unreachable!()
    };
    let err = h.refused(Event::ShareSubmitted {
        participant: pid("alice"),
        attempt: 1,
        share,
    });
    assert_eq!(
        err,
        CeremonyError::NoSigningPackage {
            state: State::CollectingApprovals,
        }
    );
}

#[test]
fn refuses_input_after_the_ceremony_finished() {
    let mut h = Harness::new();
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    let share_after = {
        h.sign_all();
        Event::ShareSubmitted {
            participant: pid("alice"),
            attempt: 1,
            share: match &h.log[3].0 {
                Event::ShareSubmitted { share, .. } => *share,
                other => panic!("expected a share, got {other:?}"),
            },
        }
    };
    let finished = CeremonyError::Finished {
        state: State::Signed,
    };
    let late = h.approval("dave");
    assert_eq!(h.refused(late), finished);
    let late = h.rejection("erin", "too late");
    assert_eq!(h.refused(late), finished);
    let commitments = h.agent("alice").commit();
    assert_eq!(
        h.refused(Event::Committed {
            participant: pid("alice"),
            commitments,
        }),
        finished
    );
    assert_eq!(h.refused(share_after), finished);
    assert_eq!(
        h.refused(Event::Cancelled {
            by: "release-manager".into(),
            reason: "oops".into(),
        }),
        finished
    );

    // The same for a cancelled ceremony.
    let mut h = Harness::new();
    h.approve("alice");
    let actions = h
        .send(Event::Cancelled {
            by: "release-manager".into(),
            reason: "wrong tarball".into(),
        })
        .expect("cancel is accepted");
    assert_eq!(
        actions,
        vec![Action::Close(Outcome::Cancelled {
            by: "release-manager".into(),
            reason: "wrong tarball".into(),
        })]
    );
    let late = h.approval("bob");
    assert_eq!(
        h.refused(late),
        CeremonyError::Finished {
            state: State::Cancelled,
        }
    );
}

#[test]
fn new_refuses_empty_and_oversize_messages() {
    let (group, _) = key_group();
    let err = Ceremony::new(request(b""), group.clone()).expect_err("empty message");
    assert!(matches!(err, CeremonyError::InvalidRequest(_)), "{err:?}");

    let oversize = vec![b'x'; MAX_MESSAGE_BYTES + 1];
    let err = Ceremony::new(request(&oversize), group.clone()).expect_err("oversize message");
    assert!(
        matches!(&err, CeremonyError::InvalidRequest(why) if why.contains("SHA256SUMS")),
        "{err:?}"
    );

    let largest = vec![b'x'; MAX_MESSAGE_BYTES];
    let ceremony = Ceremony::new(request(&largest), group.clone()).expect("the largest message");
    assert_eq!(ceremony.message_sha256(), Sha256Digest::of(&largest));

    let mut elsewhere = request(MESSAGE);
    elsewhere.key_group = KeyGroupName::new("other-group").expect("a valid name");
    let err = Ceremony::new(elsewhere, group).expect_err("wrong key group");
    assert!(matches!(err, CeremonyError::InvalidRequest(_)), "{err:?}");
}

// === signed statements ===

/// `err` is a [`CeremonyError::BadStatement`] of `name` whose reason
/// contains `why`.
#[track_caller]
fn assert_bad_statement(err: &CeremonyError, name: &str, why: &str) {
    assert!(
        matches!(err, CeremonyError::BadStatement { participant, why: w }
            if *participant == pid(name) && w.contains(why)),
        "expected a bad statement of {name} ({why}), got {err:?}"
    );
}

/// The signed statements the accepted approvals and rejections carried.
fn logged_statements(h: &Harness) -> Vec<SignedStatement> {
    h.log
        .iter()
        .filter_map(|(event, _)| match event {
            Event::Approved { statement, .. } | Event::Rejected { statement } => {
                Some(statement.clone())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn the_ceremony_keeps_the_accepted_statements() {
    let mut h = Harness::new();
    assert!(h.ceremony.statements().is_empty());
    assert_eq!(h.ceremony.approval_of(&pid("alice")), None);

    h.approve("alice");
    h.reject("bob");
    h.approve("carol");
    // A refused statement is not kept (alice's approval delivered twice;
    // her agent keeps its nonces).
    let again = h.log[0].0.clone();
    h.refused(again);

    let kept = logged_statements(&h);
    assert_eq!(h.ceremony.statements(), kept.as_slice());
    let decisions: Vec<_> = kept
        .iter()
        .map(|s| (s.statement.participant.as_str(), &s.statement.decision))
        .collect();
    assert_eq!(
        decisions,
        [
            ("alice", &Decision::Approve),
            ("bob", &reject("bob does not recognise the artifacts")),
            ("carol", &Decision::Approve),
        ]
    );
    // The rejection's reason is the one bob signed.
    assert_eq!(
        h.ceremony.rejections()[0].1,
        "bob does not recognise the artifacts"
    );
    for signed in h.ceremony.statements() {
        let entry = h
            .group
            .roster
            .get(&signed.statement.participant)
            .expect("in the roster");
        let identity = entry.identity.expect("an identity key");
        assert!(signed.verify(&identity), "{signed:?}");
        assert_eq!(signed.statement.ceremony, *h.ceremony.id());
        assert_eq!(signed.statement.message_sha256, h.ceremony.message_sha256());
    }

    assert_eq!(h.ceremony.approval_of(&pid("alice")), Some(&kept[0]));
    assert_eq!(h.ceremony.approval_of(&pid("carol")), Some(&kept[2]));
    assert_eq!(h.ceremony.approval_of(&pid("bob")), None, "bob rejected");
    assert_eq!(h.ceremony.approval_of(&pid("dave")), None);
    assert_eq!(h.ceremony.approval_of(&pid("mallory")), None);

    // The approvals stay with the signed ceremony.
    h.approve("dave");
    h.sign_all();
    assert_eq!(h.ceremony.statements(), logged_statements(&h).as_slice());
    assert_eq!(h.ceremony.statements().len(), 4);
    assert_eq!(h.ceremony.approval_of(&pid("alice")), Some(&kept[0]));
    assert!(h.ceremony.approval_of(&pid("dave")).is_some());
}

#[test]
fn refuses_a_statement_signed_with_another_participants_key() {
    let mut h = Harness::new();
    h.approve("bob");

    // bob's key signs a statement that says it is alice's.
    let forged = h.signed_by("bob", h.statement("alice", Decision::Approve));
    let approval = h.approved_with("alice", forged);
    let err = h.refused(approval);
    assert_bad_statement(&err, "alice", "does not verify with alice's identity key");

    let forged = h.signed_by("bob", h.statement("alice", reject("forged")));
    let err = h.refused(Event::Rejected { statement: forged });
    assert_bad_statement(&err, "alice", "does not verify");

    // Nor can a forged statement take the place of one already made: the
    // signature is checked before anything else about it.
    let forged = h.signed_by("alice", h.statement("bob", reject("forged")));
    let err = h.refused(Event::Rejected { statement: forged });
    assert_bad_statement(&err, "bob", "does not verify");

    // alice's own statement is still accepted.
    assert_eq!(h.approve("alice"), vec![]);
    assert_eq!(h.ceremony.approvals().len(), 2);
}

#[test]
fn refuses_a_statement_altered_after_signing() {
    let mut h = Harness::new();
    let signed = h.decide("alice", Decision::Approve);
    type Alteration = (&'static str, fn(&mut Statement));
    let alterations: [Alteration; 6] = [
        // Refused as a bad signature, not as a message mismatch.
        ("message digest", |s| {
            s.message_sha256 = Sha256Digest::of(b"a different manifest");
        }),
        ("ceremony", |s| {
            s.ceremony = CeremonyId::new("release-0.9.9").expect("a valid ceremony id");
        }),
        ("key group", |s| {
            s.key_group = KeyGroupName::new("other-group").expect("a valid name");
        }),
        ("break-glass flag", |s| s.break_glass = true),
        ("decision time", |s| s.at_unix_ms += 1),
        ("decision", |s| {
            s.decision = reject("not what alice said");
        }),
    ];
    for (what, alter) in alterations {
        let mut altered = signed.clone();
        alter(&mut altered.statement);
        assert_ne!(altered, signed, "{what}");
        let event = if matches!(altered.statement.decision, Decision::Approve) {
            h.approved_with("alice", altered)
        } else {
            Event::Rejected { statement: altered }
        };
        let err = h.refused(event);
        assert_bad_statement(&err, "alice", "does not verify");
    }

    // alice's statement passed off as bob's.
    let mut altered = signed.clone();
    altered.statement.participant = pid("bob");
    let approval = h.approved_with("bob", altered);
    let err = h.refused(approval);
    assert_bad_statement(&err, "bob", "does not verify with bob's identity key");

    // The statement as alice signed it is accepted.
    let approval = h.approved_with("alice", signed.clone());
    assert_eq!(h.send(approval).expect("the approval is accepted"), vec![]);
    assert_eq!(h.ceremony.statements(), [signed]);
}

#[test]
fn refuses_a_statement_about_another_ceremony() {
    let mut h = Harness::new();
    // alice really approved another ceremony of the same key group, over
    // the same message; her statement is carried into this one.
    let mut elsewhere = request(MESSAGE);
    elsewhere.id = CeremonyId::new("release-0.9.9").expect("a valid ceremony id");
    let elsewhere = Ceremony::new(elsewhere, h.group.clone()).expect("a valid request");
    let statement = h.agents[&pid("alice")].decide(&elsewhere, Decision::Approve);
    let approval = h.approved_with("alice", statement);
    let err = h.refused(approval);
    assert_bad_statement(
        &err,
        "alice",
        "it is about ceremony release-0.9.9, not release-1.0.0",
    );

    let statement = h.agents[&pid("bob")].decide(&elsewhere, reject("not this one"));
    let err = h.refused(Event::Rejected { statement });
    assert_bad_statement(&err, "bob", "about ceremony release-0.9.9");

    assert!(h.ceremony.statements().is_empty());
    assert_eq!(h.approve("alice"), vec![]);
}

#[test]
fn refuses_a_statement_for_another_key_group() {
    let mut h = Harness::new();
    let mut statement = h.statement("alice", Decision::Approve);
    statement.key_group = KeyGroupName::new("other-group").expect("a valid name");
    let statement = h.signed_by("alice", statement);
    let approval = h.approved_with("alice", statement);
    let err = h.refused(approval);
    assert_bad_statement(
        &err,
        "alice",
        "it names key group other-group, not release-signing",
    );

    let mut statement = h.statement("bob", reject("wrong group"));
    statement.key_group = KeyGroupName::new("other-group").expect("a valid name");
    let err = h.refused(Event::Rejected {
        statement: h.signed_by("bob", statement),
    });
    assert_bad_statement(&err, "bob", "key group other-group");
    assert!(h.ceremony.statements().is_empty());
}

#[test]
fn refuses_a_decision_the_event_does_not_claim() {
    let mut h = Harness::new();
    // alice's signed rejection, carried as an approval.
    let statement = h.decide("alice", reject("the tarball is not from CI"));
    let approval = h.approved_with("alice", statement);
    let err = h.refused(approval);
    assert_bad_statement(&err, "alice", "it does not approve the ceremony");

    // bob's signed approval, carried as a rejection.
    let err = h.refused(Event::Rejected {
        statement: h.decide("bob", Decision::Approve),
    });
    assert_bad_statement(&err, "bob", "it does not reject the ceremony");

    // Neither counts as a decision: both may still decide.
    assert_eq!(h.ceremony.decision_of(&pid("alice")), None);
    assert_eq!(h.ceremony.decision_of(&pid("bob")), None);
    h.reject("alice");
    h.approve("bob");
    assert_eq!(h.ceremony.decision_of(&pid("alice")), Some("rejected"));
    assert_eq!(h.ceremony.decision_of(&pid("bob")), Some("approved"));
}

/// The break-glass ceremony's side (a statement that does not acknowledge
/// break-glass) is in the policy tests, which set up break-glass.
#[test]
fn refuses_a_break_glass_statement_in_a_normal_ceremony() {
    let mut h = Harness::new();
    assert!(!h.ceremony.is_break_glass());
    let mut statement = h.statement("alice", Decision::Approve);
    assert!(!statement.break_glass, "the agent states what it saw");
    statement.break_glass = true;
    let statement = h.signed_by("alice", statement);
    let approval = h.approved_with("alice", statement);
    let err = h.refused(approval);
    assert_bad_statement(
        &err,
        "alice",
        "it claims a break-glass ceremony, but this one is not",
    );

    let mut statement = h.statement("bob", reject("no emergency"));
    statement.break_glass = true;
    let err = h.refused(Event::Rejected {
        statement: h.signed_by("bob", statement),
    });
    assert_bad_statement(&err, "bob", "claims a break-glass ceremony");
    assert!(h.ceremony.statements().is_empty());
}

#[test]
fn refuses_a_statement_when_the_roster_lists_no_identity_key() {
    let (group, agents) = key_group();
    let mut group = (*group).clone();
    group
        .roster
        .participants
        .iter_mut()
        .find(|p| p.id == pid("carol"))
        .expect("carol is in the roster")
        .identity = None;
    let mut h = Harness::start(Arc::new(group), agents);
    h.approve("alice");

    // carol's statement is properly signed, but nothing says with which key.
    let approval = h.approval("carol");
    let err = h.refused(approval);
    assert_bad_statement(
        &err,
        "carol",
        "the roster of key group release-signing lists no identity key for carol",
    );
    let rejection = h.rejection("carol", "cannot be checked");
    let err = h.refused(rejection);
    assert_bad_statement(&err, "carol", "lists no identity key");

    // The others still approve and sign without her.
    h.approve("bob");
    let actions = h.approve("dave");
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: ids(&["alice", "bob", "dave"]),
        }]
    );
    let signature = h.sign_all();
    assert_verifies(&h.group, MESSAGE, &signature);
}

// === invalid shares ===

#[test]
fn share_over_another_message_drops_signer_and_next_attempt_excludes_it() {
    let mut h = Harness::new();
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    assert_eq!(h.approve("dave"), vec![]);
    let attempt_1 = h.round().clone();
    assert_eq!(h.submit("alice"), vec![]);

    // bob signs the same commitments over another message.
    let forged = SigningPackage::new(
        attempt_1.package().signing_commitments().clone(),
        b"another message",
    );
    let share = h.agent("bob").sign(&forged);
    let actions = h
        .send(Event::ShareSubmitted {
            participant: pid("bob"),
            attempt: 1,
            share,
        })
        .expect("an invalid share is an accepted event");
    let [
        Action::DropSigner {
            participant,
            reason,
        },
        Action::AbandonAttempt { attempt: 1, .. },
        Action::RequestCommitments { from },
    ] = actions.as_slice()
    else {
        panic!("unexpected actions {actions:?}");
    };
    assert_eq!(participant, &pid("bob"));
    assert_eq!(reason, &DropReason::InvalidShare { attempt: 1 });
    // dave's approval commitments are unused; alice and carol used theirs.
    assert_eq!(from, &ids(&["alice", "carol"]));
    assert!(h.ceremony.dropped().contains_key(&pid("bob")));
    assert_eq!(h.ceremony.state(), State::CollectingCommitments);
    assert!(h.ceremony.wants_commitments_from(&pid("alice")));
    assert!(h.ceremony.wants_commitments_from(&pid("carol")));
    assert!(!h.ceremony.wants_commitments_from(&pid("bob")));
    assert!(!h.ceremony.wants_commitments_from(&pid("dave")));
    assert!(!h.ceremony.wants_commitments_from(&pid("erin")));

    // A dropped signer's commitments are refused.
    let commitments = h.agent("bob").commit();
    let err = h.refused(Event::Committed {
        participant: pid("bob"),
        commitments,
    });
    assert!(
        matches!(err, CeremonyError::ParticipantDropped { .. }),
        "{err:?}"
    );

    assert_eq!(
        h.commit("alice"),
        vec![Action::RequestCommitments {
            from: ids(&["carol"]),
        }]
    );
    let actions = h.commit("carol");
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 2,
            signers: ids(&["alice", "carol", "dave"]),
        }]
    );
    let attempt_2 = h.round().clone();
    assert!(!attempt_2.is_signer(&pid("bob")));
    assert!(
        commitment_set(&attempt_1).is_disjoint(&commitment_set(&attempt_2)),
        "attempt 2 reuses commitments of attempt 1"
    );
    assert!(h.ceremony.package_for(&pid("bob")).is_none());

    let signature = h.sign_all();
    assert_eq!(h.ceremony.attempts(), 2);
    assert_verifies(&h.group, MESSAGE, &signature);
}

#[test]
fn share_copied_from_another_signer_drops_the_sender() {
    let mut h = Harness::new();
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    let attempt_1 = h.round().clone();
    let Event::ShareSubmitted { share, .. } = h.share_of("alice") else {
        unreachable!()
    };
    // carol passes off alice's share as hers.
    let actions = h
        .send(Event::ShareSubmitted {
            participant: pid("carol"),
            attempt: 1,
            share,
        })
        .expect("an invalid share is an accepted event");
    assert!(
        matches!(actions.as_slice(), [
            Action::DropSigner { participant, .. },
            Action::AbandonAttempt { attempt: 1, .. },
        ] if *participant == pid("carol")),
        "{actions:?}"
    );
    assert!(h.ceremony.dropped().contains_key(&pid("carol")));
    // Two usable approvals are left: a new approver is needed.
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    assert!(h.ceremony.wants_commitments_from(&pid("alice")));
    assert!(h.ceremony.wants_commitments_from(&pid("bob")));
    assert!(!h.ceremony.wants_commitments_from(&pid("carol")));

    assert_eq!(
        h.approve("dave"),
        vec![Action::RequestCommitments {
            from: ids(&["alice", "bob"]),
        }]
    );
    h.commit("alice");
    let actions = h.commit("bob");
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 2,
            signers: ids(&["alice", "bob", "dave"]),
        }]
    );
    let attempt_2 = h.round().clone();
    assert!(commitment_set(&attempt_1).is_disjoint(&commitment_set(&attempt_2)));
    // erin approving now changes nothing about attempt 2.
    assert_eq!(h.approve("erin"), vec![]);

    let signature = h.sign_all();
    assert_verifies(&h.group, MESSAGE, &signature);
}

#[test]
fn dropping_a_signer_when_too_few_are_left_closes_the_ceremony() {
    let mut h = Harness::new();
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    h.reject("dave");
    h.reject("erin");
    let Event::ShareSubmitted { share, .. } = h.share_of("alice") else {
        unreachable!()
    };
    let actions = h
        .send(Event::ShareSubmitted {
            participant: pid("bob"),
            attempt: 1,
            share,
        })
        .expect("an invalid share is an accepted event");
    assert!(
        matches!(
            actions.last(),
            Some(Action::Close(Outcome::Rejected { .. }))
        ),
        "{actions:?}"
    );
    assert_eq!(h.ceremony.state(), State::Rejected);
}

// === lost nonces ===

#[test]
fn fresh_commitments_from_an_owing_signer_abandon_the_attempt() {
    let mut h = Harness::new();
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    let attempt_1 = h.round().clone();
    assert_eq!(h.submit("alice"), vec![]);

    // bob's agent restarted: its nonces are gone and it commits afresh.
    h.agent("bob").nonces = None;
    let actions = h.commit("bob");
    let [
        Action::AbandonAttempt { attempt: 1, .. },
        Action::RequestCommitments { from },
    ] = actions.as_slice()
    else {
        panic!("unexpected actions {actions:?}");
    };
    assert_eq!(from, &ids(&["alice", "carol"]));
    assert_eq!(h.ceremony.state(), State::CollectingCommitments);
    assert!(
        h.ceremony.dropped().is_empty(),
        "losing nonces is no offence"
    );
    for name in ["alice", "bob", "carol"] {
        assert!(h.ceremony.package_for(&pid(name)).is_none());
    }
    assert!(h.ceremony.wants_commitments_from(&pid("alice")));
    assert!(h.ceremony.wants_commitments_from(&pid("carol")));
    assert!(!h.ceremony.wants_commitments_from(&pid("bob")));

    // Re-sending the commitments it just sent is refused.
    let Some(Event::Committed { commitments, .. }) = h.log.last().map(|(e, _)| e.clone()) else {
        panic!("the last event is bob's commitments");
    };
    let err = h.refused(Event::Committed {
        participant: pid("bob"),
        commitments,
    });
    assert_eq!(
        err,
        CeremonyError::DuplicateCommitments {
            participant: pid("bob"),
        }
    );

    assert_eq!(
        h.commit("carol"),
        vec![Action::RequestCommitments {
            from: ids(&["alice"]),
        }]
    );
    let actions = h.commit("alice");
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 2,
            signers: ids(&["alice", "bob", "carol"]),
        }]
    );
    let attempt_2 = h.round().clone();
    assert!(commitment_set(&attempt_1).is_disjoint(&commitment_set(&attempt_2)));

    let signature = h.sign_all();
    assert_eq!(h.ceremony.attempts(), 2);
    assert_verifies(&h.group, MESSAGE, &signature);
}

#[test]
fn commitments_after_sending_a_share_do_not_abandon_the_attempt() {
    let mut h = Harness::new();
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    h.submit("alice");
    // alice already signed: new commitments are for later, not a lost nonce.
    assert_eq!(h.commit("alice"), vec![]);
    assert_eq!(h.ceremony.state(), State::Signing);
    let signature = h.sign_all();
    assert_eq!(h.ceremony.attempts(), 1);
    assert_verifies(&h.group, MESSAGE, &signature);
}

/// No commitment is ever in two packages (round.rs says so): an agent that
/// re-sends (e.g. a retried RPC) the commitments already used in attempt 1
/// must not get them into attempt 2.
#[test]
fn commitments_of_an_attempt_are_never_reused_in_the_next() {
    let mut h = Harness::new();
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    let attempt_1 = h.round().clone();
    let bobs_used = attempt_1
        .package()
        .signing_commitment(&pid("bob").identifier())
        .expect("bob is in attempt 1");

    let before = h.ceremony.clone();
    match h.send(Event::Committed {
        participant: pid("bob"),
        commitments: bobs_used,
    }) {
        // Refusing it is fine (and then nothing may have changed).
        Err(_) => assert_eq!(h.ceremony, before),
        // Accepting it must not put them into another package.
        Ok(_) => {
            h.commit("alice");
            h.commit("carol");
            if let Phase::ExpectShares(attempt_2) = h.ceremony.phase() {
                assert_ne!(attempt_2.attempt(), 1);
                assert!(
                    commitment_set(&attempt_1).is_disjoint(&commitment_set(attempt_2)),
                    "attempt {} reuses bob's commitments of attempt 1",
                    attempt_2.attempt()
                );
            }
        }
    }
}

// === rejections ===

#[test]
fn three_rejections_of_five_reject_two_do_not() {
    let mut h = Harness::new();
    assert_eq!(h.reject("alice"), vec![]);
    assert_eq!(h.reject("bob"), vec![]);
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    assert!(!h.ceremony.is_finished());
    assert_eq!(h.ceremony.decision_of(&pid("bob")), Some("rejected"));

    let actions = h.reject("carol");
    let [Action::Close(Outcome::Rejected { reason })] = actions.as_slice() else {
        panic!("unexpected actions {actions:?}");
    };
    let RejectionReason::QuorumImpossible { rejected_by, .. } = reason else {
        panic!("unexpected reason {reason:?}");
    };
    assert_eq!(rejected_by, &ids(&["alice", "bob", "carol"]));
    let text = reason.to_string();
    assert!(text.contains("alice") && text.contains("carol"), "{text}");
    assert_eq!(h.ceremony.state(), State::Rejected);
    assert!(h.ceremony.is_finished());
    assert!(h.ceremony.signature().is_none());
}

#[test]
fn two_rejections_still_let_three_approvers_sign() {
    let mut h = Harness::new();
    h.reject("alice");
    h.approve("bob");
    h.reject("carol");
    h.approve("dave");
    let actions = h.approve("erin");
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: ids(&["bob", "dave", "erin"]),
        }]
    );
    let signature = h.sign_all();
    assert_verifies(&h.group, MESSAGE, &signature);
}

// === replay and storage ===

/// A ceremony with every kind of event: a rejection, a dropped signer, lost
/// nonces, two attempts, and refused events (which are not recorded).
fn eventful() -> Harness {
    let mut h = Harness::new();
    h.reject("erin");
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    // alice's approval delivered twice (her agent keeps its nonces).
    let again = h.log[1].0.clone();
    h.refused(again);
    h.approve("dave");
    h.submit("alice");
    let Event::ShareSubmitted { share, .. } = h.share_of("carol") else {
        unreachable!()
    };
    // bob passes off carol's share: dropped, attempt 1 abandoned.
    h.send(Event::ShareSubmitted {
        participant: pid("bob"),
        attempt: 1,
        share,
    })
    .expect("accepted");
    h.commit("alice");
    h.commit("carol");
    assert_eq!(h.round().attempt(), 2);
    h.sign_all();
    h
}

#[test]
fn replay_rebuilds_the_live_ceremony() {
    let h = eventful();
    let replayed = Ceremony::replay(
        request(MESSAGE),
        h.group.clone(),
        h.log.iter().map(|(e, t)| (e, *t)),
    )
    .expect("the log replays");
    assert_eq!(replayed, h.ceremony);
    assert_eq!(replayed.state(), State::Signed);

    // Every prefix replays to the state the live ceremony had then.
    let mut live = Ceremony::new(request(MESSAGE), h.group.clone()).expect("a valid request");
    for (n, (event, at)) in h.log.iter().enumerate() {
        live.handle(event, *at).expect("the logged event applies");
        let prefix = Ceremony::replay(
            request(MESSAGE),
            h.group.clone(),
            h.log[..=n].iter().map(|(e, t)| (e, *t)),
        )
        .expect("a prefix replays");
        assert_eq!(prefix, live, "after event {n}");
    }
}

#[test]
fn replay_names_the_first_bad_event() {
    let h = eventful();
    let replay = |events: &[(Event, Timestamp)]| {
        Ceremony::replay(
            request(MESSAGE),
            h.group.clone(),
            events.iter().map(|(e, t)| (e, *t)),
        )
    };
    // Events are numbered from 1; 0 is the request itself.
    let first_share = h
        .log
        .iter()
        .position(|(e, _)| matches!(e, Event::ShareSubmitted { .. }))
        .expect("a share in the log");

    // An event recorded twice.
    let mut doubled = h.log.clone();
    doubled.insert(2, h.log[1].clone());
    let (index, err) = replay(&doubled).expect_err("a doubled approval");
    assert_eq!(index, 3);
    assert!(
        matches!(err, CeremonyError::AlreadyDecided { .. }),
        "{err:?}"
    );

    // A digest changed by whoever keeps the record: the approver's
    // signature no longer verifies.
    let mut tampered = h.log.clone();
    let Event::Approved { statement, .. } = &mut tampered[2].0 else {
        panic!("event 2 is an approval: {:?}", tampered[2].0);
    };
    statement.statement.message_sha256 = Sha256Digest::of(b"something else");
    let approver = statement.statement.participant.clone();
    let (index, err) = replay(&tampered).expect_err("a changed digest");
    assert_eq!(index, 3);
    assert!(
        matches!(&err, CeremonyError::BadStatement { participant, .. } if *participant == approver),
        "{err:?}"
    );

    // The approver itself signed an approval of another digest.
    let Event::Approved { statement, .. } = &mut tampered[2].0 else {
        unreachable!()
    };
    *statement = h.agents[&approver].sign_statement(statement.statement.clone());
    let (index, err) = replay(&tampered).expect_err("an approval of another digest");
    assert_eq!(index, 3);
    assert!(
        matches!(err, CeremonyError::MessageMismatch { .. }),
        "{err:?}"
    );

    // Two approvals removed (carol's and dave's): no package is out when
    // the first share arrives, two events earlier than it was recorded.
    let mut missing = h.log.clone();
    missing.drain(3..5);
    let (index, err) = replay(&missing).expect_err("missing approvals");
    assert_eq!(index, first_share - 2 + 1);
    assert!(
        matches!(err, CeremonyError::NoSigningPackage { .. }),
        "{err:?}"
    );

    // The sender of a share changed.
    let mut moved = h.log.clone();
    if let Event::ShareSubmitted { participant, .. } = &mut moved[first_share].0 {
        *participant = pid("erin");
    }
    let (index, err) = replay(&moved).expect_err("a share from a non-signer");
    assert_eq!(index, first_share + 1);
    assert!(
        matches!(err, CeremonyError::NotInSigningSet { .. }),
        "{err:?}"
    );

    // Events after the end.
    let mut longer = h.log.clone();
    longer.push(h.log[0].clone());
    let (index, err) = replay(&longer).expect_err("an event after the end");
    assert_eq!(index, longer.len());
    assert!(
        matches!(
            err,
            CeremonyError::Finished {
                state: State::Signed
            }
        ),
        "{err:?}"
    );

    // A bad request is index 0.
    let (index, err) = Ceremony::replay(request(b""), h.group.clone(), std::iter::empty())
        .expect_err("an empty message");
    assert_eq!(index, 0);
    assert!(matches!(err, CeremonyError::InvalidRequest(_)), "{err:?}");
}

#[test]
fn events_round_trip_through_json() {
    let mut h = eventful();
    // Add the kinds eventful() lacks.
    let mut c = Harness::new();
    c.send(Event::Cancelled {
        by: "release-manager".into(),
        reason: "superseded by 1.0.1".into(),
    })
    .expect("cancel");
    h.log.extend(c.log);

    let mut kinds = BTreeSet::new();
    for (event, _) in &h.log {
        let json = serde_json::to_string(event).expect("an event serializes");
        let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        kinds.insert(value["type"].as_str().expect("a type tag").to_owned());
        let back: Event = serde_json::from_str(&json).expect("an event deserializes");
        assert_eq!(&back, event, "{json}");
        assert_eq!(back.sender(), event.sender());
    }
    assert_eq!(
        kinds,
        [
            "approved",
            "cancelled",
            "committed",
            "rejected",
            "share_submitted"
        ]
        .map(String::from)
        .into()
    );

    // The stored form replays to the same ceremony.
    let h = eventful();
    let stored = serde_json::to_string(&h.log.iter().map(|(e, _)| e).collect::<Vec<_>>())
        .expect("the log serializes");
    let loaded: Vec<Event> = serde_json::from_str(&stored).expect("the log deserializes");
    let replayed = Ceremony::replay(
        request(MESSAGE),
        h.group.clone(),
        loaded.iter().zip(h.log.iter().map(|(_, t)| *t)),
    )
    .expect("the stored log replays");
    assert_eq!(replayed, h.ceremony);

    let json = serde_json::to_string(&request(MESSAGE)).expect("the request serializes");
    let back: Request = serde_json::from_str(&json).expect("the request deserializes");
    assert_eq!(back, request(MESSAGE));
}

// === batches: follow-up messages signed under the same approvals ===

const COMMENT: &[u8] = b"timestamp:1700000000\tfile:quorate-1.0.0.tar.gz\thashed";

fn batch_harness() -> Harness {
    let (group, agents) = key_group();
    let mut request = request(MESSAGE);
    request.follow_ups = vec![FollowUp::SignatureThen {
        suffix: COMMENT.to_vec(),
    }];
    let ceremony = Ceremony::new(request, group.clone()).expect("a valid batch request");
    Harness {
        group,
        agents,
        ceremony,
        log: Vec::new(),
        clock: 1_700_000_000_000,
    }
}

/// The follow-up's signers send their shares: the ceremony closes signed
/// with `first` (message 0's signature, never signed again) and the
/// follow-up's signature over `first` and the comment, which it returns.
fn close_batch(h: &mut Harness, first: Signature) -> Signature {
    let actions = submit_all(h);
    let [
        Action::Close(Outcome::Signed {
            signature,
            follow_ups,
        }),
    ] = actions.as_slice()
    else {
        panic!("the last message's last share should close the ceremony: {actions:?}");
    };
    assert_eq!(*signature, first, "message 0 is not signed again");
    let [second] = follow_ups.as_slice() else {
        panic!("one follow-up signature: {follow_ups:?}");
    };
    let mut message = first.serialize().expect("signature bytes");
    message.extend_from_slice(COMMENT);
    assert_verifies(&h.group, &message, second);
    *second
}

/// Every signer still owing a share sends it; returns the last actions.
fn submit_all(h: &mut Harness) -> Vec<Action> {
    let owing: Vec<ParticipantId> = h
        .round()
        .signers()
        .iter()
        .filter(|s| h.ceremony.package_for(s).is_some())
        .cloned()
        .collect();
    let mut last = Vec::new();
    for s in owing {
        last = h.submit(s.as_str());
    }
    last
}

#[test]
fn a_batch_signs_each_message_in_turn_with_fresh_commitments() {
    let mut h = batch_harness();
    h.approve("alice");
    h.approve("bob");
    let actions = h.approve("carol");
    assert!(matches!(
        actions.as_slice(),
        [Action::SendSigningPackage { attempt: 1, .. }]
    ));
    assert_eq!(h.round().batch_index(), 0);
    assert_eq!(h.round().package().message(), MESSAGE);
    let first_commitments = commitment_set(h.round());

    // The first message's signature does not close the ceremony: the
    // follow-up is signed next, and every signer's nonces were used up.
    let actions = submit_all(&mut h);
    let [
        Action::ContinueBatch {
            signed: 0,
            signature,
        },
        Action::RequestCommitments { from },
    ] = actions.as_slice()
    else {
        panic!("the first message's last share should continue the batch: {actions:?}");
    };
    let first = *signature;
    assert_eq!(from, &ids(&["alice", "bob", "carol"]));
    assert_eq!(h.ceremony.state(), State::CollectingCommitments);
    assert_eq!(h.ceremony.signature(), None);
    assert_eq!(h.ceremony.batch_signatures(), vec![first]);
    assert_verifies(&h.group, MESSAGE, &first);

    // An old share for attempt 1 is refused now.
    let stale = Event::ShareSubmitted {
        participant: pid("alice"),
        attempt: 1,
        share: frost_ed25519::round2::SignatureShare::deserialize(&[1; 32]).expect("a scalar"),
    };
    assert!(matches!(
        h.refused(stale),
        CeremonyError::NoSigningPackage { .. }
    ));

    h.commit("alice");
    h.commit("bob");
    let actions = h.commit("carol");
    assert!(matches!(
        actions.as_slice(),
        [Action::SendSigningPackage { attempt: 2, .. }]
    ));
    assert_eq!(h.round().batch_index(), 1);
    let mut second_message = first.serialize().expect("signature bytes");
    second_message.extend_from_slice(COMMENT);
    assert_eq!(h.round().package().message(), second_message.as_slice());
    assert!(
        commitment_set(h.round()).is_disjoint(&first_commitments),
        "each message gets fresh commitments"
    );

    let second_signature = close_batch(&mut h, first);
    assert_eq!(h.ceremony.signature(), Some(&first));
    assert_eq!(h.ceremony.batch_signatures(), vec![first, second_signature]);
    let key = ed25519_dalek::VerifyingKey::from_bytes(&h.group.group_key()).expect("a key");
    let bytes: Vec<[u8; 64]> = h
        .ceremony
        .batch_signatures()
        .iter()
        .map(|s| s.serialize().expect("bytes").try_into().expect("64 bytes"))
        .collect();
    quorate_types::batch::verify(MESSAGE, &h.ceremony.request().follow_ups, &bytes, &key)
        .expect("the whole batch verifies");

    // Replaying the log rebuilds the same ceremony.
    let replayed = Ceremony::replay(
        h.ceremony.request().clone(),
        h.group.clone(),
        h.log.iter().map(|(e, at)| (e, *at)),
    )
    .expect("the log replays");
    assert_eq!(replayed, h.ceremony);
}

#[test]
fn an_approval_of_another_batch_is_refused() {
    let mut h = batch_harness();
    // Approving the message alone, without the trusted comment.
    let mut statement = h.statement("alice", Decision::Approve);
    statement.follow_ups.clear();
    let signed = h.signed_by("alice", statement);
    let event = h.approved_with("alice", signed);
    assert!(matches!(
        h.refused(event),
        CeremonyError::BadStatement { why, .. } if why.contains("follow-up")
    ));
    // And approving a single-message ceremony as if it were a batch.
    let mut h = Harness::new();
    let mut statement = h.statement("alice", Decision::Approve);
    statement.follow_ups = vec![FollowUp::SignatureThen {
        suffix: COMMENT.to_vec(),
    }];
    let signed = h.signed_by("alice", statement);
    let event = h.approved_with("alice", signed);
    assert!(matches!(
        h.refused(event),
        CeremonyError::BadStatement { .. }
    ));
}

#[test]
fn an_oversized_batch_is_refused_at_the_request() {
    let (group, _) = key_group();
    let mut many = request(MESSAGE);
    many.follow_ups = vec![
        FollowUp::SignatureThen { suffix: Vec::new() };
        quorate_types::batch::MAX_FOLLOW_UPS + 1
    ];
    let err = Ceremony::new(many, group.clone()).expect_err("too many follow-ups");
    assert!(err.to_string().contains("follow_ups"), "{err}");
    let mut long = request(MESSAGE);
    long.follow_ups = vec![FollowUp::SignatureThen {
        suffix: vec![b'a'; quorate_types::batch::MAX_SUFFIX_BYTES + 1],
    }];
    assert!(matches!(
        Ceremony::new(long, group),
        Err(CeremonyError::InvalidRequest(_))
    ));
}

#[test]
fn a_dropped_signer_in_a_follow_up_reforms_that_message_only() {
    let mut h = batch_harness();
    for name in ["alice", "bob", "carol", "dave"] {
        h.approve(name);
    }
    let actions = submit_all(&mut h);
    assert!(matches!(
        actions.as_slice(),
        [Action::ContinueBatch { signed: 0, .. }, ..]
    ));
    let first = h.ceremony.batch_signatures()[0];
    for name in ["alice", "bob", "carol"] {
        h.commit(name);
    }
    // dave's commitments from his approval were never used: the follow-up
    // may go out with them.
    let signers = h.round().signers().to_vec();
    assert_eq!(h.round().batch_index(), 1);
    let attempt = h.round().attempt();
    // The first signer sends a share that does not verify: it is dropped,
    // and the follow-up is re-formed from the others.
    let cheat = signers[0].clone();
    let share = frost_ed25519::round2::SignatureShare::deserialize(&[7; 32]).expect("a scalar");
    let actions = h
        .send(Event::ShareSubmitted {
            participant: cheat.clone(),
            attempt,
            share,
        })
        .expect("recorded");
    assert!(
        matches!(actions.as_slice(), [Action::DropSigner { participant, .. }, ..] if *participant == cheat)
    );
    for name in ["alice", "bob", "carol", "dave"] {
        if pid(name) != cheat && h.ceremony.wants_commitments_from(&pid(name)) {
            h.commit(name);
        }
    }
    assert_eq!(h.round().batch_index(), 1, "still the follow-up");
    assert!(!h.round().is_signer(&cheat));
    close_batch(&mut h, first);
}
