//! The `quorate` commands that talk to the coordinator or deal keys, one
//! module each, with its arguments and its `run`. (The quickstart, the
//! auditor's commands and `verify` live in the library.)

pub mod backup;
pub mod cancel;
pub mod change_roster;
pub mod handover;
pub mod identity_key;
pub mod key_group;
pub mod keygen;
pub mod list;
pub mod pubkey;
pub mod register;
pub mod review;
pub mod sign;
pub mod signature;
pub mod status;
pub mod trust;
pub mod witness;

use quorate::client::{Clients, status_error};
use quorate_wire::{self as proto, CeremonyState};

use keygen::read_roster;
use signature::write_signature;

pub(crate) async fn fetch(
    clients: &mut Clients,
    id: String,
) -> anyhow::Result<proto::CeremonyStatus> {
    Ok(clients
        .ceremonies
        .get(proto::GetCeremonyRequest { id })
        .await
        .map_err(status_error)?
        .into_inner())
}

pub(crate) fn state_name(s: &proto::CeremonyStatus) -> String {
    proto::convert::state_name(s.state())
}

/// Signed, including a break-glass signature that still awaits its review.
pub(crate) fn is_signed(s: &proto::CeremonyStatus) -> bool {
    matches!(
        s.state(),
        CeremonyState::Signed | CeremonyState::AwaitingReview
    ) && s.signature.len() == 64
}
