//! Where a ceremony stands, in words for the people waiting on it.

use std::fmt;

use crate::quorum::describe_shortfall;
use crate::reason::RejectionReason;
use crate::{Ceremony, Outcome, Phase};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    AwaitingReview,
    Cancelled,
    CollectingApprovals,
    CollectingCommitments,
    Expired,
    Failed,
    Rejected,
    Signed,
    Signing,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::AwaitingReview => "signed, awaiting review",
            State::Cancelled => "cancelled",
            State::CollectingApprovals => "collecting approvals",
            State::CollectingCommitments => "collecting commitments",
            State::Expired => "expired",
            State::Failed => "failed",
            State::Rejected => "rejected",
            State::Signed => "signed",
            State::Signing => "signing",
        })
    }
}

/// A one-line account of a ceremony's progress, in words.
pub struct Progress<'a>(pub &'a Ceremony);

impl fmt::Display for Progress<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        if c.is_break_glass() && !c.is_finished() {
            f.write_str("BREAK-GLASS: ")?;
        }
        match c.phase() {
            Phase::ExpectApprovals => {
                let counted = counted_by_role(c);
                write!(f, "{counted}; needs {}", describe_shortfall(&c.shortfall()))?;
            }
            Phase::ExpectCommitments => {
                let owing: Vec<&str> = c.owing_commitments().iter().map(|p| p.as_str()).collect();
                write!(
                    f,
                    "{}; waiting for fresh commitments from {}",
                    counted_by_role(c),
                    owing.join(", ")
                )?;
            }
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
                )?;
            }
            Phase::Done(outcome) => return write_outcome(c, outcome, f),
        }
        for (p, reason) in c.dropped() {
            write!(f, "; dropped {p}: {reason}")?;
        }
        Ok(())
    }
}

fn write_outcome(c: &Ceremony, outcome: &Outcome, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match outcome {
        Outcome::Signed { .. } => match (c.is_break_glass(), c.review_record()) {
            (true, None) => f.write_str("signed under BREAK-GLASS; awaiting an auditor's review"),
            (true, Some(r)) => write!(f, "signed under BREAK-GLASS; reviewed by {}", r.by),
            (false, _) => f.write_str("signed"),
        },
        Outcome::Rejected { reason } => {
            write!(f, "rejected: {reason}")?;
            // A veto's words are the approver's, in its signed statement.
            if let RejectionReason::Vetoed { by, .. } = reason
                && let Some((_, words, _)) = c.rejections().iter().find(|(p, ..)| p == by)
            {
                write!(f, ": {words}")?;
            }
            Ok(())
        }
        Outcome::Failed { reason } => write!(f, "failed: {reason}"),
        Outcome::Expired { reason } => write!(f, "expired: {reason}"),
        Outcome::Cancelled { by, reason } => write!(f, "cancelled by {by}: {reason}"),
    }
}

/// "2 approvals counted (engineering 1, security 1)".
fn counted_by_role(c: &Ceremony) -> String {
    let mut by_role: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut n = 0;
    for (p, _) in c.approvals() {
        if c.dropped().contains_key(p)
            || (c.key_group().policy.prevent_self_approval && p.as_str() == c.request().requester)
        {
            continue;
        }
        n += 1;
        *by_role
            .entry(c.key_group().role_of(p).unwrap_or_default())
            .or_default() += 1;
    }
    let own = c.key_group().policy.prevent_self_approval
        && c.approvals()
            .iter()
            .any(|(p, _)| p.as_str() == c.request().requester);
    let own = if own {
        format!(
            " ({} requested it, so their own approval does not count)",
            c.request().requester
        )
    } else {
        String::new()
    };
    if n == 0 {
        return format!("no approvals yet{own}");
    }
    let roles: Vec<String> = by_role.iter().map(|(r, k)| format!("{r} {k}")).collect();
    format!(
        "{n} approval{} counted ({}){own}",
        if n == 1 { "" } else { "s" },
        roles.join(", ")
    )
}
