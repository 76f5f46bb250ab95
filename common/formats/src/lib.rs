//! The signature formats consumers verify with their own tools, each with
//! what a ceremony signs for it, how the signature file is written, and how
//! `quorate verify` checks it: raw Ed25519 over a manifest (PEM keys),
//! OpenSSH signatures (PROTOCOL.sshsig), annotated git tags, DSSE envelopes
//! of in-toto statements and minisign files; each format's signature file,
//! written from a checked signature ([`signature_file`]); and the trust
//! policy that says which key groups may sign what. No I/O: callers read
//! and write the files.

pub mod dsse;
pub mod git_tag;
pub use quorate_types::handover;
#[cfg(test)]
mod handover_tests;
pub mod manifest;
pub mod minisign;
pub mod pem;
pub mod raw;
pub mod signature_file;
pub mod sshsig;
pub mod trust;
