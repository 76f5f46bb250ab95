//! Why a key ceremony refused an input; refusals change nothing and are
//! not recorded.

use quorate_types::{KeyCeremonyId, ParticipantId, Sha256Digest};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("proposal {field} {why}")]
    Proposal { field: &'static str, why: String },
    #[error("the key ceremony is {0} and takes nothing more")]
    Finished(&'static str),
    #[error("the message is for key ceremony {0}, not this one")]
    OtherCeremony(KeyCeremonyId),
    #[error("{0} is not in the proposal's roster")]
    NotInRoster(ParticipantId),
    #[error("the signature of {0}'s message does not verify with its identity key in the proposal")]
    BadSignature(ParticipantId),
    #[error("a {step} message does not fit now: the ceremony is {phase}")]
    OutOfTurn {
        step: &'static str,
        phase: &'static str,
    },
    #[error("the message answers proposal {got}, but this ceremony's proposal is {expected}")]
    OtherProposal {
        got: Sha256Digest,
        expected: Sha256Digest,
    },
    #[error("{0} takes no part in this key ceremony")]
    NotTakingPart(ParticipantId),
    #[error("{0}: the repair cannot go on yet: {1}")]
    NotYet(ParticipantId, &'static str),
    #[error("the key ceremony's deadline is not due yet (at {0} ms)")]
    NotDue(i64),
    #[error("{0}'s reason: {1}")]
    Reason(ParticipantId, String),
    #[error("{0} sent its {1} already")]
    Repeated(ParticipantId, &'static str),
    #[error("{0} is not another participant of this ceremony")]
    BadRecipient(ParticipantId),
    #[error("the sealed package to {0} is malformed (encapsulated key of 32 bytes, at most 4 KiB)")]
    BadEnvelope(ParticipantId),
}
