//! A repair or enrolment (frost-core's `repairable`, the Repairable
//! Threshold Scheme): the helpers and the participant join; each helper
//! seals a delta to every other helper (exchanging); then each seals the sum
//! of the deltas it got, its sigma, to the participant (confirming), who
//! adds them into its share and confirms the group. The engine checks the
//! order, that every piece travels sealed to the right party, and that
//! the participant confirms exactly the group it expects: unchanged for a
//! repair, with the new verifying share for an enrolment. Deltas and sigmas
//! prove nothing on their own, so a share that does not add up can be
//! reported (an abort) but not blamed on anyone.

use quorate_envelope::Binding;
use quorate_types::ParticipantId;
use quorate_types::key_ceremony::{KeyStep, SignedKeyMessage};

use super::{Joined, KeyCeremony, KeyDecision, KeyError, KeyFault, KeyPhase};

/// What a sealed repair piece is bound to.
pub const DELTA_PURPOSE: &str = "repair delta";
pub const SIGMA_PURPOSE: &str = "repair sigma";

/// The binding of a delta `from` seals to another helper `to`, or (with
/// `sigma`) of the sigma `from` seals to the participant `to`.
pub fn binding<'a>(sigma: bool, ceremony: &'a str, from: &'a str, to: &'a str) -> Binding<'a> {
    Binding {
        purpose: if sigma { SIGMA_PURPOSE } else { DELTA_PURPOSE },
        ceremony,
        from,
        to,
    }
}

impl KeyCeremony {
    pub(super) fn take_repair(
        &mut self,
        signed: &SignedKeyMessage,
        participant: &ParticipantId,
        helpers: &[ParticipantId],
    ) -> Result<Vec<KeyDecision>, KeyError> {
        let sender = &signed.message.participant;
        let helper = helpers.contains(sender);
        match &signed.message.step {
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
                if !round1.is_empty() {
                    return Ok(vec![
                        self.fail(Some(sender.clone()), KeyFault::MalformedRound1),
                    ]);
                }
                let Ok(encryption_key) = quorate_envelope::check_public(encryption_key) else {
                    return Ok(vec![
                        self.fail(Some(sender.clone()), KeyFault::WeakSessionKey),
                    ]);
                };
                self.joined.insert(
                    sender.clone(),
                    Joined {
                        round1: None,
                        encryption_key,
                    },
                );
                if self.joined.len() < self.parties.len() {
                    return Ok(Vec::new());
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
                if !helper {
                    return Err(KeyError::NotYet(sender.clone(), "only helpers send pieces"));
                }
                let (phase, fits) = if to == participant {
                    (
                        KeyPhase::Confirming,
                        "a sigma goes to the participant once every delta is in",
                    )
                } else {
                    (
                        KeyPhase::Exchanging,
                        "a delta goes to another helper while exchanging",
                    )
                };
                if self.phase != phase
                    || (to != participant && !helpers.contains(to))
                    || to == sender
                {
                    return Err(KeyError::NotYet(sender.clone(), fits));
                }
                if enc.len() != 32 || ciphertext.len() > quorate_envelope::MAX_PLAINTEXT + 16 {
                    return Err(KeyError::BadEnvelope(to.clone()));
                }
                let key = (sender.clone(), to.clone());
                if self.round2.contains_key(&key) {
                    return Err(KeyError::Repeated(
                        sender.clone(),
                        "piece to that recipient",
                    ));
                }
                self.round2.insert(key, signed.clone());
                let h = helpers.len();
                let deltas = self
                    .round2
                    .keys()
                    .filter(|(_, to)| to != participant)
                    .count();
                if phase == KeyPhase::Exchanging && deltas == h * (h - 1) {
                    self.phase = KeyPhase::Confirming;
                    return Ok(vec![KeyDecision::ConfirmGroup]);
                }
                Ok(Vec::new())
            }
            KeyStep::Confirm { public_key_package } => {
                self.require_phase(KeyPhase::Confirming, "confirm")?;
                if sender != participant {
                    return Err(KeyError::NotYet(
                        sender.clone(),
                        "only the participant who gets the share confirms",
                    ));
                }
                let sigmas = self
                    .round2
                    .keys()
                    .filter(|(_, to)| to == participant)
                    .count();
                if sigmas < helpers.len() {
                    return Err(KeyError::NotYet(
                        sender.clone(),
                        "not every helper's sigma is in",
                    ));
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
                self.register()
            }
            KeyStep::Abort { reason } => {
                if self.phase == KeyPhase::Joining {
                    return Err(KeyError::NotYet(
                        sender.clone(),
                        "decline instead, while joining",
                    ));
                }
                Ok(vec![self.fail(
                    None,
                    KeyFault::Aborted {
                        by: sender.clone(),
                        reason: reason.clone(),
                    },
                )])
            }
            KeyStep::Complain { .. } => Err(KeyError::NotYet(
                sender.clone(),
                "a repair has no complaints: its pieces prove nothing alone; abort instead",
            )),
        }
    }
}
