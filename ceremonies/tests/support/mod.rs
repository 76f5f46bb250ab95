//! Test doubles shared by the engine's test files: an agent that runs the
//! real FROST rounds with its key package and signs its decisions with its
//! identity key, and the trusted dealer that sets a key group up.

#![allow(dead_code)]

pub mod frozen;
pub mod scenarios;
pub mod transcript;

use std::collections::BTreeMap;

use frost_ed25519::SigningPackage;
use frost_ed25519::keys::{IdentifierList, KeyPackage, PublicKeyPackage};
use frost_ed25519::round1::{SigningCommitments, SigningNonces};
use frost_ed25519::round2::SignatureShare;
use quorate_ceremonies::Ceremony;
use quorate_secrets::IdentityKey;
use quorate_types::{Decision, ParticipantId, Roster, RosterEntry, SignedStatement, Statement};

/// The approver's clock in every statement the agents sign here.
pub const DECIDED_AT_UNIX_MS: i64 = 1_700_000_000_000;

pub fn pid(name: &str) -> ParticipantId {
    ParticipantId::new(name).expect("a valid participant id")
}

/// A rejection with `reason`.
pub fn reject(reason: &str) -> Decision {
    Decision::Reject {
        reason: reason.into(),
    }
}

/// What `participant` would state about `ceremony`: its id, key group,
/// message digest and break-glass flag, as the ceremony has them. Unsigned,
/// so a test can alter a field before (or after) signing.
pub fn statement(
    participant: &ParticipantId,
    ceremony: &Ceremony,
    decision: Decision,
) -> Statement {
    let request = ceremony.request();
    Statement {
        ceremony: request.id.clone(),
        key_group: request.key_group.clone(),
        participant: participant.clone(),
        message_sha256: ceremony.message_sha256(),
        break_glass: request.break_glass.is_some(),
        decision,
        at_unix_ms: DECIDED_AT_UNIX_MS,
        follow_ups: request.follow_ups.clone(),
    }
}

/// An approver's agent: its key package, its identity key, and the nonces
/// of its last commitments.
pub struct Agent {
    pub key: KeyPackage,
    pub identity: IdentityKey,
    pub nonces: Option<SigningNonces>,
}

impl Agent {
    /// An agent with a fresh identity key and no nonces yet.
    pub fn new(participant: ParticipantId, key: KeyPackage) -> Self {
        Self::with_rng(participant, key, &mut rand_core::OsRng)
    }

    /// As [`Agent::new`], with the identity key drawn from `rng` (a seeded
    /// one makes it reproducible).
    pub fn with_rng(
        participant: ParticipantId,
        key: KeyPackage,
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Self {
        Self {
            key,
            identity: IdentityKey::generate(participant, rng),
            nonces: None,
        }
    }

    pub fn participant(&self) -> &ParticipantId {
        self.identity.participant()
    }

    /// Round 1: fresh nonces; the old ones (if any) are destroyed.
    pub fn commit(&mut self) -> SigningCommitments {
        self.commit_with(&mut rand_core::OsRng)
    }

    /// As [`Agent::commit`], with the nonces drawn from `rng`.
    pub fn commit_with(&mut self, rng: &mut impl rand_core::CryptoRngCore) -> SigningCommitments {
        let (nonces, commitments) = frost_ed25519::round1::commit(self.key.signing_share(), rng);
        self.nonces = Some(nonces);
        commitments
    }

    /// Round 2 over `package`, using up the nonces.
    pub fn sign(&mut self, package: &SigningPackage) -> SignatureShare {
        let nonces = self.nonces.take().expect("the agent has nonces");
        frost_ed25519::round2::sign(package, &nonces, &self.key).expect("round 2 succeeds")
    }

    /// This agent's unsigned statement of `decision` about `ceremony`.
    pub fn statement(&self, ceremony: &Ceremony, decision: Decision) -> Statement {
        statement(self.participant(), ceremony, decision)
    }

    /// `statement`, signed with this agent's identity key.
    pub fn sign_statement(&self, statement: Statement) -> SignedStatement {
        statement.sign(&self.identity)
    }

    /// This agent's signed statement of `decision` about `ceremony`, as a
    /// real agent makes it.
    pub fn decide(&self, ceremony: &Ceremony, decision: Decision) -> SignedStatement {
        self.sign_statement(self.statement(ceremony, decision))
    }
}

/// A `threshold`-of-n key from a trusted dealer for `members` (name, role):
/// the public key package, one agent per member, and the roster listing
/// each member with its role and its agent's identity key.
pub fn deal(
    members: &[(&str, &str)],
    threshold: u16,
) -> (PublicKeyPackage, Roster, BTreeMap<ParticipantId, Agent>) {
    deal_with(members, threshold, &mut rand_core::OsRng)
}

/// As [`deal`], with the dealer's and the identity keys' randomness from
/// `rng` (a seeded one makes the whole key group reproducible).
pub fn deal_with(
    members: &[(&str, &str)],
    threshold: u16,
    rng: &mut impl rand_core::CryptoRngCore,
) -> (PublicKeyPackage, Roster, BTreeMap<ParticipantId, Agent>) {
    let identifiers: Vec<_> = members.iter().map(|(n, _)| pid(n).identifier()).collect();
    let max_signers = u16::try_from(members.len()).expect("a small key group");
    let (shares, public_key_package) = frost_ed25519::keys::generate_with_dealer(
        max_signers,
        threshold,
        IdentifierList::Custom(&identifiers),
        &mut *rng,
    )
    .expect("dealer key generation");
    let mut agents = BTreeMap::new();
    for (name, _) in members {
        let share = shares[&pid(name).identifier()].clone();
        let key = KeyPackage::try_from(share).expect("a valid share");
        agents.insert(pid(name), Agent::with_rng(pid(name), key, rng));
    }
    let roster = Roster {
        participants: members
            .iter()
            .map(|(name, role)| RosterEntry {
                id: pid(name),
                name: name.to_uppercase(),
                role: (*role).into(),
                coordinator: None,
                identity: Some(agents[&pid(name)].identity.public()),
            })
            .collect(),
    };
    (public_key_package, roster, agents)
}
