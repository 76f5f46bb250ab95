//! The ceremony state machine: [`Ceremony::handle`] takes one event at a
//! time and returns the decisions it led to. This file holds the state and
//! the dispatch; each concern is a module of its own: the request and its
//! checks, approvals, signing, deadlines, the review, the decisions, what a
//! ceremony shows, and loading a closed one from its record.

mod accessors;
mod approval;
mod deadlines;
mod decisions;
mod request;
mod restore;
mod review;
mod signing;

pub use decisions::{Action, Outcome};
use request::check_request;
pub use request::{KNOWN_RULES, RULES, Request};
pub use review::Review;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use frost_ed25519::Signature;
use frost_ed25519::round1::SigningCommitments;
use quorate_types::batch::{self, FollowUp};
use quorate_types::{
    CeremonyId, Decision, KeyGroupName, ParticipantId, Sha256Digest, SignedStatement,
};
use serde::{Deserialize, Serialize};

use crate::quorum::{self, Selection, Shortfall};
use crate::reason::{
    self, AbandonReason, Agrees, DropReason, ExpiryReason, FailureReason, RejectionReason,
};
use crate::round::{AggregateInvalid, ShareCheck};
use crate::statement_check::{Expected, StatementProblem, check_statement};
use crate::{CeremonyError, Event, KeyGroup, Round, State, Timestamp};
use quorate_types::policy::Rules;

/// Where a ceremony is.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Fewer than t usable approvals so far.
    ExpectApprovals,
    /// Enough approvals; waiting for unused commitments from enough of them.
    ExpectCommitments,
    /// A signing package is out; collecting round-2 shares.
    ExpectShares(Round),
    Done(Outcome),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ceremony {
    request: Request,
    message_sha256: Sha256Digest,
    key_group: Arc<KeyGroup>,
    /// Approvers in the order they approved, with the time.
    approvals: Vec<(ParticipantId, Timestamp)>,
    rejections: Vec<(ParticipantId, String, Timestamp)>,
    /// The signed approvals and rejections, in the order they came.
    statements: Vec<SignedStatement>,
    /// Unused round-1 commitments per approver.
    fresh: BTreeMap<ParticipantId, SigningCommitments>,
    /// Participants out of signing, with the reason.
    dropped: BTreeMap<ParticipantId, DropReason>,
    /// Every commitment that has gone into a package: never taken again.
    used: Vec<SigningCommitments>,
    /// The post-incident review of a break-glass ceremony.
    review: Option<Review>,
    /// Signatures of the batch's messages signed so far, in order; the
    /// next package signs message `signatures.len()`.
    signatures: Vec<Signature>,
    /// Signing packages formed so far.
    attempts: u32,
    /// When the latest signing package was formed.
    last_round_at: Option<Timestamp>,
    /// Events applied so far.
    version: u64,
    /// The time of the latest event (the request's, before any).
    last_at: Timestamp,
    phase: Phase,
}

impl Ceremony {
    pub fn new(request: Request, key_group: Arc<KeyGroup>) -> Result<Self, CeremonyError> {
        check_request(&request, &key_group)?;
        Ok(Self::unjudged(request, key_group))
    }

    /// A ceremony of `request` with nothing applied yet, its request not
    /// checked.
    fn unjudged(request: Request, key_group: Arc<KeyGroup>) -> Self {
        let created_at = request.created_at;
        Self {
            message_sha256: Sha256Digest::of(&request.message),
            request,
            key_group,
            approvals: Vec::new(),
            rejections: Vec::new(),
            statements: Vec::new(),
            fresh: BTreeMap::new(),
            dropped: BTreeMap::new(),
            used: Vec::new(),
            signatures: Vec::new(),
            review: None,
            attempts: 0,
            last_round_at: None,
            version: 0,
            last_at: created_at,
            phase: Phase::ExpectApprovals,
        }
    }

    /// Rebuilds a ceremony from its recorded events. Names the first event
    /// that does not apply.
    pub fn replay<'a>(
        request: Request,
        key_group: Arc<KeyGroup>,
        events: impl IntoIterator<Item = (&'a Event, Timestamp)>,
    ) -> Result<Self, (usize, CeremonyError)> {
        let mut ceremony = Self::new(request, key_group).map_err(|e| (0, e))?;
        for (i, (event, at)) in events.into_iter().enumerate() {
            ceremony.handle(event, at).map_err(|e| (i + 1, e))?;
        }
        Ok(ceremony)
    }

    /// Applies one event at time `now`. On error nothing changes.
    pub fn handle(&mut self, event: &Event, now: Timestamp) -> Result<Vec<Action>, CeremonyError> {
        let mut next = self.clone();
        let actions = next.apply(event, now)?;
        next.version += 1;
        next.last_at = next.last_at.max(now);
        *self = next;
        Ok(actions)
    }

    fn apply(&mut self, event: &Event, now: Timestamp) -> Result<Vec<Action>, CeremonyError> {
        if let Event::Reviewed { by, notes } = event {
            return self.review(by, notes, now);
        }
        if let Phase::Done(_) = self.phase {
            return Err(CeremonyError::Finished {
                state: self.state(),
            });
        }
        let mut actions = Vec::new();
        // A deadline takes effect at its time, whether or not the clock's
        // own event came first: an input that arrives late meets the
        // ceremony as the deadline left it.
        if !matches!(event, Event::DeadlinePassed | Event::Cancelled { .. })
            && self.next_deadline().is_some_and(|d| d <= now)
        {
            self.deadline_passed(now, &mut actions)?;
            if let Phase::Done(_) = self.phase {
                return Err(CeremonyError::Finished {
                    state: self.state(),
                });
            }
        }
        match event {
            Event::Approved {
                statement,
                commitments,
            } => self.approved(statement, commitments, now)?,
            Event::Rejected { statement } => {
                if let Some(outcome) = self.rejected(statement, now)? {
                    return Ok(vec![self.close(outcome)]);
                }
            }
            Event::Committed {
                participant,
                commitments,
            } => self.commit(participant, commitments, &mut actions)?,
            Event::ShareSubmitted {
                participant,
                attempt,
                share,
            } => {
                if let Some(outcome) =
                    self.share_submitted(participant, *attempt, share, &mut actions)?
                {
                    return Ok(vec![self.close(outcome)]);
                }
                if matches!(self.phase, Phase::ExpectShares(_)) {
                    return Ok(actions);
                }
            }
            Event::DeadlinePassed => self.deadline_passed(now, &mut actions)?,
            Event::Reviewed { .. } => unreachable!("handled above"),
            Event::Cancelled { by, reason } => {
                if *by != self.request.requester {
                    return Err(CeremonyError::NotAllowed {
                        who: by.clone(),
                        action: format!(
                            "cancel ceremony {}, which {} requested",
                            self.request.id, self.request.requester
                        ),
                    });
                }
                let outcome = Outcome::Cancelled {
                    by: by.clone(),
                    reason: reason.clone(),
                };
                return Ok(vec![self.close(outcome)]);
            }
        }
        self.advance(now, &mut actions);
        Ok(actions)
    }
}

/// The 64 bytes of an Ed25519 signature. An aggregate always encodes to 64
/// bytes (the engine checked it with ed25519-dalek); were it not to, the
/// zeros would make a follow-up message no agent signs.
pub(crate) fn signature_bytes(signature: &Signature) -> [u8; 64] {
    signature
        .serialize()
        .ok()
        .and_then(|bytes| <[u8; 64]>::try_from(bytes.as_slice()).ok())
        .unwrap_or([0; 64])
}
