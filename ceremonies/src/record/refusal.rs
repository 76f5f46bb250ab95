//! What a refused caller tried, and why it was refused: codes the
//! coordinator records in a `refused` entry (the engine never sees these
//! calls). v1 entries held prose here, kept as `Prose`.

use std::fmt;

use quorate_types::{KeyGroupName, ParticipantId};
use serde::{Deserialize, Serialize};

/// The call a participant was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case", deny_unknown_fields)]
pub enum RefusedAction {
    Approve,
    Commit,
    Reject,
    SubmitShare,
    /// The words of a v1 entry.
    #[serde(skip)]
    Prose(String),
}

/// Why it was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case", deny_unknown_fields)]
pub enum RefusalReason {
    /// It handed in `owner`'s signed statement as its own.
    ForeignStatement { owner: ParticipantId },
    /// The ceremony belongs to a key group whose roster does not list it.
    NotInRoster { key_group: KeyGroupName },
    /// The words of a v1 entry.
    #[serde(skip)]
    Prose(String),
}

impl fmt::Display for RefusedAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Approve => "approve",
            Self::Commit => "commit",
            Self::Reject => "reject",
            Self::SubmitShare => "submit a signature share",
            Self::Prose(text) => text,
        })
    }
}

impl fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ForeignStatement { owner } => write!(
                f,
                "the statement is {owner}'s decision; a participant may only hand in its own"
            ),
            Self::NotInRoster { key_group } => {
                write!(f, "not in the roster of key group {key_group}")
            }
            Self::Prose(text) => f.write_str(text),
        }
    }
}
