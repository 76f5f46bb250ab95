//! Why an event was refused. A refused event changes nothing.

use quorate_types::ParticipantId;

use crate::State;
use crate::reason::DropReason;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CeremonyError {
    #[error("{participant} already {decision} this ceremony")]
    AlreadyDecided {
        participant: ParticipantId,
        decision: &'static str,
    },
    #[error(
        "{participant} sent commitments that were already used in a signing package; nonces sign one package only"
    )]
    CommitmentsReused { participant: ParticipantId },
    #[error("{participant} sent the commitments it already sent")]
    DuplicateCommitments { participant: ParticipantId },
    #[error("{participant} already sent its share for attempt {attempt}")]
    DuplicateShare {
        participant: ParticipantId,
        attempt: u32,
    },
    #[error("the signed statement of {participant} is not valid: {why}")]
    BadStatement {
        participant: ParticipantId,
        why: String,
    },
    #[error("the ceremony is {state} and takes no more input")]
    Finished { state: State },
    #[error("{participant} was dropped from signing: {reason}")]
    ParticipantDropped {
        participant: ParticipantId,
        reason: DropReason,
    },
    #[error("{who} may not {action}")]
    NotAllowed { who: String, action: String },
    #[error("no deadline has passed yet (the next is at {next:?} unix ms)")]
    NotDue { next: Option<i64> },
    #[error("ceremony needs no review: {0}")]
    NoReviewNeeded(String),
    #[error("the request is not valid: {0}")]
    InvalidRequest(String),
    #[error(
        "{participant} decided on a message with SHA-256 {got}, but this ceremony signs {expected}"
    )]
    MessageMismatch {
        participant: ParticipantId,
        expected: String,
        got: String,
    },
    #[error("no signing package is out (the ceremony is {state})")]
    NoSigningPackage { state: State },
    #[error("{participant} has not approved this ceremony")]
    NotApproved { participant: ParticipantId },
    #[error("{participant} is not in the signing set of attempt {attempt}")]
    NotInSigningSet {
        participant: ParticipantId,
        attempt: u32,
    },
    #[error("share is for attempt {got}, but the current attempt is {current}")]
    StaleAttempt { got: u32, current: u32 },
    #[error("{participant} is not in the roster of key group {key_group}")]
    UnknownParticipant {
        participant: ParticipantId,
        key_group: String,
    },
}
