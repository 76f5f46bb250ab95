//! This agent's side of a repair or enrolment, sans I/O: as a helper, its
//! deltas (frost-core `repair_share_part1`) sealed to the other helpers,
//! then its sigma (`repair_share_part2`) sealed to the participant; as the
//! participant, the sigmas opened and added into its share
//! (`repair_share_part3`), checked against the verifying share the group
//! expects before it confirms. A piece that does not open, or a share that
//! does not match, ends the repair with an abort: nobody can be blamed.

use frost_ed25519::Ed25519Sha512;
use frost_ed25519::keys::repairable::{self, Delta, Sigma};
use frost_ed25519::keys::{KeyPackage, PublicKeyPackage};
use quorate_ceremonies::key::KeyPhase;
use quorate_ceremonies::key::repair::binding;
use quorate_envelope::{Sealed, SessionKey};
use quorate_secrets::IdentityKey;
use quorate_types::key_ceremony::{KeyProposal, KeyStep, Repair, SignedKeyMessage};
use quorate_types::{KeyCeremonyId, KeyGroupFile, ParticipantId};
use rand_core::CryptoRngCore;

use crate::dkg::{Checked, DkgError, Next, session_keys, sign_step};

// One per ceremony: the sizes of its variants do not matter.
#[allow(clippy::large_enum_variant)]
enum Role {
    /// Holds `share` and helps.
    Helper {
        share: KeyPackage,
        own_delta: Option<Delta>,
    },
    /// Gets the share; the group must come out as `expected`.
    Participant { expected: PublicKeyPackage },
}

/// This agent in one repair or enrolment.
pub struct Repairing {
    ceremony: KeyCeremonyId,
    digest: quorate_types::Sha256Digest,
    checked: Checked,
    proposal: KeyProposal,
    repair: Repair,
    session: SessionKey,
    role: Role,
    deltas_sent: bool,
    done: bool,
}

impl Repairing {
    /// The approver agreed to help (`held` is this agent's share and its
    /// own copy of the group, which must be the one the repair starts
    /// from) or, for the participant, to receive the share (`held` is
    /// `None`): a fresh session key and the signed join.
    pub fn join(
        ceremony: KeyCeremonyId,
        proposal: KeyProposal,
        identity: &IdentityKey,
        held: Option<(KeyPackage, &KeyGroupFile)>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(Self, SignedKeyMessage), DkgError> {
        let me = identity.participant().clone();
        let repair = proposal
            .repair
            .clone()
            .ok_or_else(|| DkgError::Group("the proposal is not a repair".into()))?;
        if proposal.identity_of(&me) != Some(identity.public()) {
            return Err(DkgError::WrongIdentity(me));
        }
        let role = if me == repair.participant.id {
            let old = repair.from.public_key_package().map_err(DkgError::Group)?;
            let expected = quorate_ceremonies::key::dkg::after_repair(&old, &me)
                .map_err(|e| DkgError::Group(e.to_string()))?;
            Role::Participant { expected }
        } else if repair.helpers.contains(&me) {
            let (share, mine) = held.ok_or(DkgError::NoShare)?;
            if &repair.from != mine {
                return Err(DkgError::OtherGroup(repair.from.name.to_string()));
            }
            Role::Helper {
                share,
                own_delta: None,
            }
        } else {
            return Err(DkgError::NotInRoster(me));
        };
        let session = SessionKey::generate(rng);
        let join = sign_step(
            &ceremony,
            KeyStep::Join {
                proposal_sha256: proposal.digest(),
                round1: Vec::new(),
                encryption_key: session.public().to_vec(),
            },
            identity,
        );
        let repairing = Self {
            ceremony,
            digest: proposal.digest(),
            checked: Checked::default(),
            proposal,
            repair,
            session,
            role,
            deltas_sent: false,
            done: false,
        };
        Ok((repairing, join))
    }

    /// What to send, given the ceremony's `phase` and every message the
    /// coordinator relays for it.
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
        let me = identity.participant().clone();
        match (&self.role, phase) {
            (Role::Helper { .. }, KeyPhase::Exchanging) if !self.deltas_sent => {
                self.send_deltas(&me, relayed, identity, rng)
            }
            (Role::Helper { .. }, KeyPhase::Confirming) => {
                self.send_sigma(&me, relayed, identity, rng)
            }
            (Role::Participant { .. }, KeyPhase::Confirming) => {
                self.rebuild(&me, relayed, identity)
            }
            _ => Ok(Next::Wait),
        }
    }

    fn send_deltas(
        &mut self,
        me: &ParticipantId,
        relayed: &[SignedKeyMessage],
        identity: &IdentityKey,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Next, DkgError> {
        let Role::Helper { share, own_delta } = &mut self.role else {
            return Ok(Next::Wait);
        };
        let keys = session_keys(relayed);
        let helpers: Vec<_> = self.repair.helpers.iter().map(|h| h.identifier()).collect();
        let deltas = repairable::repair_share_part1::<Ed25519Sha512, _>(
            &helpers,
            share,
            rng,
            self.repair.participant.id.identifier(),
        )?;
        let mut out = Vec::new();
        for to in &self.repair.helpers {
            let Some(delta) = deltas.get(&to.identifier()) else {
                continue;
            };
            if to == me {
                *own_delta = Some(*delta);
                continue;
            }
            let key = keys.get(to).ok_or_else(|| DkgError::Seal {
                to: to.clone(),
                why: "it has not joined".into(),
            })?;
            let plaintext = zeroize::Zeroizing::new(delta.serialize());
            let bound = binding(false, self.ceremony.as_str(), me.as_str(), to.as_str());
            out.push(seal_to(
                &self.ceremony,
                to,
                key,
                &bound,
                &plaintext,
                identity,
                rng,
            )?);
        }
        self.deltas_sent = true;
        Ok(Next::Send(out))
    }

    fn send_sigma(
        &mut self,
        me: &ParticipantId,
        relayed: &[SignedKeyMessage],
        identity: &IdentityKey,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Next, DkgError> {
        let Role::Helper {
            own_delta: Some(own),
            ..
        } = &self.role
        else {
            return Ok(Next::Wait);
        };
        let mut deltas = vec![*own];
        for (sender, plaintext) in self.opened(me, relayed, false) {
            match plaintext.and_then(|p| Delta::deserialize(&p).ok()) {
                Some(delta) => deltas.push(delta),
                None => {
                    return Ok(
                        self.abort(format!("the delta from {sender} does not open"), identity)
                    );
                }
            }
        }
        if deltas.len() < self.repair.helpers.len() {
            return Ok(Next::Wait);
        }
        let sigma = repairable::repair_share_part2(&deltas);
        let to = &self.repair.participant.id;
        let keys = session_keys(relayed);
        let key = keys.get(to).ok_or_else(|| DkgError::Seal {
            to: to.clone(),
            why: "it has not joined".into(),
        })?;
        let plaintext = zeroize::Zeroizing::new(sigma.serialize());
        let bound = binding(true, self.ceremony.as_str(), me.as_str(), to.as_str());
        let sealed = seal_to(&self.ceremony, to, key, &bound, &plaintext, identity, rng)?;
        self.done = true;
        Ok(Next::Send(vec![sealed]))
    }

    fn rebuild(
        &mut self,
        me: &ParticipantId,
        relayed: &[SignedKeyMessage],
        identity: &IdentityKey,
    ) -> Result<Next, DkgError> {
        let Role::Participant { expected } = &self.role else {
            return Ok(Next::Wait);
        };
        let expected = PublicKeyPackage::clone(expected);
        let mut sigmas = Vec::new();
        for (sender, plaintext) in self.opened(me, relayed, true) {
            match plaintext.and_then(|p| Sigma::deserialize(&p).ok()) {
                Some(sigma) => sigmas.push(sigma),
                None => {
                    return Ok(
                        self.abort(format!("the sigma from {sender} does not open"), identity)
                    );
                }
            }
        }
        if sigmas.len() < self.repair.helpers.len() {
            return Ok(Next::Wait);
        }
        let key_package = repairable::repair_share_part3(&sigmas, me.identifier(), &expected)?;
        if expected.verifying_shares().get(&me.identifier()) != Some(key_package.verifying_share())
        {
            return Ok(self.abort(
                "the rebuilt share does not match the verifying share the group expects".into(),
                identity,
            ));
        }
        self.done = true;
        let confirm = sign_step(
            &self.ceremony,
            KeyStep::Confirm {
                public_key_package: expected.serialize()?,
            },
            identity,
        );
        Ok(Next::Share {
            key_package,
            public_key_package: expected,
            confirm,
        })
    }

    /// Every piece sealed to this agent by a helper: deltas, or (with
    /// `sigma`) sigmas, each opened if it opens.
    fn opened(
        &self,
        me: &ParticipantId,
        relayed: &[SignedKeyMessage],
        sigma: bool,
    ) -> Vec<(ParticipantId, Option<zeroize::Zeroizing<Vec<u8>>>)> {
        relayed
            .iter()
            .filter_map(|m| match &m.message.step {
                KeyStep::Round2 {
                    to,
                    enc,
                    ciphertext,
                } if to == me && self.repair.helpers.contains(&m.message.participant) => {
                    let from = m.message.participant.as_str();
                    let bound = binding(sigma, self.ceremony.as_str(), from, me.as_str());
                    let sealed = Sealed {
                        enc: enc.clone(),
                        ciphertext: ciphertext.clone(),
                    };
                    let opened = quorate_envelope::open(&self.session, &bound, &sealed).ok();
                    Some((m.message.participant.clone(), opened))
                }
                _ => None,
            })
            .collect()
    }

    fn abort(&mut self, reason: String, identity: &IdentityKey) -> Next {
        self.done = true;
        Next::Send(vec![sign_step(
            &self.ceremony,
            KeyStep::Abort { reason },
            identity,
        )])
    }
}

fn seal_to(
    ceremony: &KeyCeremonyId,
    to: &ParticipantId,
    key: &[u8],
    bound: &quorate_envelope::Binding<'_>,
    plaintext: &[u8],
    identity: &IdentityKey,
    rng: &mut impl CryptoRngCore,
) -> Result<SignedKeyMessage, DkgError> {
    let sealed =
        quorate_envelope::seal(key, bound, plaintext, rng).map_err(|e| DkgError::Seal {
            to: to.clone(),
            why: e.to_string(),
        })?;
    Ok(sign_step(
        ceremony,
        KeyStep::Round2 {
            to: to.clone(),
            enc: sealed.enc,
            ciphertext: sealed.ciphertext,
        },
        identity,
    ))
}
