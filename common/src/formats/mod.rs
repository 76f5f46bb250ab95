//! Signature formats a consumer's own tools check (an aggregate is a plain
//! Ed25519 signature, so each format only wraps what the ceremony signs).

pub mod dsse;
pub mod git_tag;
pub mod minisign;
pub mod sshsig;
