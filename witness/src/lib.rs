//! A witness ([c2sp.org/tlog-witness](https://c2sp.org/tlog-witness)):
//! cosigns a log's checkpoints, and only after checking that each one
//! extends the last it cosigned for that log, which it keeps on disk.
//!
//! - [`request`] parses an `add-checkpoint` body.
//! - [`Witness`] judges one, sans I/O: given the latest cosigned
//!   checkpoint and the time, it returns the cosignature and the new latest,
//!   or a [`Refusal`] with its HTTP status.
//! - [`state`] keeps the latest cosigned checkpoint of each log durably.
//! - [`key_file`] keeps the witness's key.
//! - [`serve`] answers `POST /add-checkpoint` over HTTP, checking and
//!   persisting under one lock before it replies.
//!
//! A quorate deployment's witnesses cosign the coordinator's record, so
//! that a coordinator cannot show two parties two histories.

mod judge;
pub mod key_file;
pub mod request;
pub mod serve;
pub mod state;

pub use judge::{Accepted, Refusal, Witness};
pub use request::AddCheckpoint;
pub use state::Latest;
