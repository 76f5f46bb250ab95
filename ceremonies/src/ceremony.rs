//! The ceremony state machine.

mod restore;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use frost_ed25519::Signature;
use frost_ed25519::round1::SigningCommitments;
use quorate_types::batch::{self, FollowUp};
use quorate_types::{
    CeremonyId, Decision, KeyGroupName, MAX_MESSAGE_BYTES, ParticipantId, Sha256Digest,
    SignedStatement,
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

/// What a release manager asked for. Recorded first; never changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub id: CeremonyId,
    pub key_group: KeyGroupName,
    /// The authenticated identity that asked.
    pub requester: String,
    /// A human label, e.g. the message's file name.
    pub label: String,
    #[serde(with = "quorate_types::hex_bytes")]
    pub message: Vec<u8>,
    pub created_at: Timestamp,
    /// Set for a break-glass ceremony: the requester's written justification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_glass: Option<String>,
    /// What a digest-only message stands for (a git tag object whose
    /// SHA-512 the SSHSIG signed data holds); agents check it hashes to
    /// that digest before showing it. Empty for most messages.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "quorate_types::hex_bytes"
    )]
    pub context: Vec<u8>,
    /// The key group's roster the ceremony is judged by: 0 as registered,
    /// n after the nth recorded roster change.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub key_group_version: u64,
    /// Messages signed after `message`, in order, under the same
    /// approvals, each built by its rule from the signature before it (a
    /// minisign global signature). Empty for a single message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follow_ups: Vec<FollowUp>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// An auditor's review of a break-glass ceremony.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub by: String,
    pub notes: String,
    pub at: Timestamp,
}

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case", deny_unknown_fields)]
pub enum Outcome {
    /// The requester called it off; `reason` is the requester's own words.
    Cancelled {
        by: String,
        reason: String,
    },
    Expired {
        reason: ExpiryReason,
    },
    Failed {
        reason: FailureReason,
    },
    Rejected {
        reason: RejectionReason,
    },
    /// `signature` is the message's; a batch's follow-up messages'
    /// signatures follow in order.
    Signed {
        signature: Signature,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        follow_ups: Vec<Signature>,
    },
}

/// What the caller must do after an event. The coordinator pushes the new
/// state to the agents concerned whatever the actions; these say why.
/// The record keeps them as the decisions each event led to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// The attempt's package is void; its signers' nonces must be destroyed.
    AbandonAttempt { attempt: u32, reason: AbandonReason },
    /// The ceremony is over.
    Close(Outcome),
    /// Message `signed` of the batch is signed with `signature`; the next
    /// message, built from it, is signed next with fresh commitments.
    ContinueBatch { signed: u32, signature: Signature },
    /// A participant is out of the signing set for the rest of the ceremony.
    DropSigner {
        participant: ParticipantId,
        reason: DropReason,
    },
    /// These approvers must send fresh commitments.
    RequestCommitments { from: Vec<ParticipantId> },
    /// Send the new signing package to its signers.
    SendSigningPackage {
        attempt: u32,
        signers: Vec<ParticipantId>,
    },
}

impl Action {
    /// Whether this decision (the engine's, now) is the `recorded` one:
    /// equal, except that a reason an earlier release recorded as prose
    /// (v1) agrees with any reason of the same decision.
    pub fn agrees_with(&self, recorded: &Action) -> bool {
        match (self, recorded) {
            (
                Action::AbandonAttempt { attempt, reason },
                Action::AbandonAttempt {
                    attempt: a,
                    reason: r,
                },
            ) => attempt == a && reason.agrees_with(r),
            (
                Action::DropSigner {
                    participant,
                    reason,
                },
                Action::DropSigner {
                    participant: p,
                    reason: r,
                },
            ) => participant == p && reason.agrees_with(r),
            (Action::Close(outcome), Action::Close(o)) => outcome.agrees_with(o),
            _ => self == recorded,
        }
    }
}

impl Outcome {
    /// As [`Action::agrees_with`], for an outcome.
    pub fn agrees_with(&self, recorded: &Outcome) -> bool {
        match (self, recorded) {
            (Outcome::Expired { reason }, Outcome::Expired { reason: r }) => reason.agrees_with(r),
            (Outcome::Failed { reason }, Outcome::Failed { reason: r }) => reason.agrees_with(r),
            (Outcome::Rejected { reason }, Outcome::Rejected { reason: r }) => {
                reason.agrees_with(r)
            }
            _ => self == recorded,
        }
    }
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
    phase: Phase,
}

impl Ceremony {
    pub fn new(request: Request, key_group: Arc<KeyGroup>) -> Result<Self, CeremonyError> {
        if request.key_group != key_group.name {
            return Err(CeremonyError::InvalidRequest(format!(
                "request names key group {} but was given {}",
                request.key_group, key_group.name
            )));
        }
        if request.key_group_version != key_group.version {
            return Err(CeremonyError::InvalidRequest(format!(
                "request is judged by roster version {} of key group {}, but was given version {}",
                request.key_group_version, key_group.name, key_group.version
            )));
        }
        if request.message.is_empty() {
            return Err(CeremonyError::InvalidRequest(
                "the message to sign is empty".into(),
            ));
        }
        let policy = &key_group.policy;
        match &request.break_glass {
            Some(justification) => {
                if justification.trim().is_empty() {
                    return Err(CeremonyError::InvalidRequest(
                        "a break-glass ceremony needs a written justification".into(),
                    ));
                }
                let emergency = policy.emergency.as_ref().ok_or_else(|| {
                    CeremonyError::InvalidRequest(format!(
                        "key group {} has no emergency policy, so break-glass is not possible",
                        key_group.name
                    ))
                })?;
                if !emergency.declarers.contains(&request.requester) {
                    return Err(CeremonyError::NotAllowed {
                        who: request.requester.clone(),
                        action: format!("declare break-glass for key group {}", key_group.name),
                    });
                }
            }
            None => {
                if !policy.requesters.is_empty() && !policy.requesters.contains(&request.requester)
                {
                    return Err(CeremonyError::NotAllowed {
                        who: request.requester.clone(),
                        action: format!("request ceremonies for key group {}", key_group.name),
                    });
                }
            }
        }
        if request.message.len() > MAX_MESSAGE_BYTES {
            return Err(CeremonyError::InvalidRequest(format!(
                "the message is {} bytes; at most {MAX_MESSAGE_BYTES} bytes can be signed, \
                 so sign a manifest of the artifacts (e.g. SHA256SUMS) instead",
                request.message.len()
            )));
        }
        batch::check(&request.follow_ups)
            .map_err(|e| CeremonyError::InvalidRequest(format!("follow_ups: {e}")))?;
        if request.context.len() > MAX_MESSAGE_BYTES {
            return Err(CeremonyError::InvalidRequest(format!(
                "the context is {} bytes; at most {MAX_MESSAGE_BYTES} bytes",
                request.context.len()
            )));
        }
        Ok(Self::unjudged(request, key_group))
    }

    /// A ceremony of `request` with nothing applied yet, its request not
    /// checked.
    fn unjudged(request: Request, key_group: Arc<KeyGroup>) -> Self {
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
            } => {
                let participant = self.check_decision(statement, true)?;
                self.check_unused(participant, commitments)?;
                self.approvals.push((participant.clone(), now));
                self.statements.push(statement.clone());
                self.fresh.insert(participant.clone(), *commitments);
            }
            Event::Rejected { statement } => {
                let participant = self.check_decision(statement, false)?;
                let reason = match &statement.statement.decision {
                    Decision::Reject { reason } => reason.clone(),
                    Decision::Approve => String::new(),
                };
                self.rejections
                    .push((participant.clone(), reason.clone(), now));
                self.statements.push(statement.clone());
                let role = self.key_group.role_of(participant).unwrap_or_default();
                if self.key_group.policy.veto_roles.iter().any(|r| r == role) {
                    let outcome = Outcome::Rejected {
                        reason: RejectionReason::Vetoed {
                            by: participant.clone(),
                            role: role.to_string(),
                        },
                    };
                    self.phase = Phase::Done(outcome.clone());
                    return Ok(vec![Action::Close(outcome)]);
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
                let Phase::ExpectShares(round) = &mut self.phase else {
                    return Err(CeremonyError::NoSigningPackage {
                        state: self.state(),
                    });
                };
                if *attempt != round.attempt() {
                    return Err(CeremonyError::StaleAttempt {
                        got: *attempt,
                        current: round.attempt(),
                    });
                }
                if !round.is_signer(participant) {
                    return Err(CeremonyError::NotInSigningSet {
                        participant: participant.clone(),
                        attempt: *attempt,
                    });
                }
                if round.has_share(participant) {
                    return Err(CeremonyError::DuplicateShare {
                        participant: participant.clone(),
                        attempt: *attempt,
                    });
                }
                match round.check_share(&self.key_group, participant, share) {
                    ShareCheck::Valid if round.is_complete() => {
                        match round.aggregate(&self.key_group) {
                            Ok(signature)
                                if self.signatures.len() < self.request.follow_ups.len() =>
                            {
                                // More of the batch to sign: each message
                                // gets its own package and fresh nonces.
                                let signed = round.batch_index();
                                self.signatures.push(signature);
                                self.phase = Phase::ExpectCommitments;
                                actions.push(Action::ContinueBatch { signed, signature });
                            }
                            Ok(last) => {
                                let mut signatures = std::mem::take(&mut self.signatures);
                                signatures.push(last);
                                let signature = signatures.remove(0);
                                let outcome = Outcome::Signed {
                                    signature,
                                    follow_ups: signatures,
                                };
                                self.phase = Phase::Done(outcome.clone());
                                return Ok(vec![Action::Close(outcome)]);
                            }
                            // Every share verified, so this is not a signer's
                            // fault: fail rather than retry forever.
                            Err(AggregateInvalid) => {
                                let outcome = Outcome::Failed {
                                    reason: FailureReason::AggregateInvalid,
                                };
                                self.phase = Phase::Done(outcome.clone());
                                return Ok(vec![Action::Close(outcome)]);
                            }
                        }
                    }
                    ShareCheck::Valid => return Ok(actions),
                    ShareCheck::Invalid => {
                        let reason = DropReason::InvalidShare { attempt: *attempt };
                        self.drop_signer(participant, reason, &mut actions);
                    }
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
                self.phase = Phase::Done(outcome.clone());
                return Ok(vec![Action::Close(outcome)]);
            }
        }
        self.advance(now, &mut actions);
        Ok(actions)
    }

    /// Checks an approver's signed statement: the roster's identity key
    /// signed it, for this ceremony, key group, message and break-glass
    /// flag, with the decision the event claims, from an approver that has
    /// not decided yet. Returns the approver.
    fn check_decision<'s>(
        &self,
        signed: &'s SignedStatement,
        approve: bool,
    ) -> Result<&'s ParticipantId, CeremonyError> {
        let statement = &signed.statement;
        let participant = &statement.participant;
        let expected = Expected {
            ceremony: &self.request.id,
            key_group: &self.key_group.name,
            message_sha256: &self.message_sha256,
            follow_ups: &self.request.follow_ups,
            break_glass: self.request.break_glass.is_some(),
        };
        match check_statement(&self.key_group.roster, &expected, signed, approve) {
            Ok(()) => {}
            Err(StatementProblem::NotInRoster { .. }) => {
                return Err(CeremonyError::UnknownParticipant {
                    participant: participant.clone(),
                    key_group: self.key_group.name.to_string(),
                });
            }
            Err(StatementProblem::OtherMessage { got, expected }) => {
                return Err(CeremonyError::MessageMismatch {
                    participant: participant.clone(),
                    expected: expected.to_string(),
                    got: got.to_string(),
                });
            }
            Err(problem) => {
                return Err(CeremonyError::BadStatement {
                    participant: participant.clone(),
                    why: problem.to_string(),
                });
            }
        }
        if let Some(decision) = self.decision_of(participant) {
            return Err(CeremonyError::AlreadyDecided {
                participant: participant.clone(),
                decision,
            });
        }
        Ok(participant)
    }

    fn commit(
        &mut self,
        participant: &ParticipantId,
        commitments: &SigningCommitments,
        actions: &mut Vec<Action>,
    ) -> Result<(), CeremonyError> {
        if !self.approvals.iter().any(|(p, _)| p == participant) {
            return Err(CeremonyError::NotApproved {
                participant: participant.clone(),
            });
        }
        if let Some(reason) = self.dropped.get(participant) {
            return Err(CeremonyError::ParticipantDropped {
                participant: participant.clone(),
                reason: reason.clone(),
            });
        }
        if self.fresh.get(participant) == Some(commitments) {
            return Err(CeremonyError::DuplicateCommitments {
                participant: participant.clone(),
            });
        }
        self.check_unused(participant, commitments)?;
        // A signer that owes a share but sends fresh commitments has lost
        // the nonces of the package that is out: that package cannot finish.
        if let Phase::ExpectShares(round) = &self.phase
            && round.is_signer(participant)
            && !round.has_share(participant)
        {
            let attempt = round.attempt();
            self.phase = Phase::ExpectCommitments;
            actions.push(Action::AbandonAttempt {
                attempt,
                reason: AbandonReason::LostNonces {
                    participant: participant.clone(),
                },
            });
        }
        self.fresh.insert(participant.clone(), *commitments);
        Ok(())
    }

    fn check_unused(
        &self,
        participant: &ParticipantId,
        commitments: &SigningCommitments,
    ) -> Result<(), CeremonyError> {
        if self.used.contains(commitments) {
            return Err(CeremonyError::CommitmentsReused {
                participant: participant.clone(),
            });
        }
        Ok(())
    }

    fn drop_signer(
        &mut self,
        participant: &ParticipantId,
        reason: DropReason,
        actions: &mut Vec<Action>,
    ) {
        self.dropped.insert(participant.clone(), reason.clone());
        self.fresh.remove(participant);
        actions.push(Action::DropSigner {
            participant: participant.clone(),
            reason: reason.clone(),
        });
        if let Phase::ExpectShares(round) = &self.phase {
            actions.push(Action::AbandonAttempt {
                attempt: round.attempt(),
                reason: AbandonReason::SignerDropped {
                    participant: participant.clone(),
                },
            });
            self.phase = Phase::ExpectCommitments;
        }
    }

    /// Moves on as far as the approvals and commitments allow.
    fn advance(&mut self, now: Timestamp, actions: &mut Vec<Action>) {
        if matches!(self.phase, Phase::ExpectShares(_) | Phase::Done(_)) {
            return;
        }
        let approvals: Vec<ParticipantId> = self.approvals.iter().map(|(p, _)| p.clone()).collect();
        let rejected: BTreeSet<ParticipantId> =
            self.rejections.iter().map(|(p, _, _)| p.clone()).collect();
        let rules = self.rules();
        let selection = quorum::select(&quorum::Inputs {
            key_group: &self.key_group,
            rules: &rules,
            excluded: self.excluded(),
            approvals: &approvals,
            rejected: &rejected,
            dropped: &self.dropped,
            fresh: &self.fresh,
        });
        match selection {
            Selection::Ready(quorum) => {
                self.attempts += 1;
                let (index, message) = self.next_message();
                let round =
                    Round::new(self.attempts, quorum, &mut self.fresh, index, &message, now);
                self.used
                    .extend(round.package().signing_commitments().values().copied());
                self.last_round_at = Some(now);
                actions.push(Action::SendSigningPackage {
                    attempt: round.attempt(),
                    signers: round.signers().to_vec(),
                });
                self.phase = Phase::ExpectShares(round);
            }
            Selection::NeedCommitments(from) => {
                self.phase = Phase::ExpectCommitments;
                actions.push(Action::RequestCommitments { from });
            }
            Selection::NeedApprovals => self.phase = Phase::ExpectApprovals,
            Selection::Impossible => {
                let still_needed = self.shortfall();
                let outcome = if rejected.is_empty() {
                    Outcome::Failed {
                        reason: FailureReason::TooFewSigners { still_needed },
                    }
                } else {
                    Outcome::Rejected {
                        reason: RejectionReason::QuorumImpossible {
                            rejected_by: self.rejections.iter().map(|(p, ..)| p.clone()).collect(),
                            still_needed,
                        },
                    }
                };
                self.phase = Phase::Done(outcome.clone());
                actions.push(Action::Close(outcome));
            }
        }
    }

    fn deadline_passed(
        &mut self,
        now: Timestamp,
        actions: &mut Vec<Action>,
    ) -> Result<(), CeremonyError> {
        let Some(next) = self.next_deadline().filter(|d| *d <= now) else {
            return Err(CeremonyError::NotDue {
                next: self.next_deadline().map(|d| d.unix_ms()),
            });
        };
        let _ = next;
        let deadlines = self.rules().deadlines;
        let created = self.request.created_at;
        if now >= created.after(deadlines.overall) {
            let deadline_ms = reason::millis(deadlines.overall);
            self.expire(ExpiryReason::OverallDeadline { deadline_ms }, actions);
            return Ok(());
        }
        match &self.phase {
            Phase::ExpectApprovals if now >= created.after(deadlines.approval) => {
                let reason = ExpiryReason::ApprovalDeadline {
                    deadline_ms: reason::millis(deadlines.approval),
                    still_needed: self.shortfall(),
                };
                self.expire(reason, actions);
            }
            Phase::ExpectShares(round) if now >= round.formed_at().after(deadlines.signing) => {
                let late: Vec<ParticipantId> = round
                    .signers()
                    .iter()
                    .filter(|s| !round.has_share(s))
                    .cloned()
                    .collect();
                let reason = DropReason::MissedSigningDeadline {
                    attempt: round.attempt(),
                    deadline_ms: reason::millis(deadlines.signing),
                };
                for signer in late {
                    self.drop_signer(&signer, reason.clone(), actions);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn expire(&mut self, reason: ExpiryReason, actions: &mut Vec<Action>) {
        let outcome = Outcome::Expired { reason };
        self.phase = Phase::Done(outcome.clone());
        actions.push(Action::Close(outcome));
    }

    fn review(
        &mut self,
        by: &str,
        notes: &str,
        now: Timestamp,
    ) -> Result<Vec<Action>, CeremonyError> {
        let Some(emergency) = &self.key_group.policy.emergency else {
            return Err(CeremonyError::NoReviewNeeded(
                "it is not break-glass".into(),
            ));
        };
        if self.request.break_glass.is_none() {
            return Err(CeremonyError::NoReviewNeeded(
                "it is not break-glass".into(),
            ));
        }
        if !emergency.reviewers.iter().any(|r| r == by) {
            return Err(CeremonyError::NotAllowed {
                who: by.into(),
                action: "review break-glass ceremonies of this key group".into(),
            });
        }
        if notes.trim().is_empty() {
            return Err(CeremonyError::InvalidRequest(
                "a review needs notes on what was checked".into(),
            ));
        }
        if self.review.is_some() {
            return Err(CeremonyError::NoReviewNeeded(
                "it was reviewed already".into(),
            ));
        }
        if !matches!(self.phase, Phase::Done(_)) {
            return Err(CeremonyError::NoReviewNeeded(
                "it is still open; review it once it has ended".into(),
            ));
        }
        self.review = Some(Review {
            by: by.into(),
            notes: notes.into(),
            at: now,
        });
        Ok(Vec::new())
    }

    /// The rules this ceremony runs under: break-glass or normal.
    pub fn rules(&self) -> Rules {
        let policy = &self.key_group.policy;
        let t = self.key_group.threshold;
        match (&self.request.break_glass, policy.emergency_rules(t)) {
            (Some(_), Some(rules)) => rules,
            _ => policy.rules(t),
        }
    }

    fn excluded(&self) -> Option<&str> {
        self.key_group
            .policy
            .prevent_self_approval
            .then_some(self.request.requester.as_str())
    }

    /// What the approvals so far still lack.
    pub fn shortfall(&self) -> Shortfall {
        let roles: Vec<&str> = self
            .approvals
            .iter()
            .map(|(p, _)| p)
            .filter(|p| !self.dropped.contains_key(*p) && self.excluded() != Some(p.as_str()))
            .map(|p| self.key_group.role_of(p).unwrap_or_default())
            .collect();
        quorum::shortfall(&roles, &self.rules())
    }

    /// Counted approvers the ceremony waits on for fresh commitments.
    pub fn owing_commitments(&self) -> Vec<&ParticipantId> {
        self.approvals
            .iter()
            .map(|(p, _)| p)
            .filter(|p| self.wants_commitments_from(p) && self.excluded() != Some(p.as_str()))
            .collect()
    }

    /// When the coordinator must next hand the ceremony the time, if ever.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let deadlines = self.rules().deadlines;
        let created = self.request.created_at;
        let overall = created.after(deadlines.overall);
        let phase = match &self.phase {
            Phase::Done(_) => return None,
            Phase::ExpectApprovals => created.after(deadlines.approval),
            Phase::ExpectCommitments => overall,
            Phase::ExpectShares(round) => round.formed_at().after(deadlines.signing),
        };
        Some(phase.min(overall))
    }

    // === accessors ===

    pub fn id(&self) -> &CeremonyId {
        &self.request.id
    }

    pub fn request(&self) -> &Request {
        &self.request
    }

    pub fn key_group(&self) -> &KeyGroup {
        &self.key_group
    }

    pub fn message_sha256(&self) -> Sha256Digest {
        self.message_sha256
    }

    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    pub fn approvals(&self) -> &[(ParticipantId, Timestamp)] {
        &self.approvals
    }

    /// Every signed approval and rejection, in the order they came.
    pub fn statements(&self) -> &[SignedStatement] {
        &self.statements
    }

    /// The signed approval of `participant`, if it approved.
    pub fn approval_of(&self, participant: &ParticipantId) -> Option<&SignedStatement> {
        self.statements.iter().find(|s| {
            &s.statement.participant == participant
                && matches!(s.statement.decision, Decision::Approve)
        })
    }

    pub fn rejections(&self) -> &[(ParticipantId, String, Timestamp)] {
        &self.rejections
    }

    pub fn dropped(&self) -> &BTreeMap<ParticipantId, DropReason> {
        &self.dropped
    }

    /// The number of events applied: each accepted event adds one.
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Done(_))
    }

    pub fn signature(&self) -> Option<&Signature> {
        match &self.phase {
            Phase::Done(Outcome::Signed { signature, .. }) => Some(signature),
            _ => None,
        }
    }

    /// The signatures of the batch's messages signed so far, in order:
    /// the message's, then each follow-up's.
    pub fn batch_signatures(&self) -> Vec<Signature> {
        match &self.phase {
            Phase::Done(Outcome::Signed {
                signature,
                follow_ups,
            }) => std::iter::once(*signature)
                .chain(follow_ups.iter().copied())
                .collect(),
            _ => self.signatures.clone(),
        }
    }

    /// The index in the batch of the message signed next, and its bytes.
    fn next_message(&self) -> (u32, Vec<u8>) {
        let index = self.signatures.len();
        let message = match (index.checked_sub(1), self.signatures.last()) {
            (Some(previous), Some(signature)) => self
                .request
                .follow_ups
                .get(previous)
                .map(|f| f.message(&signature_bytes(signature)))
                .unwrap_or_default(),
            _ => self.request.message.clone(),
        };
        // At most 1 + MAX_FOLLOW_UPS messages (checked in `new`).
        (u32::try_from(index).unwrap_or(u32::MAX), message)
    }

    /// `approved` or `rejected` if the participant decided.
    pub fn decision_of(&self, participant: &ParticipantId) -> Option<&'static str> {
        if self.approvals.iter().any(|(p, _)| p == participant) {
            Some("approved")
        } else if self.rejections.iter().any(|(p, _, _)| p == participant) {
            Some("rejected")
        } else {
            None
        }
    }

    /// Whether the ceremony waits on fresh commitments from `participant`.
    pub fn wants_commitments_from(&self, participant: &ParticipantId) -> bool {
        matches!(
            self.phase,
            Phase::ExpectApprovals | Phase::ExpectCommitments
        ) && self.approvals.iter().any(|(p, _)| p == participant)
            && !self.dropped.contains_key(participant)
            && !self.fresh.contains_key(participant)
    }

    /// The signing package `participant` owes a share for, if any.
    pub fn package_for(&self, participant: &ParticipantId) -> Option<&Round> {
        match &self.phase {
            Phase::ExpectShares(round)
                if round.is_signer(participant) && !round.has_share(participant) =>
            {
                Some(round)
            }
            _ => None,
        }
    }

    pub(crate) fn state_of(phase: &Phase) -> State {
        match phase {
            Phase::ExpectApprovals => State::CollectingApprovals,
            Phase::ExpectCommitments => State::CollectingCommitments,
            Phase::ExpectShares(_) => State::Signing,
            Phase::Done(Outcome::Signed { .. }) => State::Signed,
            Phase::Done(Outcome::Expired { .. }) => State::Expired,
            Phase::Done(Outcome::Rejected { .. }) => State::Rejected,
            Phase::Done(Outcome::Failed { .. }) => State::Failed,
            Phase::Done(Outcome::Cancelled { .. }) => State::Cancelled,
        }
    }

    pub fn state(&self) -> State {
        match Self::state_of(&self.phase) {
            State::Signed if self.request.break_glass.is_some() && self.review.is_none() => {
                State::AwaitingReview
            }
            state => state,
        }
    }

    /// When the latest signing package was formed, in unix ms.
    pub fn last_round_formed_at(&self) -> Option<i64> {
        self.last_round_at.map(|t| t.unix_ms())
    }

    pub fn is_break_glass(&self) -> bool {
        self.request.break_glass.is_some()
    }

    pub fn review_record(&self) -> Option<&Review> {
        self.review.as_ref()
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
