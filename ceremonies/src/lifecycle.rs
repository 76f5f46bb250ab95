//! Which ceremonies are live, read from the record alone: a ceremony is
//! live from its request until it reaches a final state. Signed under
//! break-glass is not final until an auditor reviews it (it is "signed,
//! awaiting review" until then); every other closed ceremony is.
//!
//! The coordinator's store keeps the set of live ceremonies, and counts of
//! the others by final state, as it appends: a coordinator starts by
//! loading only live ceremonies, and its memory holds only them, however
//! long its history. The engine agrees (tests/lifecycle.rs replays every
//! vector and checks it).

use crate::ceremony::{Action, Ceremony};
use crate::{Entry, Event, State};
use quorate_types::CeremonyId;

/// What an entry does to the set of live ceremonies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lifecycle<'a> {
    /// A ceremony was requested; whether it is break-glass.
    Opens {
        ceremony: &'a CeremonyId,
        break_glass: bool,
    },
    /// The ceremony reaches `state`, a final state, if it is live. `state`
    /// depends on whether the ceremony is break-glass, which the request
    /// said.
    Ends {
        ceremony: &'a CeremonyId,
        ending: Ending,
    },
    /// Nothing changes.
    Same,
}

/// How a live ceremony ends, given whether it is break-glass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Closed in this state (never [`State::Signed`] of a break-glass
    /// ceremony: that one awaits review, and stays live).
    Closed(State),
    /// Reviewed: a break-glass ceremony awaiting review ends signed.
    Reviewed,
}

impl Ending {
    /// The final state a live ceremony reaches, or `None` if it stays live.
    pub fn state(self, break_glass: bool) -> Option<State> {
        match self {
            Ending::Closed(State::Signed) if break_glass => None,
            Ending::Closed(state) => Some(state),
            Ending::Reviewed => Some(State::Signed),
        }
    }
}

impl Entry {
    /// What this entry does to the set of live ceremonies.
    pub fn lifecycle(&self) -> Lifecycle<'_> {
        match self {
            Entry::CeremonyRequested { request, .. } => Lifecycle::Opens {
                ceremony: &request.id,
                break_glass: request.break_glass.is_some(),
            },
            Entry::CeremonyEvent {
                ceremony,
                event,
                decisions,
                ..
            } => {
                let closed = decisions.iter().find_map(|d| match d {
                    Action::Close(outcome) => Some(Ceremony::state_of_outcome(outcome)),
                    _ => None,
                });
                match (closed, event) {
                    (Some(state), _) => Lifecycle::Ends {
                        ceremony,
                        ending: Ending::Closed(state),
                    },
                    (None, Event::Reviewed { .. }) => Lifecycle::Ends {
                        ceremony,
                        ending: Ending::Reviewed,
                    },
                    (None, _) => Lifecycle::Same,
                }
            }
            _ => Lifecycle::Same,
        }
    }
}

/// Whether a ceremony in `state` is live.
pub fn is_live(state: State) -> bool {
    matches!(
        state,
        State::CollectingApprovals
            | State::CollectingCommitments
            | State::Signing
            | State::AwaitingReview
    )
}
