//! Test vectors and helpers for this crate's tests and its dependents'
//! (feature `testing`; never in a release build).

pub mod rfc9591;
