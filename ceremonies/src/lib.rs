//! Makes ceremony decisions; never does I/O.
//!
//! A [`Ceremony`] is a state machine over recorded [`Event`]s: the
//! coordinator calls [`Ceremony::handle`] with each event and the current
//! time and carries out the returned [`Action`]s; it reads no clock, no
//! network, no disk and no randomness of its own. Replaying the recorded
//! events through `handle` rebuilds the same state, which is how a restarted
//! coordinator resumes and how an auditor re-checks a ceremony.
//!
//! ```text
//! ExpectApprovals ─▶ ExpectCommitments ─▶ ExpectShares ─▶ Done(Signed)
//!        ▲                  ▲                  │
//!        └──────────────────┴── attempt abandoned (invalid share, lost nonces)
//! ```
//!
//! The FROST rounds themselves are split as frost-core splits them: the
//! participant agent runs round 1 and round 2 with its key share; this crate
//! forms the signing package, checks each signature share against its
//! verifying share, and aggregates.

pub mod backup_note;
mod ceremony;
mod error;
mod event;
pub mod key;
mod key_group;
pub mod lifecycle;
pub mod quorum;
pub mod reason;
pub mod record;
pub mod replay;
mod round;
pub mod statement_check;
mod status;
#[cfg(feature = "testing")]
pub mod testing;
mod time;

pub use ceremony::{Action, Ceremony, KNOWN_RULES, Outcome, Phase, RULES, Request, Review};
pub use error::CeremonyError;
pub use event::Event;
pub use key_group::KeyGroup;
pub use quorum::QuorumMet;
pub use record::{Entry, EntryError};
pub use round::{AggregateInvalid, PackageCheck, Round};
pub use status::{Progress, State};
pub use time::{Timestamp, human};
