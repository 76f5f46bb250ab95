//! This agent's side of a DKG or of a refresh of its shares, sans I/O:
//! given the messages the coordinator relays, what to sign and send next.
//!
//! The agent trusts the proposal its approver agreed to, not the
//! coordinator: every relayed message must be signed by the identity key
//! the proposal lists for its sender. Round-2 packages are sealed to each
//! recipient's session key and opened only here. A package that does not
//! open or verify is answered with a complaint that reveals this agent's
//! session key (used for this ceremony only), so that anyone can judge.
//! Secrets (the polynomial, the round-2 shares, the new share) are
//! zeroized when dropped.

use std::collections::BTreeMap;

use frost_ed25519::Identifier;
use frost_ed25519::keys::dkg::{self, round1, round2};
use frost_ed25519::keys::refresh;
use frost_ed25519::keys::{KeyPackage, PublicKeyPackage, SecretShare};
use quorate_ceremonies::key::KeyPhase;
use quorate_ceremonies::key::dkg::{round2_binding, with_zero_constant};
use quorate_envelope::{Sealed, SessionKey};
use quorate_secrets::IdentityKey;
use quorate_types::key_ceremony::{KeyMessage, KeyProposal, KeyStep, SignedKeyMessage};
use quorate_types::{KeyCeremonyId, KeyGroupFile, ParticipantId};
use rand_core::CryptoRngCore;

/// Why this agent stopped taking part.
#[derive(Debug, thiserror::Error)]
pub enum DkgError {
    #[error("this agent ({0}) is not in the proposal's roster")]
    NotInRoster(ParticipantId),
    #[error("the proposal's roster lists no identity key for {0}")]
    NoIdentity(ParticipantId),
    #[error("this agent's identity key is not the one the proposal lists for {0}")]
    WrongIdentity(ParticipantId),
    #[error(
        "the coordinator relayed a message for {participant} that is not signed by its identity key \
         in the proposal (or is for another ceremony); refusing to go on"
    )]
    Forged { participant: ParticipantId },
    #[error("{participant}'s round-1 package: {why}")]
    Round1 {
        participant: ParticipantId,
        why: String,
    },
    #[error(
        "{0} agreed to another proposal than this agent's approver did (the coordinator showed \
         them another); refusing to go on"
    )]
    OtherProposal(ParticipantId),
    #[error("this agent holds no share to refresh")]
    NoShare,
    #[error(
        "the refresh starts from a key group {0} other than this agent's own copy of it; \
         refusing (the coordinator may be lying about the group)"
    )]
    OtherGroup(String),
    #[error("this agent's key group file: {0}")]
    Group(String),
    #[error("FROST: {0}")]
    Frost(#[from] frost_ed25519::Error),
    #[error("sealing to {to}: {why}")]
    Seal { to: ParticipantId, why: String },
}

/// What to do next. (A share is produced once per DKG; boxing it would
/// only make the callers' matches noisier.)
#[allow(clippy::large_enum_variant)]
pub enum Next {
    /// Send these messages.
    Send(Vec<SignedKeyMessage>),
    /// Nothing until more messages arrive.
    Wait,
    /// This agent's new share and the group, with the confirmation to send
    /// once the share is sealed at rest. The group is registered when every
    /// participant has confirmed it.
    Share {
        key_package: KeyPackage,
        public_key_package: PublicKeyPackage,
        confirm: SignedKeyMessage,
    },
}

/// This agent in one DKG.
pub struct Dkg {
    ceremony: KeyCeremonyId,
    /// The proposal's digest, as this agent's approver agreed to it.
    digest: quorate_types::Sha256Digest,
    checked: Checked,
    me: ParticipantId,
    proposal: KeyProposal,
    session: SessionKey,
    round1_secret: round1::SecretPackage,
    /// Every other participant's round-1 package, once all have joined.
    round1: Option<BTreeMap<Identifier, round1::Package>>,
    round2_secret: Option<round2::SecretPackage>,
    /// In a refresh: this agent's share and the group as they stand.
    old: Option<(KeyPackage, PublicKeyPackage)>,
    done: bool,
}

impl Dkg {
    /// The approver agreed to `proposal`: a fresh polynomial and session
    /// key, and this agent's signed join. A refresh needs `old`: this
    /// agent's share and its own copy of the key group, which must be the
    /// group the proposal refreshes.
    pub fn join(
        ceremony: KeyCeremonyId,
        proposal: KeyProposal,
        identity: &IdentityKey,
        old: Option<(KeyPackage, &KeyGroupFile)>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(Self, SignedKeyMessage), DkgError> {
        let me = identity.participant().clone();
        let listed = proposal
            .roster
            .get(&me)
            .ok_or_else(|| DkgError::NotInRoster(me.clone()))?;
        if listed.identity != Some(identity.public()) {
            return Err(DkgError::WrongIdentity(me));
        }
        let n = u16::try_from(proposal.roster.len()).unwrap_or(u16::MAX);
        let old = match (&proposal.refresh, old) {
            (None, _) => None,
            (Some(_), None) => return Err(DkgError::NoShare),
            (Some(refresh), Some((share, mine))) => {
                if &refresh.from != mine {
                    return Err(DkgError::OtherGroup(refresh.from.name.to_string()));
                }
                let package = mine.public_key_package().map_err(DkgError::Group)?;
                Some((share, package))
            }
        };
        let (round1_secret, package) = if old.is_some() {
            refresh::refresh_dkg_part1(me.identifier(), n, proposal.threshold, &mut *rng)?
        } else {
            dkg::part1(me.identifier(), n, proposal.threshold, &mut *rng)?
        };
        let session = SessionKey::generate(rng);
        let join = KeyMessage {
            ceremony: ceremony.clone(),
            participant: me.clone(),
            step: KeyStep::Join {
                proposal_sha256: proposal.digest(),
                round1: package.serialize()?,
                encryption_key: session.public().to_vec(),
            },
        }
        .sign(identity);
        Ok((
            Self {
                ceremony,
                me,
                digest: proposal.digest(),
                checked: Checked::default(),
                proposal,
                session,
                round1_secret,
                round1: None,
                round2_secret: None,
                old,
                done: false,
            },
            join,
        ))
    }

    /// The approver declined `proposal`, for `reason`.
    pub fn decline(
        ceremony: KeyCeremonyId,
        proposal: &KeyProposal,
        reason: String,
        identity: &IdentityKey,
    ) -> SignedKeyMessage {
        KeyMessage {
            ceremony,
            participant: identity.participant().clone(),
            step: KeyStep::Decline {
                proposal_sha256: proposal.digest(),
                reason,
            },
        }
        .sign(identity)
    }

    pub fn ceremony(&self) -> &KeyCeremonyId {
        &self.ceremony
    }

    /// What to send, given the ceremony's `phase` and every message the
    /// coordinator relays for it (checked here, whatever the coordinator
    /// says).
    pub fn advance(
        &mut self,
        phase: KeyPhase,
        relayed: &[SignedKeyMessage],
        identity: &IdentityKey,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Next, DkgError> {
        if self.done {
            return Ok(Next::Wait);
        }
        self.checked
            .all(&self.proposal, &self.digest, &self.ceremony, relayed)?;
        match phase {
            KeyPhase::Exchanging if self.round2_secret.is_none() => {
                self.send_round2(relayed, identity, rng)
            }
            KeyPhase::Confirming if self.round2_secret.is_some() => self.finish(relayed, identity),
            _ => Ok(Next::Wait),
        }
    }

    fn send_round2(
        &mut self,
        relayed: &[SignedKeyMessage],
        identity: &IdentityKey,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Next, DkgError> {
        let mut round1 = BTreeMap::new();
        let mut keys = BTreeMap::new();
        for message in relayed {
            let sender = &message.message.participant;
            if let KeyStep::Join {
                round1: bytes,
                encryption_key,
                ..
            } = &message.message.step
                && sender != &self.me
            {
                let package =
                    round1::Package::deserialize(bytes).map_err(|e| DkgError::Round1 {
                        participant: sender.clone(),
                        why: e.to_string(),
                    })?;
                round1.insert(sender.identifier(), package);
                keys.insert(
                    sender.identifier(),
                    (sender.clone(), encryption_key.clone()),
                );
            }
        }
        if round1.len() + 1 < self.proposal.roster.len() {
            return Ok(Next::Wait);
        }
        let (secret, packages) = if self.old.is_some() {
            refresh::refresh_dkg_part2(self.round1_secret.clone(), &round1)?
        } else {
            dkg::part2(self.round1_secret.clone(), &round1)?
        };
        let mut out = Vec::new();
        for (id, package) in packages {
            let Some((to, key)) = keys.get(&id) else {
                continue;
            };
            let plaintext = zeroize::Zeroizing::new(package.serialize()?);
            let binding = round2_binding(self.ceremony.as_str(), self.me.as_str(), to.as_str());
            let sealed = quorate_envelope::seal(key, &binding, &plaintext, rng).map_err(|e| {
                DkgError::Seal {
                    to: to.clone(),
                    why: e.to_string(),
                }
            })?;
            out.push(self.signed(
                KeyStep::Round2 {
                    to: to.clone(),
                    enc: sealed.enc,
                    ciphertext: sealed.ciphertext,
                },
                identity,
            ));
        }
        self.round1 = Some(round1);
        self.round2_secret = Some(secret);
        Ok(Next::Send(out))
    }

    fn finish(
        &mut self,
        relayed: &[SignedKeyMessage],
        identity: &IdentityKey,
    ) -> Result<Next, DkgError> {
        let (Some(secret), Some(round1)) = (&self.round2_secret, &self.round1) else {
            return Ok(Next::Wait);
        };
        let mut received = BTreeMap::new();
        for message in relayed {
            let sender = &message.message.participant;
            let KeyStep::Round2 {
                to,
                enc,
                ciphertext,
            } = &message.message.step
            else {
                continue;
            };
            if to != &self.me {
                continue;
            }
            let binding = round2_binding(self.ceremony.as_str(), sender.as_str(), to.as_str());
            let sealed = Sealed {
                enc: enc.clone(),
                ciphertext: ciphertext.clone(),
            };
            let opened = quorate_envelope::open(&self.session, &binding, &sealed)
                .ok()
                .and_then(|plaintext| round2::Package::deserialize(&plaintext).ok());
            let Some(package) = opened else {
                return Ok(self.complain(sender.clone(), identity));
            };
            // Checked here, whoever sent it: frost-core's refresh names no
            // culprit for a bad share, and a complaint must name one.
            let Some(theirs) = round1.get(&sender.identifier()) else {
                continue;
            };
            let commitment = if self.old.is_some() {
                with_zero_constant(theirs.commitment())
            } else {
                theirs.commitment().clone()
            };
            let share =
                SecretShare::new(self.me.identifier(), *package.signing_share(), commitment);
            if share.verify().is_err() {
                return Ok(self.complain(sender.clone(), identity));
            }
            received.insert(sender.identifier(), package);
        }
        if received.len() < round1.len() {
            return Ok(Next::Wait);
        }
        let made = match &self.old {
            Some((share, group)) => {
                refresh::refresh_dkg_shares(secret, round1, &received, group.clone(), share.clone())
            }
            None => dkg::part3(secret, round1, &received),
        };
        match made {
            Ok((key_package, public_key_package)) => {
                self.done = true;
                let confirm = self.signed(
                    KeyStep::Confirm {
                        public_key_package: public_key_package.serialize()?,
                    },
                    identity,
                );
                Ok(Next::Share {
                    key_package,
                    public_key_package,
                    confirm,
                })
            }
            Err(frost_ed25519::Error::InvalidSecretShare {
                culprit: Some(culprit),
            }) => match self.participant_of(&culprit) {
                Some(accused) => Ok(self.complain(accused, identity)),
                None => Err(frost_ed25519::Error::InvalidSecretShare {
                    culprit: Some(culprit),
                }
                .into()),
            },
            Err(e) => Err(e.into()),
        }
    }

    fn complain(&mut self, accused: ParticipantId, identity: &IdentityKey) -> Next {
        self.done = true;
        let session_key = self.session.reveal().to_vec();
        Next::Send(vec![self.signed(
            KeyStep::Complain {
                accused,
                session_key,
            },
            identity,
        )])
    }

    fn participant_of(&self, id: &Identifier) -> Option<ParticipantId> {
        self.proposal
            .roster
            .ids()
            .find(|p| &p.identifier() == id)
            .cloned()
    }

    fn signed(&self, step: KeyStep, identity: &IdentityKey) -> SignedKeyMessage {
        sign_step(&self.ceremony, step, identity)
    }
}

/// The relayed messages an agent has checked already (by the digest of
/// their bytes, signature included), so that each update checks only
/// what is new: a 67-of-100 DKG relays thousands of signed messages.
#[derive(Default)]
pub(crate) struct Checked(std::collections::HashSet<[u8; 32]>);

impl Checked {
    /// Checks every message of `relayed` not checked before.
    pub(crate) fn all(
        &mut self,
        proposal: &KeyProposal,
        digest: &quorate_types::Sha256Digest,
        ceremony: &KeyCeremonyId,
        relayed: &[SignedKeyMessage],
    ) -> Result<(), DkgError> {
        for message in relayed {
            let seen = quorate_types::sha256(&message.to_bytes());
            if !self.0.contains(&seen) {
                check_relayed(proposal, digest, ceremony, message)?;
                self.0.insert(seen);
            }
        }
        Ok(())
    }
}

/// This agent's `step` in `ceremony`, signed.
pub(crate) fn sign_step(
    ceremony: &KeyCeremonyId,
    step: KeyStep,
    identity: &IdentityKey,
) -> SignedKeyMessage {
    KeyMessage {
        ceremony: ceremony.clone(),
        participant: identity.participant().clone(),
        step,
    }
    .sign(identity)
}

/// Checks a relayed message is for `ceremony` and signed by its sender's
/// identity key in `proposal`, whatever the coordinator says.
pub(crate) fn check_relayed(
    proposal: &KeyProposal,
    digest: &quorate_types::Sha256Digest,
    ceremony: &KeyCeremonyId,
    message: &SignedKeyMessage,
) -> Result<(), DkgError> {
    let sender = &message.message.participant;
    let key = proposal
        .identity_of(sender)
        .ok_or_else(|| DkgError::NoIdentity(sender.clone()))?;
    if &message.message.ceremony != ceremony || !message.verify(&key) {
        return Err(DkgError::Forged {
            participant: sender.clone(),
        });
    }
    // Everyone must have agreed to the very proposal this agent's approver
    // did, not one the coordinator showed them instead.
    if let KeyStep::Join {
        proposal_sha256, ..
    }
    | KeyStep::Decline {
        proposal_sha256, ..
    } = &message.message.step
        && proposal_sha256 != digest
    {
        return Err(DkgError::OtherProposal(sender.clone()));
    }
    Ok(())
}

/// The session keys the participants announced when they joined.
pub(crate) fn session_keys(relayed: &[SignedKeyMessage]) -> BTreeMap<ParticipantId, Vec<u8>> {
    relayed
        .iter()
        .filter_map(|m| match &m.message.step {
            KeyStep::Join { encryption_key, .. } => {
                Some((m.message.participant.clone(), encryption_key.clone()))
            }
            _ => None,
        })
        .collect()
}
