//! Approvals, rejections and fresh commitments: each decision is a signed
//! statement checked against the roster and the ceremony; an approval
//! brings round-1 commitments, which are used at most once.
use super::*;

impl Ceremony {
    /// `statement` approves, with round-1 `commitments`.
    pub(super) fn approved(
        &mut self,
        statement: &SignedStatement,
        commitments: &SigningCommitments,
        now: Timestamp,
    ) -> Result<(), CeremonyError> {
        let participant = self.check_decision(statement, true)?;
        self.check_unused(participant, commitments)?;
        self.approvals.push((participant.clone(), now));
        self.statements.push(statement.clone());
        self.fresh.insert(participant.clone(), *commitments);
        Ok(())
    }

    /// `statement` rejects; the outcome if that ends the ceremony (a veto).
    pub(super) fn rejected(
        &mut self,
        statement: &SignedStatement,
        now: Timestamp,
    ) -> Result<Option<Outcome>, CeremonyError> {
        let participant = self.check_decision(statement, false)?;
        let reason = match &statement.statement.decision {
            Decision::Reject { reason } => reason.clone(),
            Decision::Approve => String::new(),
        };
        self.rejections.push((participant.clone(), reason, now));
        self.statements.push(statement.clone());
        let role = self.key_group.role_of(participant).unwrap_or_default();
        if self.key_group.policy.veto_roles.iter().any(|r| r == role) {
            return Ok(Some(Outcome::Rejected {
                reason: RejectionReason::Vetoed {
                    by: participant.clone(),
                    role: role.to_string(),
                },
            }));
        }
        Ok(None)
    }

    /// Checks an approver's signed statement: the roster's identity key
    /// signed it, for this ceremony, key group, message and break-glass
    /// flag, with the decision the event claims, from an approver that has
    /// not decided yet. Returns the approver.
    pub(super) fn check_decision<'s>(
        &self,
        signed: &'s SignedStatement,
        approve: bool,
    ) -> Result<&'s ParticipantId, CeremonyError> {
        let statement = &signed.statement;
        let participant = &statement.participant;
        let expected = Expected {
            ceremony: &self.request.id,
            key_group: &self.key_group.name,
            message_sha256: &self.message_sha256,
            follow_ups: &self.request.follow_ups,
            break_glass: self.request.break_glass.is_some(),
        };
        match check_statement(&self.key_group.roster, &expected, signed, approve) {
            Ok(()) => {}
            Err(StatementProblem::NotInRoster { .. }) => {
                return Err(CeremonyError::UnknownParticipant {
                    participant: participant.clone(),
                    key_group: self.key_group.name.to_string(),
                });
            }
            Err(StatementProblem::OtherMessage { got, expected }) => {
                return Err(CeremonyError::MessageMismatch {
                    participant: participant.clone(),
                    expected: expected.to_string(),
                    got: got.to_string(),
                });
            }
            Err(problem) => {
                return Err(CeremonyError::BadStatement {
                    participant: participant.clone(),
                    why: problem.to_string(),
                });
            }
        }
        if let Some(decision) = self.decision_of(participant) {
            return Err(CeremonyError::AlreadyDecided {
                participant: participant.clone(),
                decision,
            });
        }
        Ok(participant)
    }

    pub(super) fn commit(
        &mut self,
        participant: &ParticipantId,
        commitments: &SigningCommitments,
        actions: &mut Vec<Action>,
    ) -> Result<(), CeremonyError> {
        if !self.approvals.iter().any(|(p, _)| p == participant) {
            return Err(CeremonyError::NotApproved {
                participant: participant.clone(),
            });
        }
        if let Some(reason) = self.dropped.get(participant) {
            return Err(CeremonyError::ParticipantDropped {
                participant: participant.clone(),
                reason: reason.clone(),
            });
        }
        if self.fresh.get(participant) == Some(commitments) {
            return Err(CeremonyError::DuplicateCommitments {
                participant: participant.clone(),
            });
        }
        self.check_unused(participant, commitments)?;
        // A signer that owes a share but sends fresh commitments has lost
        // the nonces of the package that is out: that package cannot finish.
        if let Phase::ExpectShares(round) = &self.phase
            && round.is_signer(participant)
            && !round.has_share(participant)
        {
            let attempt = round.attempt();
            self.phase = Phase::ExpectCommitments;
            actions.push(Action::AbandonAttempt {
                attempt,
                reason: AbandonReason::LostNonces {
                    participant: participant.clone(),
                },
            });
        }
        self.fresh.insert(participant.clone(), *commitments);
        Ok(())
    }

    pub(super) fn check_unused(
        &self,
        participant: &ParticipantId,
        commitments: &SigningCommitments,
    ) -> Result<(), CeremonyError> {
        if self.used.contains(commitments) {
            return Err(CeremonyError::CommitmentsReused {
                participant: participant.clone(),
            });
        }
        Ok(())
    }
}
