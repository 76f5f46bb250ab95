//! The inputs of a ceremony: everything that may change it, as recorded.

use frost_ed25519::round1::SigningCommitments;
use frost_ed25519::round2::SignatureShare;
use quorate_types::ParticipantId;
use quorate_types::SignedStatement;
use serde::{Deserialize, Serialize};

/// One input to [`crate::Ceremony::handle`]. The sender of each event is the
/// authenticated caller, never a field the caller chose.
// An approval (a signed statement and FROST commitments) is a few hundred
// bytes larger than the other variants; events are handled one at a time,
// so boxing it would only make every construction and match noisier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// An approver's signed approval, with its round-1 commitments.
    Approved {
        statement: SignedStatement,
        commitments: SigningCommitments,
    },
    /// The requester called the ceremony off.
    Cancelled { by: String, reason: String },
    /// Fresh round-1 commitments from an approver (it restarted and lost its
    /// nonces, or an attempt was abandoned).
    Committed {
        participant: ParticipantId,
        commitments: SigningCommitments,
    },
    /// The coordinator's clock passed one of the ceremony's deadlines.
    /// The engine checks that one did pass at the recorded time.
    DeadlinePassed,
    /// An approver's signed refusal.
    Rejected { statement: SignedStatement },
    /// An auditor's post-incident review of a signed break-glass ceremony.
    Reviewed { by: String, notes: String },
    /// A signer's round-2 share for signing attempt `attempt`.
    ShareSubmitted {
        participant: ParticipantId,
        attempt: u32,
        share: SignatureShare,
    },
}

impl Event {
    /// Who caused the event.
    pub fn sender(&self) -> &str {
        match self {
            Event::Approved { statement, .. } | Event::Rejected { statement } => {
                statement.statement.participant.as_str()
            }
            Event::Committed { participant, .. } | Event::ShareSubmitted { participant, .. } => {
                participant.as_str()
            }
            Event::Cancelled { by, .. } | Event::Reviewed { by, .. } => by,
            Event::DeadlinePassed => "clock",
        }
    }
}
