//! Key ceremonies: a key group made by DKG among its participants' agents,
//! or new shares of one (a refresh, which may remove share holders), judged
//! from their signed messages alone.
//!
//! ```text
//! Joining ─▶ Exchanging ─▶ Confirming ─▶ Done(Registered)
//!    │            │             │
//!    └────────────┴─────────────┴─▶ Done(Failed | Declined | Cancelled)
//! ```
//!
//! Each participant joins (its approval of the proposal, round-1 package
//! and session key), sends a sealed round-2 package to every other one,
//! then confirms the public key package it computed. A [`KeyCeremony`]
//! takes each [`KeyEvent`] with the time and returns its decisions; it
//! never sees a share. A signed message that breaks the protocol (a bad
//! proof, a bad share shown by a complaint, another group key) ends the
//! ceremony naming its sender; an input nobody can be blamed for (a bad
//! signature, a step out of turn) is refused and changes nothing.

pub mod dkg;
mod error;
pub mod history;
pub mod rebuild;
pub mod repair;
pub mod transcript;

use std::collections::BTreeMap;

use frost_ed25519::keys::PublicKeyPackage;
use frost_ed25519::keys::dkg::round1;
use quorate_envelope::Sealed;
use quorate_types::key_ceremony::{KeyProposal, KeyStep, SignedKeyMessage};
use quorate_types::{KeyCeremonyId, KeyGroupFile, ParticipantId, Sha256Digest};
use serde::{Deserialize, Serialize};

use crate::Timestamp;
pub use error::KeyError;

/// An input to a key ceremony, as the record keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum KeyEvent {
    /// A participant's signed step.
    Message { message: SignedKeyMessage },
    /// An operator called the ceremony off.
    Cancelled { by: String, reason: String },
    /// The ceremony's deadline passed (see [`KeyCeremony::deadline`]).
    DeadlinePassed,
}

/// What the ceremony decided from an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
pub enum KeyDecision {
    /// Everyone joined: round 2 begins.
    ExchangeShares,
    /// Every round-2 package is in: each participant computes its share
    /// and confirms the group it got.
    ConfirmGroup,
    /// Everyone confirmed the same group: it is registered (hex of the
    /// 32-byte group key).
    Registered { group_key: String },
    /// Everyone confirmed the same refreshed shares of the group key: they
    /// are the key group's version `version`, without the `removed`.
    Refreshed {
        group_key: String,
        version: u64,
        removed: Vec<ParticipantId>,
    },
    /// The participant confirmed the share the helpers rebuilt (or, when
    /// `enrolled`, made for them as a new participant): the key group's
    /// version `version`.
    Repaired {
        group_key: String,
        version: u64,
        participant: ParticipantId,
        enrolled: bool,
    },
    /// The ceremony ends unfinished; `culprit` broke the protocol, if
    /// anyone did.
    Failed {
        culprit: Option<ParticipantId>,
        fault: KeyFault,
    },
}

/// How a participant broke a DKG, as a code with fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "fault", rename_all = "snake_case", deny_unknown_fields)]
pub enum KeyFault {
    #[error("its round-1 package is not a FROST(Ed25519, SHA-512) round-1 package")]
    MalformedRound1,
    #[error("its commitment has {got} coefficients; the threshold needs {expected}")]
    WrongCommitmentLength { got: u64, expected: u64 },
    #[error("its proof of knowledge of its secret does not verify")]
    BadProofOfKnowledge,
    #[error("its session key is not an X25519 key anyone can seal to")]
    WeakSessionKey,
    #[error("the commitments do not make a group key")]
    NoGroupKey,
    #[error("the round-2 package it sealed does not open with its recipient's revealed key")]
    SealedShareDoesNotOpen,
    #[error("the round-2 package it sealed is not a FROST round-2 package")]
    MalformedRound2,
    #[error("the round-2 share it sealed does not match its commitment")]
    BadRound2Share,
    #[error("it complained of a round-2 share that verifies")]
    FalseComplaint,
    #[error("the session key it revealed is not the one it announced")]
    RevealedWrongKey,
    #[error("it confirmed a public key package other than the one the commitments make")]
    OtherGroup,
    #[error("declined to join: {reason}")]
    Declined { reason: String },
    #[error("cancelled by {by}: {reason}")]
    Cancelled { by: String, reason: String },
    #[error("{by} gave up the repair: {reason}")]
    Aborted { by: ParticipantId, reason: String },
    #[error("the deadline passed waiting for {}", names(missing))]
    TimedOut { missing: Vec<ParticipantId> },
}

fn names(ids: &[ParticipantId]) -> String {
    ids.iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where a key ceremony stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPhase {
    Joining,
    Exchanging,
    Confirming,
    Registered,
    Failed,
}

impl KeyPhase {
    pub fn name(self) -> &'static str {
        match self {
            KeyPhase::Joining => "joining",
            KeyPhase::Exchanging => "exchanging shares",
            KeyPhase::Confirming => "confirming the group",
            KeyPhase::Registered => "registered",
            KeyPhase::Failed => "failed",
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(self, KeyPhase::Registered | KeyPhase::Failed)
    }
}

/// A participant's round-1 package (none in a repair) and session key, as
/// it joined.
#[derive(Debug, Clone)]
pub struct Joined {
    pub round1: Option<round1::Package>,
    pub encryption_key: [u8; 32],
}

/// What kind of key ceremony it is, with what each kind needs.
#[derive(Debug, Clone)]
enum Kind {
    Dkg,
    /// The package whose shares are refreshed.
    Refresh(PublicKeyPackage),
    /// Whose share the helpers rebuild (or make, for an enrolment).
    Repair {
        participant: ParticipantId,
        helpers: Vec<ParticipantId>,
    },
}

/// A DKG key ceremony: the proposal and every signed message taken so far.
#[derive(Debug, Clone)]
pub struct KeyCeremony {
    id: KeyCeremonyId,
    proposal: KeyProposal,
    proposal_sha256: Sha256Digest,
    proposed_at: Timestamp,
    proposed_by: String,
    phase: KeyPhase,
    joined: BTreeMap<ParticipantId, Joined>,
    /// Sealed round-2 packages by (sender, recipient), signed.
    round2: BTreeMap<(ParticipantId, ParticipantId), SignedKeyMessage>,
    confirmed: BTreeMap<ParticipantId, SignedKeyMessage>,
    expected: Option<PublicKeyPackage>,
    kind: Kind,
    /// Who takes part (see [`KeyProposal::parties`]).
    parties: Vec<ParticipantId>,
    registered: Option<KeyGroupFile>,
    failure: Option<(Option<ParticipantId>, KeyFault)>,
    /// Every event taken, in order.
    events: Vec<(Timestamp, KeyEvent)>,
}

impl KeyCeremony {
    /// A proposed ceremony; the proposal must pass [`KeyProposal::check`].
    pub fn propose(
        id: KeyCeremonyId,
        proposal: KeyProposal,
        at: Timestamp,
        by: String,
    ) -> Result<Self, KeyError> {
        proposal
            .check()
            .map_err(|(field, why)| KeyError::Proposal { field, why })?;
        let parse = |from: &KeyGroupFile, field| {
            from.public_key_package()
                .map_err(|why| KeyError::Proposal { field, why })
        };
        let (kind, expected) = match (&proposal.refresh, &proposal.repair) {
            (Some(refresh), _) => (Kind::Refresh(parse(&refresh.from, "refresh.from")?), None),
            (None, Some(repair)) => {
                let old = parse(&repair.from, "repair.from")?;
                let expected = dkg::after_repair(&old, &repair.participant.id).map_err(|e| {
                    KeyError::Proposal {
                        field: "repair.from",
                        why: e.to_string(),
                    }
                })?;
                let kind = Kind::Repair {
                    participant: repair.participant.id.clone(),
                    helpers: repair.helpers.clone(),
                };
                (kind, Some(expected))
            }
            (None, None) => (Kind::Dkg, None),
        };
        Ok(Self {
            kind,
            parties: proposal.parties(),
            id,
            proposal_sha256: proposal.digest(),
            proposal,
            proposed_at: at,
            proposed_by: by,
            phase: KeyPhase::Joining,
            joined: BTreeMap::new(),
            round2: BTreeMap::new(),
            confirmed: BTreeMap::new(),
            expected,
            registered: None,
            failure: None,
            events: Vec::new(),
        })
    }

    pub fn id(&self) -> &KeyCeremonyId {
        &self.id
    }
    pub fn proposal(&self) -> &KeyProposal {
        &self.proposal
    }
    pub fn proposal_sha256(&self) -> Sha256Digest {
        self.proposal_sha256
    }
    pub fn proposed_at(&self) -> Timestamp {
        self.proposed_at
    }
    pub fn proposed_by(&self) -> &str {
        &self.proposed_by
    }
    pub fn phase(&self) -> KeyPhase {
        self.phase
    }
    pub fn joined(&self) -> &BTreeMap<ParticipantId, Joined> {
        &self.joined
    }
    pub fn confirmed(&self) -> impl Iterator<Item = &ParticipantId> {
        self.confirmed.keys()
    }
    /// When the ceremony fails unless it has ended: the key group's
    /// approval deadline after the proposal (a day by default).
    pub fn deadline(&self) -> Timestamp {
        self.proposed_at
            .after(self.proposal.policy.deadlines.approval)
    }

    /// Who the ceremony waits for now.
    pub fn missing(&self) -> Vec<ParticipantId> {
        let sent = |p: &ParticipantId, to_helpers: Option<&[ParticipantId]>| {
            self.round2
                .keys()
                .filter(|(from, to)| {
                    from == p && to_helpers.is_none_or(|helpers| helpers.contains(to))
                })
                .count()
        };
        let waiting: Vec<ParticipantId> = match (self.phase, &self.kind) {
            (KeyPhase::Joining, _) => self
                .parties
                .iter()
                .filter(|p| !self.joined.contains_key(*p))
                .cloned()
                .collect(),
            (KeyPhase::Exchanging, Kind::Repair { helpers, .. }) => helpers
                .iter()
                .filter(|h| sent(h, Some(helpers)) + 1 < helpers.len())
                .cloned()
                .collect(),
            (KeyPhase::Exchanging, _) => self
                .parties
                .iter()
                .filter(|p| sent(p, None) + 1 < self.parties.len())
                .cloned()
                .collect(),
            (
                KeyPhase::Confirming,
                Kind::Repair {
                    participant,
                    helpers,
                },
            ) => {
                let sigma =
                    |h: &ParticipantId| self.round2.contains_key(&(h.clone(), participant.clone()));
                let late: Vec<_> = helpers.iter().filter(|h| !sigma(h)).cloned().collect();
                if late.is_empty() {
                    vec![participant.clone()]
                } else {
                    late
                }
            }
            (KeyPhase::Confirming, _) => self
                .parties
                .iter()
                .filter(|p| !self.confirmed.contains_key(*p))
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        waiting
    }

    /// Whether this is a refresh of an existing key group.
    pub fn is_refresh(&self) -> bool {
        matches!(self.kind, Kind::Refresh(_))
    }

    /// Who takes part.
    pub fn parties(&self) -> &[ParticipantId] {
        &self.parties
    }

    /// The package of the group the refresh starts from.
    fn refreshed(&self) -> Option<&PublicKeyPackage> {
        match &self.kind {
            Kind::Refresh(old) => Some(old),
            _ => None,
        }
    }

    /// The group the ceremony registered, once it has.
    pub fn registered(&self) -> Option<&KeyGroupFile> {
        self.registered.as_ref()
    }
    pub fn failure(&self) -> Option<&(Option<ParticipantId>, KeyFault)> {
        self.failure.as_ref()
    }
    /// How many events the ceremony has taken.
    pub fn version(&self) -> u64 {
        self.events.len() as u64
    }
    pub fn events(&self) -> &[(Timestamp, KeyEvent)] {
        &self.events
    }

    /// How many sealed packages are addressed to `reader` so far.
    pub fn sealed_to(&self, reader: &ParticipantId) -> usize {
        self.round2.keys().filter(|(_, to)| to == reader).count()
    }

    /// Every signed message taken so far that `reader` may see: all but
    /// the round-2 packages sealed to others (which `None`, an auditor,
    /// sees too), and while joining only its own.
    pub fn messages_for(&self, reader: Option<&ParticipantId>) -> Vec<&SignedKeyMessage> {
        self.events
            .iter()
            .filter_map(|(_, event)| match event {
                KeyEvent::Message { message } => Some(message),
                KeyEvent::Cancelled { .. } | KeyEvent::DeadlinePassed => None,
            })
            .filter(|m| match (&m.message.step, reader) {
                // While participants join, none sees another's commitment:
                // the last to join cannot choose its own after seeing the
                // others' (and so bias the group key).
                (_, Some(reader)) if self.phase == KeyPhase::Joining => {
                    &m.message.participant == reader
                }
                (KeyStep::Round2 { to, .. }, Some(reader)) => {
                    to == reader || &m.message.participant == reader
                }
                _ => true,
            })
            .collect()
    }

    /// Takes an event at `at`: refuses it (changing nothing) or returns
    /// the decisions it led to.
    pub fn handle(&mut self, event: KeyEvent, at: Timestamp) -> Result<Vec<KeyDecision>, KeyError> {
        if self.phase.is_finished() {
            return Err(KeyError::Finished(self.phase.name()));
        }
        let decisions = match &event {
            KeyEvent::DeadlinePassed => {
                if at < self.deadline() {
                    return Err(KeyError::NotDue(self.deadline().unix_ms()));
                }
                let missing = self.missing();
                vec![self.fail(None, KeyFault::TimedOut { missing })]
            }
            KeyEvent::Cancelled { by, reason } => vec![self.fail(
                None,
                KeyFault::Cancelled {
                    by: by.clone(),
                    reason: reason.clone(),
                },
            )],
            KeyEvent::Message { message } => self.take(message)?,
        };
        self.events.push((at, event));
        Ok(decisions)
    }

    fn take(&mut self, signed: &SignedKeyMessage) -> Result<Vec<KeyDecision>, KeyError> {
        let message = &signed.message;
        let sender = &message.participant;
        if message.ceremony != self.id {
            return Err(KeyError::OtherCeremony(message.ceremony.clone()));
        }
        let identity = self
            .proposal
            .identity_of(sender)
            .ok_or_else(|| KeyError::NotInRoster(sender.clone()))?;
        if !signed.verify(&identity) {
            return Err(KeyError::BadSignature(sender.clone()));
        }
        if !self.parties.contains(sender) {
            return Err(KeyError::NotTakingPart(sender.clone()));
        }
        if let KeyStep::Decline { reason, .. } | KeyStep::Abort { reason } = &message.step {
            quorate_types::limits::check_reason(reason)
                .map_err(|e| KeyError::Reason(sender.clone(), e.to_string()))?;
        }
        if let Kind::Repair {
            participant,
            helpers,
        } = &self.kind
        {
            let (participant, helpers) = (participant.clone(), helpers.clone());
            return self.take_repair(signed, &participant, &helpers);
        }
        match &message.step {
            KeyStep::Join {
                proposal_sha256,
                round1,
                encryption_key,
            } => {
                self.require_phase(KeyPhase::Joining, "join")?;
                self.check_digest(proposal_sha256)?;
                if self.joined.contains_key(sender) {
                    return Err(KeyError::Repeated(sender.clone(), "join"));
                }
                let round1 = match dkg::check_round1(
                    sender,
                    round1,
                    self.proposal.threshold,
                    self.is_refresh(),
                ) {
                    Ok(package) => package,
                    Err(fault) => return Ok(vec![self.fail(Some(sender.clone()), fault)]),
                };
                let Ok(encryption_key) = quorate_envelope::check_public(encryption_key) else {
                    return Ok(vec![
                        self.fail(Some(sender.clone()), KeyFault::WeakSessionKey),
                    ]);
                };
                self.joined.insert(
                    sender.clone(),
                    Joined {
                        round1: Some(round1),
                        encryption_key,
                    },
                );
                if self.joined.len() < self.parties.len() {
                    return Ok(Vec::new());
                }
                let round1 = self
                    .joined
                    .iter()
                    .filter_map(|(p, j)| Some((p.clone(), j.round1.clone()?)))
                    .collect();
                match dkg::expected_package(&round1, self.refreshed(), self.proposal.threshold) {
                    Ok(package) => self.expected = Some(package),
                    Err(fault) => return Ok(vec![self.fail(None, fault)]),
                }
                self.phase = KeyPhase::Exchanging;
                Ok(vec![KeyDecision::ExchangeShares])
            }
            KeyStep::Decline {
                proposal_sha256,
                reason,
            } => self.decline(sender, proposal_sha256, reason),
            KeyStep::Round2 {
                to,
                enc,
                ciphertext,
            } => {
                self.require_phase(KeyPhase::Exchanging, "round 2")?;
                if to == sender || self.proposal.roster.get(to).is_none() {
                    return Err(KeyError::BadRecipient(to.clone()));
                }
                if enc.len() != 32 || ciphertext.len() > quorate_envelope::MAX_PLAINTEXT + 16 {
                    return Err(KeyError::BadEnvelope(to.clone()));
                }
                let key = (sender.clone(), to.clone());
                if self.round2.contains_key(&key) {
                    return Err(KeyError::Repeated(
                        sender.clone(),
                        "round 2 to that recipient",
                    ));
                }
                self.round2.insert(key, signed.clone());
                let n = self.proposal.roster.len();
                if self.round2.len() < n * (n - 1) {
                    return Ok(Vec::new());
                }
                self.phase = KeyPhase::Confirming;
                Ok(vec![KeyDecision::ConfirmGroup])
            }
            KeyStep::Confirm { public_key_package } => {
                self.require_phase(KeyPhase::Confirming, "confirm")?;
                if self.confirmed.contains_key(sender) {
                    return Err(KeyError::Repeated(sender.clone(), "confirm"));
                }
                let expected = self
                    .expected
                    .as_ref()
                    .and_then(|p| p.serialize().ok())
                    .unwrap_or_default();
                if public_key_package != &expected {
                    return Ok(vec![self.fail(Some(sender.clone()), KeyFault::OtherGroup)]);
                }
                self.confirmed.insert(sender.clone(), signed.clone());
                if self.confirmed.len() < self.proposal.roster.len() {
                    return Ok(Vec::new());
                }
                self.register()
            }
            KeyStep::Abort { .. } => Err(KeyError::OutOfTurn {
                step: "abort",
                phase: "a DKG or refresh, which ends by complaints",
            }),
            KeyStep::Complain {
                accused,
                session_key,
            } => {
                self.require_phase(KeyPhase::Confirming, "complain")?;
                if accused == sender || self.proposal.roster.get(accused).is_none() {
                    return Err(KeyError::BadRecipient(accused.clone()));
                }
                let (culprit, fault) = self.judge(sender, accused, session_key)?;
                Ok(vec![self.fail(Some(culprit), fault)])
            }
        }
    }

    fn judge(
        &self,
        complainer: &ParticipantId,
        accused: &ParticipantId,
        session_key: &[u8],
    ) -> Result<(ParticipantId, KeyFault), KeyError> {
        let (Some(mine), Some(theirs)) = (self.joined.get(complainer), self.joined.get(accused))
        else {
            return Err(KeyError::NotInRoster(accused.clone()));
        };
        let sealed = match self
            .round2
            .get(&(accused.clone(), complainer.clone()))
            .map(|m| &m.message.step)
        {
            Some(KeyStep::Round2 {
                enc, ciphertext, ..
            }) => Sealed {
                enc: enc.clone(),
                ciphertext: ciphertext.clone(),
            },
            _ => return Err(KeyError::BadRecipient(accused.clone())),
        };
        Ok(dkg::Complaint {
            ceremony: self.id.as_str(),
            complainer,
            announced_key: &mine.encryption_key,
            session_key,
            accused,
            accused_round1: theirs
                .round1
                .as_ref()
                .ok_or_else(|| KeyError::NotInRoster(accused.clone()))?,
            sealed,
            refresh: self.is_refresh(),
        }
        .judge())
    }

    /// `sender` declines the proposal (before joining it): the ceremony
    /// fails, naming them.
    fn decline(
        &mut self,
        sender: &ParticipantId,
        digest: &Sha256Digest,
        reason: &str,
    ) -> Result<Vec<KeyDecision>, KeyError> {
        self.require_phase(KeyPhase::Joining, "decline")?;
        self.check_digest(digest)?;
        if self.joined.contains_key(sender) {
            return Err(KeyError::Repeated(sender.clone(), "join"));
        }
        let reason = reason.to_string();
        Ok(vec![
            self.fail(Some(sender.clone()), KeyFault::Declined { reason }),
        ])
    }

    fn register(&mut self) -> Result<Vec<KeyDecision>, KeyError> {
        let Some(package) = &self.expected else {
            return Ok(vec![self.fail(None, KeyFault::NoGroupKey)]);
        };
        let file = KeyGroupFile::new(
            self.proposal.key_group.clone(),
            self.proposal.threshold,
            package,
            self.proposal.roster.clone(),
            self.proposal.policy.clone(),
        )
        .map_err(|_| KeyError::Finished("unserializable"))?;
        let group_key = file.group_key.clone();
        self.registered = Some(file);
        self.phase = KeyPhase::Registered;
        Ok(vec![
            match (&self.proposal.refresh, &self.proposal.repair) {
                (Some(refresh), _) => KeyDecision::Refreshed {
                    group_key,
                    version: refresh.version + 1,
                    removed: refresh.removed.clone(),
                },
                (None, Some(repair)) => KeyDecision::Repaired {
                    group_key,
                    version: repair.version + 1,
                    participant: repair.participant.id.clone(),
                    enrolled: repair.is_enrolment(),
                },
                (None, None) => KeyDecision::Registered { group_key },
            },
        ])
    }

    fn fail(&mut self, culprit: Option<ParticipantId>, fault: KeyFault) -> KeyDecision {
        self.phase = KeyPhase::Failed;
        self.failure = Some((culprit.clone(), fault.clone()));
        KeyDecision::Failed { culprit, fault }
    }

    fn require_phase(&self, phase: KeyPhase, step: &'static str) -> Result<(), KeyError> {
        if self.phase == phase {
            Ok(())
        } else {
            Err(KeyError::OutOfTurn {
                step,
                phase: self.phase.name(),
            })
        }
    }

    fn check_digest(&self, digest: &Sha256Digest) -> Result<(), KeyError> {
        if digest == &self.proposal_sha256 {
            Ok(())
        } else {
            Err(KeyError::OtherProposal {
                got: *digest,
                expected: self.proposal_sha256,
            })
        }
    }
}
