//! Custodian backups of one approver's signing share, for when its only
//! copy is gone and too few helpers are reachable to repair it.
//!
//! The approver's agent splits its signing share s into n pieces, any m of
//! which restore it, with Feldman verifiable secret sharing (vsss-rs):
//! a random polynomial f of degree m - 1 with f(0) = s, piece i = f(i),
//! and the commitments C_j = a_j·B to its coefficients. Every piece carries
//! the commitments, so its custodian checks it alone: f(i)·B = Σ C_j·i^j.
//! And C_0 = s·B is the approver's verifying share, which the key group
//! file lists, so the commitments are the group's and no one else's. A
//! restored share is taken only if it is that verifying share's.
//!
//! Pieces travel as sealed files, each under its custodian's passphrase
//! ([`quorate_secrets::sealed`]), or as printable text with a checksum on
//! every line ([`printable`]).

pub mod commitments;
mod error;
pub mod piece;
pub mod printable;
pub mod restore;
pub mod split;

pub use commitments::Commitments;
pub use error::BackupError;
pub use piece::Piece;
pub use restore::restore;
pub use split::split;
