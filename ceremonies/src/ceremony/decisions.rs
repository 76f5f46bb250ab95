//! What the engine decides from an event (the record keeps them with the
//! event): the actions the coordinator carries out, and a ceremony's
//! outcome.
use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case", deny_unknown_fields)]
pub enum Outcome {
    /// The requester called it off; `reason` is the requester's own words.
    Cancelled {
        by: String,
        reason: String,
    },
    Expired {
        reason: ExpiryReason,
    },
    Failed {
        reason: FailureReason,
    },
    Rejected {
        reason: RejectionReason,
    },
    /// `signature` is the message's; a batch's follow-up messages'
    /// signatures follow in order.
    Signed {
        signature: Signature,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        follow_ups: Vec<Signature>,
    },
}

/// What the caller must do after an event. The coordinator pushes the new
/// state to the agents concerned whatever the actions; these say why.
/// The record keeps them as the decisions each event led to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// The attempt's package is void; its signers' nonces must be destroyed.
    AbandonAttempt { attempt: u32, reason: AbandonReason },
    /// The ceremony is over.
    Close(Outcome),
    /// Message `signed` of the batch is signed with `signature`; the next
    /// message, built from it, is signed next with fresh commitments.
    ContinueBatch { signed: u32, signature: Signature },
    /// A participant is out of the signing set for the rest of the ceremony.
    DropSigner {
        participant: ParticipantId,
        reason: DropReason,
    },
    /// These approvers must send fresh commitments.
    RequestCommitments { from: Vec<ParticipantId> },
    /// Send the new signing package to its signers.
    SendSigningPackage {
        attempt: u32,
        signers: Vec<ParticipantId>,
    },
}

impl Action {
    /// Whether this decision (the engine's, now) is the `recorded` one:
    /// equal, except that a reason an earlier release recorded as prose
    /// (v1) agrees with any reason of the same decision.
    pub fn agrees_with(&self, recorded: &Action) -> bool {
        match (self, recorded) {
            (
                Action::AbandonAttempt { attempt, reason },
                Action::AbandonAttempt {
                    attempt: a,
                    reason: r,
                },
            ) => attempt == a && reason.agrees_with(r),
            (
                Action::DropSigner {
                    participant,
                    reason,
                },
                Action::DropSigner {
                    participant: p,
                    reason: r,
                },
            ) => participant == p && reason.agrees_with(r),
            (Action::Close(outcome), Action::Close(o)) => outcome.agrees_with(o),
            _ => self == recorded,
        }
    }
}

impl Outcome {
    /// As [`Action::agrees_with`], for an outcome.
    pub fn agrees_with(&self, recorded: &Outcome) -> bool {
        match (self, recorded) {
            (Outcome::Expired { reason }, Outcome::Expired { reason: r }) => reason.agrees_with(r),
            (Outcome::Failed { reason }, Outcome::Failed { reason: r }) => reason.agrees_with(r),
            (Outcome::Rejected { reason }, Outcome::Rejected { reason: r }) => {
                reason.agrees_with(r)
            }
            _ => self == recorded,
        }
    }
}
