//! The targets, a module per concern.

pub mod engine;
pub mod frost;
pub mod record;
pub mod replay;
pub mod secrets;
pub mod signed;
pub mod tlog;
pub mod verify;
pub mod wire;

/// The ceremony and approver the agent-side targets judge for: those of
/// the frozen record vectors.
pub(crate) fn ceremony() -> quorate_types::CeremonyId {
    quorate_types::CeremonyId::new("release-1.0.0")
        .unwrap_or_else(|e| unreachable!("a valid id: {e}"))
}

pub(crate) fn alice() -> quorate_types::ParticipantId {
    quorate_types::ParticipantId::new("alice").unwrap_or_else(|e| unreachable!("a valid id: {e}"))
}
