//! Shared quorate types: identities, rosters, key files and signature
//! formats, plus (with the `proto` feature) the generated gRPC code and its
//! conversions. Holds no ceremony logic (that is `quorate-ceremonies`) and
//! does no network I/O.

pub mod batch;
pub mod digest;
pub mod formats;
pub mod hex_bytes;
pub mod identity;
pub mod ids;
pub mod keyfile;
pub mod manifest;
pub mod parties;
pub mod passphrase;
pub mod pem;
pub mod policy;
pub mod roster;
pub mod sealed;
pub mod statement;
pub mod store_lock;
pub mod trust;

#[cfg(feature = "proto")]
pub mod proto;

pub use digest::Sha256Digest;
pub use identity::{IdentityKey, PublicIdentity};
pub use ids::{CeremonyId, IdError, KeyGroupName, ParticipantId};
pub use parties::{Party, PartyRole};
pub use passphrase::Passphrase;
pub use policy::{Policy, PolicyError};
pub use roster::{Roster, RosterEntry, RosterError};
pub use statement::{Decision, SignedStatement, Statement};

/// Largest message a ceremony signs. Approvers must be able to read all of
/// it, so it is a manifest of artifacts, never an artifact itself.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}
