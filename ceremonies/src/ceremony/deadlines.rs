//! Deadlines: the approval deadline and the overall one end a ceremony; the
//! signing deadline drops the signers that sent no share. A deadline takes
//! effect at its time, whatever event comes first after it.
use super::*;

impl Ceremony {
    /// When the coordinator must next hand the ceremony the time, if ever.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let deadlines = self.rules().deadlines;
        let created = self.request.created_at;
        let overall = created.after(deadlines.overall);
        let phase = match &self.phase {
            Phase::Done(_) => return None,
            Phase::ExpectApprovals => created.after(deadlines.approval),
            Phase::ExpectCommitments => overall,
            Phase::ExpectShares(round) => round.formed_at().after(deadlines.signing),
        };
        Some(phase.min(overall))
    }

    pub(super) fn deadline_passed(
        &mut self,
        now: Timestamp,
        actions: &mut Vec<Action>,
    ) -> Result<(), CeremonyError> {
        let Some(next) = self.next_deadline().filter(|d| *d <= now) else {
            return Err(CeremonyError::NotDue {
                next: self.next_deadline().map(|d| d.unix_ms()),
            });
        };
        let _ = next;
        let deadlines = self.rules().deadlines;
        let created = self.request.created_at;
        if now >= created.after(deadlines.overall) {
            let deadline_ms = reason::millis(deadlines.overall);
            self.expire(ExpiryReason::OverallDeadline { deadline_ms }, actions);
            return Ok(());
        }
        match &self.phase {
            Phase::ExpectApprovals if now >= created.after(deadlines.approval) => {
                let reason = ExpiryReason::ApprovalDeadline {
                    deadline_ms: reason::millis(deadlines.approval),
                    still_needed: self.shortfall(),
                };
                self.expire(reason, actions);
            }
            Phase::ExpectShares(round) if now >= round.formed_at().after(deadlines.signing) => {
                let late: Vec<ParticipantId> = round
                    .signers()
                    .iter()
                    .filter(|s| !round.has_share(s))
                    .cloned()
                    .collect();
                let reason = DropReason::MissedSigningDeadline {
                    attempt: round.attempt(),
                    deadline_ms: reason::millis(deadlines.signing),
                };
                for signer in late {
                    self.drop_signer(&signer, reason.clone(), actions);
                }
            }
            _ => {}
        }
        Ok(())
    }

    pub(super) fn expire(&mut self, reason: ExpiryReason, actions: &mut Vec<Action>) {
        let outcome = Outcome::Expired { reason };
        self.phase = Phase::Done(outcome.clone());
        actions.push(Action::Close(outcome));
    }
}
