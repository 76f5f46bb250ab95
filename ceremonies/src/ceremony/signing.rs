//! Signing: forming a package from a quorum's unused commitments, taking
//! each signer's share, dropping signers whose share is invalid or late,
//! and signing a batch's messages in turn.
use super::*;
use frost_ed25519::round2::SignatureShare;

impl Ceremony {
    /// A signer's round-2 share: checked, kept, and once every signer's is
    /// in, aggregated. The outcome if that ends the ceremony.
    pub(super) fn share_submitted(
        &mut self,
        participant: &ParticipantId,
        attempt: u32,
        share: &SignatureShare,
        actions: &mut Vec<Action>,
    ) -> Result<Option<Outcome>, CeremonyError> {
        let Phase::ExpectShares(round) = &mut self.phase else {
            return Err(CeremonyError::NoSigningPackage {
                state: self.state(),
            });
        };
        if attempt != round.attempt() {
            return Err(CeremonyError::StaleAttempt {
                got: attempt,
                current: round.attempt(),
            });
        }
        if !round.is_signer(participant) {
            return Err(CeremonyError::NotInSigningSet {
                participant: participant.clone(),
                attempt,
            });
        }
        if round.has_share(participant) {
            return Err(CeremonyError::DuplicateShare {
                participant: participant.clone(),
                attempt,
            });
        }
        match round.check_share(&self.key_group, participant, share) {
            ShareCheck::Valid if round.is_complete() => {
                match round.aggregate(&self.key_group) {
                    Ok(signature) if self.signatures.len() < self.request.follow_ups.len() => {
                        // More of the batch to sign: each message
                        // gets its own package and fresh nonces.
                        let signed = round.batch_index();
                        self.signatures.push(signature);
                        self.phase = Phase::ExpectCommitments;
                        actions.push(Action::ContinueBatch { signed, signature });
                    }
                    Ok(last) => {
                        let mut signatures = std::mem::take(&mut self.signatures);
                        signatures.push(last);
                        let signature = signatures.remove(0);
                        return Ok(Some(Outcome::Signed {
                            signature,
                            follow_ups: signatures,
                        }));
                    }
                    // Every share verified, so this is not a signer's
                    // fault: fail rather than retry forever.
                    Err(AggregateInvalid) => {
                        return Ok(Some(Outcome::Failed {
                            reason: FailureReason::AggregateInvalid,
                        }));
                    }
                }
            }
            ShareCheck::Valid => {}
            ShareCheck::Invalid => {
                let reason = DropReason::InvalidShare { attempt };
                self.drop_signer(participant, reason, actions);
            }
        }
        Ok(None)
    }

    /// Ends the ceremony with `outcome`: the decision to record.
    pub(super) fn close(&mut self, outcome: Outcome) -> Action {
        self.phase = Phase::Done(outcome.clone());
        Action::Close(outcome)
    }

    pub(super) fn drop_signer(
        &mut self,
        participant: &ParticipantId,
        reason: DropReason,
        actions: &mut Vec<Action>,
    ) {
        self.dropped.insert(participant.clone(), reason.clone());
        self.fresh.remove(participant);
        actions.push(Action::DropSigner {
            participant: participant.clone(),
            reason: reason.clone(),
        });
        if let Phase::ExpectShares(round) = &self.phase {
            actions.push(Action::AbandonAttempt {
                attempt: round.attempt(),
                reason: AbandonReason::SignerDropped {
                    participant: participant.clone(),
                },
            });
            self.phase = Phase::ExpectCommitments;
        }
    }

    /// Moves on as far as the approvals and commitments allow.
    pub(super) fn advance(&mut self, now: Timestamp, actions: &mut Vec<Action>) {
        if matches!(self.phase, Phase::ExpectShares(_) | Phase::Done(_)) {
            return;
        }
        let approvals: Vec<ParticipantId> = self.approvals.iter().map(|(p, _)| p.clone()).collect();
        let rejected: BTreeSet<ParticipantId> =
            self.rejections.iter().map(|(p, _, _)| p.clone()).collect();
        let rules = self.rules();
        let selection = quorum::select(&quorum::Inputs {
            key_group: &self.key_group,
            rules: &rules,
            excluded: self.excluded(),
            approvals: &approvals,
            rejected: &rejected,
            dropped: &self.dropped,
            fresh: &self.fresh,
        });
        match selection {
            Selection::Ready(quorum) => {
                self.attempts += 1;
                let (index, message) = self.next_message();
                let round =
                    Round::new(self.attempts, quorum, &mut self.fresh, index, &message, now);
                self.used
                    .extend(round.package().signing_commitments().values().copied());
                self.last_round_at = Some(now);
                actions.push(Action::SendSigningPackage {
                    attempt: round.attempt(),
                    signers: round.signers().to_vec(),
                });
                self.phase = Phase::ExpectShares(round);
            }
            Selection::NeedCommitments(from) => {
                self.phase = Phase::ExpectCommitments;
                actions.push(Action::RequestCommitments { from });
            }
            Selection::NeedApprovals => self.phase = Phase::ExpectApprovals,
            Selection::Impossible => {
                let still_needed = self.shortfall();
                let outcome = if rejected.is_empty() {
                    Outcome::Failed {
                        reason: FailureReason::TooFewSigners { still_needed },
                    }
                } else {
                    Outcome::Rejected {
                        reason: RejectionReason::QuorumImpossible {
                            rejected_by: self.rejections.iter().map(|(p, ..)| p.clone()).collect(),
                            still_needed,
                        },
                    }
                };
                self.phase = Phase::Done(outcome.clone());
                actions.push(Action::Close(outcome));
            }
        }
    }

    /// The index in the batch of the message signed next, and its bytes.
    pub(super) fn next_message(&self) -> (u32, Vec<u8>) {
        let index = self.signatures.len();
        let message = match (index.checked_sub(1), self.signatures.last()) {
            (Some(previous), Some(signature)) => self
                .request
                .follow_ups
                .get(previous)
                .map(|f| f.message(&signature_bytes(signature)))
                .unwrap_or_default(),
            _ => self.request.message.clone(),
        };
        // At most 1 + MAX_FOLLOW_UPS messages (checked in `new`).
        (u32::try_from(index).unwrap_or(u32::MAX), message)
    }
}
