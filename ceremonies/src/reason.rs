//! Why the engine decided what it did, as codes with structured fields.
//!
//! The record keeps these codes (`quorate-entry/v2`), never sentences: a
//! reworded message or an upgraded library cannot change what an old entry
//! says or how it replays. Text is rendered only when shown (`Display`).
//!
//! Entries written before codes (`quorate-entry/v1`) carried English prose.
//! It decodes as the `Prose` variant of each code, is shown as it was
//! written, and is never compared: a replay checks every structured field
//! of a v1 decision (who, which attempt, which outcome) and only the words
//! are left alone. The engine itself never makes a `Prose` reason, and a v2
//! entry cannot hold one (the variant neither serializes nor decodes).

use std::fmt;
use std::time::Duration;

use quorate_types::ParticipantId;
use serde::{Deserialize, Serialize};

use crate::quorum::{Shortfall, describe_shortfall};
use crate::time::human;

/// Why a signer is out of the signing set for the rest of the ceremony.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case", deny_unknown_fields)]
pub enum DropReason {
    /// Its share for `attempt` did not verify against its verifying share.
    InvalidShare { attempt: u32 },
    /// It sent no share for `attempt` within the signing deadline.
    MissedSigningDeadline { attempt: u32, deadline_ms: u64 },
    /// The words of a v1 entry.
    #[serde(skip)]
    Prose(String),
}

/// Why a signing package is void (its signers' nonces must go).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case", deny_unknown_fields)]
pub enum AbandonReason {
    /// A signer owing a share sent fresh commitments: it lost the nonces.
    LostNonces { participant: ParticipantId },
    /// A signer of the package was dropped.
    SignerDropped { participant: ParticipantId },
    /// The words of a v1 entry.
    #[serde(skip)]
    Prose(String),
}

/// Why a ceremony expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case", deny_unknown_fields)]
pub enum ExpiryReason {
    /// Too few approvals came within the approval deadline.
    ApprovalDeadline {
        deadline_ms: u64,
        still_needed: Shortfall,
    },
    /// The overall deadline passed, whatever the phase.
    OverallDeadline { deadline_ms: u64 },
    /// The words of a v1 entry.
    #[serde(skip)]
    Prose(String),
}

/// Why a ceremony failed without anyone rejecting it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case", deny_unknown_fields)]
pub enum FailureReason {
    /// Too few approvers are left who could sign under the policy.
    TooFewSigners { still_needed: Shortfall },
    /// Every share verified, yet their aggregate did not: no signer's fault.
    AggregateInvalid,
    /// The words of a v1 entry.
    #[serde(skip)]
    Prose(String),
}

/// Why a ceremony was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case", deny_unknown_fields)]
pub enum RejectionReason {
    /// An approver in one of the policy's veto roles rejected it.
    Vetoed { by: ParticipantId, role: String },
    /// After these rejections the rest cannot meet the policy.
    QuorumImpossible {
        rejected_by: Vec<ParticipantId>,
        still_needed: Shortfall,
    },
    /// The words of a v1 entry.
    #[serde(skip)]
    Prose(String),
}

/// Milliseconds of a deadline, as the record keeps them.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn from_millis(ms: u64) -> String {
    human(Duration::from_millis(ms))
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidShare { attempt } => {
                write!(
                    f,
                    "its signature share for attempt {attempt} does not verify"
                )
            }
            Self::MissedSigningDeadline {
                attempt,
                deadline_ms,
            } => write!(
                f,
                "sent no signature share within the signing deadline of {} (attempt {attempt})",
                from_millis(*deadline_ms)
            ),
            Self::Prose(text) => f.write_str(text),
        }
    }
}

impl fmt::Display for AbandonReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LostNonces { participant } => {
                write!(
                    f,
                    "{participant} lost its nonces and sent fresh commitments"
                )
            }
            Self::SignerDropped { participant } => write!(f, "{participant} was dropped"),
            Self::Prose(text) => f.write_str(text),
        }
    }
}

impl fmt::Display for ExpiryReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ApprovalDeadline {
                deadline_ms,
                still_needed,
            } => write!(
                f,
                "the approval deadline of {} passed; still needed {}",
                from_millis(*deadline_ms),
                describe_shortfall(still_needed)
            ),
            Self::OverallDeadline { deadline_ms } => write!(
                f,
                "the overall deadline of {} passed",
                from_millis(*deadline_ms)
            ),
            Self::Prose(text) => f.write_str(text),
        }
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooFewSigners { still_needed } => write!(
                f,
                "too few participants are left to sign: still needs {}",
                describe_shortfall(still_needed)
            ),
            Self::AggregateInvalid => {
                f.write_str("every share verified, but their aggregate signature does not")
            }
            Self::Prose(text) => f.write_str(text),
        }
    }
}

impl fmt::Display for RejectionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Vetoed { by, role } => write!(f, "vetoed by {by} ({role})"),
            Self::QuorumImpossible {
                rejected_by,
                still_needed,
            } => write!(
                f,
                "rejected by {}; the rest cannot meet the policy (still needs {})",
                rejected_by
                    .iter()
                    .map(ParticipantId::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
                describe_shortfall(still_needed)
            ),
            Self::Prose(text) => f.write_str(text),
        }
    }
}

/// A reason as a replay compares it: a recorded v1 reason (prose) agrees
/// with whatever the engine decides now; a coded one must be equal.
pub(crate) trait Agrees: PartialEq {
    fn is_prose(&self) -> bool;

    fn agrees_with(&self, recorded: &Self) -> bool {
        recorded.is_prose() || self == recorded
    }
}

macro_rules! prose_agrees {
    ($($t:ty),*) => {$(
        impl Agrees for $t {
            fn is_prose(&self) -> bool {
                matches!(self, Self::Prose(_))
            }
        }
    )*};
}

prose_agrees!(
    DropReason,
    AbandonReason,
    ExpiryReason,
    FailureReason,
    RejectionReason
);
