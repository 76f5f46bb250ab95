//! The domain vocabulary of quorate: identifiers, rosters, key-group
//! policies, the public key-group file, approvers' signed statements and
//! ceremony batches. Pure: no I/O, no clock, no randomness, no terminal;
//! the engine (`quorate-ceremonies`) builds on it and so does everything
//! else. Secrets live in `quorate-secrets`, consumer formats in
//! `quorate-formats`, the wire in `quorate-wire`.

pub mod backup_note;
pub mod batch;
pub mod digest;
pub mod handover;
pub mod hex_bytes;
pub mod identity;
pub mod ids;
pub mod key_ceremony;
pub mod key_group;
pub mod limits;
pub mod parties;
pub mod policy;
pub mod prefixed_json;
pub mod retirement;
pub mod roster;
pub mod signed_request;
pub mod statement;
#[cfg(test)]
mod testing;
pub mod view;

pub use digest::Sha256Digest;
pub use identity::PublicIdentity;
pub use ids::{CeremonyId, IdError, KeyCeremonyId, KeyGroupName, ParticipantId, RequestId};
pub use key_group::KeyGroupFile;
pub use parties::{Party, PartyRole};
pub use policy::{Policy, PolicyError, Witnesses};
pub use roster::{Roster, RosterEntry, RosterError};
pub use signed_request::{RequestStatement, SignedRequest};
pub use statement::{Decision, SignedStatement, Statement, StatementSigner};
pub use view::CeremonyView;

pub use limits::MAX_MESSAGE_BYTES;

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}
