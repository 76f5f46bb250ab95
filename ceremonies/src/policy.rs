//! Whose approvals form the signing set. For now the policy is FROST's own:
//! any t approvers who have not been dropped; role rules come on top here.

use std::collections::{BTreeMap, BTreeSet};

use frost_ed25519::round1::SigningCommitments;
use quorate_common::ParticipantId;

use crate::KeyGroup;

/// Proof that a signing set satisfies the policy. Only this module makes
/// one, and a signing round cannot be formed without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumMet {
    signers: Vec<ParticipantId>,
}

impl QuorumMet {
    pub fn signers(&self) -> &[ParticipantId] {
        &self.signers
    }
}

/// What the policy says about the approvals so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selection {
    /// A signing set with unused commitments for every member.
    Ready(QuorumMet),
    /// Enough approvals, but these approvers owe fresh commitments.
    NeedCommitments(Vec<ParticipantId>),
    /// This many more approvals are needed, and enough approvers are left.
    NeedApprovals(usize),
    /// Too few approvers are left who could still approve and sign.
    Impossible { left: usize },
}

pub(crate) struct Inputs<'a> {
    pub key_group: &'a KeyGroup,
    /// Approvers in the order they approved.
    pub approvals: &'a [ParticipantId],
    pub rejected: &'a BTreeSet<ParticipantId>,
    pub dropped: &'a BTreeMap<ParticipantId, String>,
    pub fresh: &'a BTreeMap<ParticipantId, SigningCommitments>,
}

pub(crate) fn select(inputs: &Inputs<'_>) -> Selection {
    let t = usize::from(inputs.key_group.threshold);
    let active: Vec<&ParticipantId> = inputs
        .approvals
        .iter()
        .filter(|p| !inputs.dropped.contains_key(*p))
        .collect();
    if active.len() < t {
        let left = inputs
            .key_group
            .roster
            .ids()
            .filter(|p| !inputs.rejected.contains(*p) && !inputs.dropped.contains_key(*p))
            .count();
        return if left < t {
            Selection::Impossible { left }
        } else {
            Selection::NeedApprovals(t - active.len())
        };
    }
    // Prefer approvers whose commitments are ready, then earlier approvers.
    let (ready, owing): (Vec<&ParticipantId>, Vec<&ParticipantId>) = active
        .iter()
        .copied()
        .partition(|p| inputs.fresh.contains_key(*p));
    if ready.len() >= t {
        let signers = ready.into_iter().take(t).cloned().collect();
        Selection::Ready(QuorumMet { signers })
    } else {
        Selection::NeedCommitments(owing.into_iter().cloned().collect())
    }
}
