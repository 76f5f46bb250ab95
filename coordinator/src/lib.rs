//! Carries and stores messages; makes no policy decisions.
//!
//! The coordinator serves the gRPC contract of `proto/quorate.proto`,
//! records every accepted ceremony event in sled (flushed before the reply),
//! and feeds each participant agent its work over a server stream. Every
//! decision about a ceremony is made by `quorate-ceremonies`; this crate
//! only hands it events, the time, and what it has stored.

pub mod auth;
pub mod clock;
pub mod config;
mod deadlines;
pub mod hub;
pub mod metrics;
pub mod observer;
mod server;
mod service;
pub mod store;

pub use config::Config;
pub use server::{RunningCoordinator, start, start_with_clock};
