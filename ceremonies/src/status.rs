//! Where a ceremony stands, in words for the people waiting on it.

use std::fmt;

use crate::{Ceremony, Outcome, Phase};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Cancelled,
    CollectingApprovals,
    CollectingCommitments,
    Failed,
    Rejected,
    Signed,
    Signing,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Cancelled => "cancelled",
            State::CollectingApprovals => "collecting approvals",
            State::CollectingCommitments => "collecting commitments",
            State::Failed => "failed",
            State::Rejected => "rejected",
            State::Signed => "signed",
            State::Signing => "signing",
        })
    }
}

/// A one-line account of a ceremony's progress.
pub struct Progress<'a>(pub &'a Ceremony);

impl fmt::Display for Progress<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        let t = usize::from(c.key_group().threshold);
        let usable = c
            .approvals()
            .iter()
            .filter(|(p, _)| !c.dropped().contains_key(p))
            .count();
        match c.phase() {
            Phase::ExpectApprovals => write!(
                f,
                "{usable} of {t} approvals; needs {} more",
                t.saturating_sub(usable)
            ),
            Phase::ExpectCommitments => write!(
                f,
                "{usable} approvals for a threshold of {t}; waiting for fresh commitments"
            ),
            Phase::ExpectShares(round) => {
                let missing: Vec<&str> = round
                    .signers()
                    .iter()
                    .filter(|s| !round.has_share(s))
                    .map(|s| s.as_str())
                    .collect();
                write!(
                    f,
                    "signing attempt {}: waiting for shares from {}",
                    round.attempt(),
                    missing.join(", ")
                )
            }
            Phase::Done(Outcome::Signed { .. }) => write!(f, "signed"),
            Phase::Done(Outcome::Rejected { reason }) => write!(f, "rejected: {reason}"),
            Phase::Done(Outcome::Failed { reason }) => write!(f, "failed: {reason}"),
            Phase::Done(Outcome::Cancelled { by, reason }) => {
                write!(f, "cancelled by {by}: {reason}")
            }
        }
    }
}
