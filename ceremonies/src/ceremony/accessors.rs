//! What a ceremony shows: its request, key group, rules, phase, decisions
//! so far, and what it waits for. Read-only.
use super::*;

impl Ceremony {
    /// The rules this ceremony runs under: break-glass or normal.
    pub fn rules(&self) -> Rules {
        let policy = &self.key_group.policy;
        let t = self.key_group.threshold;
        // A break-glass request needs an emergency policy to start.
        policy
            .rules_for(self.is_break_glass(), t)
            .unwrap_or_else(|| policy.rules(t))
    }

    pub(super) fn excluded(&self) -> Option<&str> {
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
            Phase::Done(outcome) => Self::state_of_outcome(outcome),
        }
    }

    /// The state a ceremony closed with `outcome` is in, break-glass
    /// review aside.
    pub(crate) fn state_of_outcome(outcome: &Outcome) -> State {
        match outcome {
            Outcome::Signed { .. } => State::Signed,
            Outcome::Expired { .. } => State::Expired,
            Outcome::Rejected { .. } => State::Rejected,
            Outcome::Failed { .. } => State::Failed,
            Outcome::Cancelled { .. } => State::Cancelled,
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

    /// The time of the latest event (the request's, before any): the
    /// earliest the next event may be recorded at, so that a clock that
    /// steps back never makes the record go back in time.
    pub fn last_event_at(&self) -> Timestamp {
        self.last_at
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
