//! A finished ceremony as its record tells it.
//!
//! A closed ceremony is not judged again when a coordinator starts: its
//! approvals, rejections, dropped signers, attempts, outcome and review are
//! taken from the recorded events and decisions as they stand. They were
//! judged when they were recorded, an auditor's replay re-checks them
//! offline, and today's rules may refuse what yesterday's allowed (a
//! coordinator must never fail to start over its own history). Open
//! ceremonies are replayed through the engine as before.

use super::*;

impl Ceremony {
    /// The ceremony `events` (each with its time and recorded decisions)
    /// closed, as the record tells it; `None` if no recorded decision
    /// closed it. Its only input from then on is an auditor's review.
    pub fn from_record<'a>(
        request: Request,
        key_group: Arc<KeyGroup>,
        events: impl IntoIterator<Item = (&'a Event, Timestamp, &'a [Action])>,
    ) -> Option<Self> {
        let mut c = Self::unjudged(request, key_group);
        let mut outcome = None;
        for (event, at, decisions) in events {
            match event {
                Event::Approved { statement, .. } => {
                    c.approvals
                        .push((statement.statement.participant.clone(), at));
                    c.statements.push(statement.clone());
                }
                Event::Rejected { statement } => {
                    let reason = match &statement.statement.decision {
                        Decision::Reject { reason } => reason.clone(),
                        Decision::Approve => String::new(),
                    };
                    c.rejections
                        .push((statement.statement.participant.clone(), reason, at));
                    c.statements.push(statement.clone());
                }
                Event::Reviewed { by, notes } => {
                    c.review = Some(Review {
                        by: by.clone(),
                        notes: notes.clone(),
                        at,
                    });
                }
                Event::Cancelled { .. }
                | Event::Committed { .. }
                | Event::DeadlinePassed
                | Event::ShareSubmitted { .. } => {}
            }
            for decision in decisions {
                match decision {
                    Action::Close(o) => outcome = Some(o.clone()),
                    Action::ContinueBatch { signature, .. } => c.signatures.push(*signature),
                    Action::DropSigner {
                        participant,
                        reason,
                    } => {
                        c.dropped.insert(participant.clone(), reason.clone());
                    }
                    Action::SendSigningPackage { attempt, .. } => {
                        c.attempts = *attempt;
                        c.last_round_at = Some(at);
                    }
                    Action::AbandonAttempt { .. } | Action::RequestCommitments { .. } => {}
                }
            }
            c.version += 1;
            c.last_at = c.last_at.max(at);
        }
        c.phase = Phase::Done(outcome?);
        Some(c)
    }
}
