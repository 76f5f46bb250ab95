//! Carries and stores messages; makes no policy decisions.
//!
//! The coordinator serves the gRPC contract of `proto/quorate.proto`,
//! appends every accepted change to the record (an RFC 6962 log in redb,
//! flushed before the reply), serves the record's signed checkpoints and
//! proofs, and feeds each participant agent its work over a server stream. Every
//! decision about a ceremony is made by `quorate-ceremonies`; this crate
//! only hands it events, the time, and what it has stored.

pub mod auth;
pub mod authz;
pub mod cli;
pub mod clock;
pub mod config;
mod deadlines;
pub mod hub;
pub mod limits;
pub mod log_key;
pub mod metrics;
pub mod migrate;
pub mod observer;
pub mod outbox;
mod poison;
mod server;
mod service;
pub mod snapshot;
pub mod store;
pub mod tls;
mod web;
pub mod witnessing;

pub use config::Config;
pub use server::{RunningCoordinator, start, start_with_clock, start_with_store};
