//! The ceremony engine through its public API, with real FROST keys and real
//! round 1 / round 2 done here the way the agents do them.
//!
//! One test binary; each section of tests is a module of it.

mod batches;
mod happy_path;
mod invalid_shares;
mod lost_nonces;
mod refusals;
mod rejections;
mod replay;
mod statements;

#[path = "../support/mod.rs"]
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
        rules: 1,
        follow_ups: Vec::new(),
        signed: None,
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
