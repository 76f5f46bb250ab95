//! Whose approvals form the signing set: at least the rules' number of
//! signers (never fewer than t), the required count of each role, never the
//! requester's own approval when self-approval is prevented, never a
//! dropped participant. The coordinator uses [`select`] to form signing
//! sets; each agent uses [`check_signing_set`] before it signs.

use std::collections::{BTreeMap, BTreeSet};

use frost_ed25519::round1::SigningCommitments;
use quorate_types::ParticipantId;
use quorate_types::policy::{Rules, satisfiable};
use serde::{Deserialize, Serialize};

use crate::KeyGroup;
use crate::reason::DropReason;

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
    /// More approvals are needed, and enough approvers are left.
    NeedApprovals,
    /// Too few approvers are left who could still approve and sign.
    Impossible,
}

/// What is still missing: approvals per role, and approvals from anyone.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shortfall {
    pub by_role: BTreeMap<String, u16>,
    pub any: u16,
}

impl Shortfall {
    pub fn is_empty(&self) -> bool {
        self.any == 0 && self.by_role.values().all(|n| *n == 0)
    }
}

/// What approvals with these roles still lack under `rules`.
pub fn shortfall(roles: &[&str], rules: &Rules) -> Shortfall {
    let mut by_role = BTreeMap::new();
    for (role, need) in &rules.required {
        let have = roles.iter().filter(|r| **r == role).count();
        if have < usize::from(*need) {
            by_role.insert(role.clone(), *need - have as u16);
        }
    }
    let role_need: u16 = by_role.values().sum();
    let filled = roles.len() + usize::from(role_need);
    let any = usize::from(rules.signers).saturating_sub(filled) as u16;
    Shortfall { by_role, any }
}

pub(crate) struct Inputs<'a> {
    pub key_group: &'a KeyGroup,
    pub rules: &'a Rules,
    /// The requester, when its own approval may not count.
    pub excluded: Option<&'a str>,
    /// Approvers in the order they approved.
    pub approvals: &'a [ParticipantId],
    pub rejected: &'a BTreeSet<ParticipantId>,
    pub dropped: &'a BTreeMap<ParticipantId, DropReason>,
    pub fresh: &'a BTreeMap<ParticipantId, SigningCommitments>,
}

impl Inputs<'_> {
    fn role(&self, p: &ParticipantId) -> &str {
        self.key_group.role_of(p).unwrap_or_default()
    }

    fn counts(&self, p: &ParticipantId) -> bool {
        !self.dropped.contains_key(p) && self.excluded != Some(p.as_str())
    }

    /// Approvers whose approval counts, in approval order.
    pub fn counted(&self) -> Vec<&ParticipantId> {
        self.approvals.iter().filter(|p| self.counts(p)).collect()
    }
}

pub(crate) fn select(inputs: &Inputs<'_>) -> Selection {
    let rules = inputs.rules;
    let counted = inputs.counted();
    let roles: Vec<&str> = counted.iter().map(|p| inputs.role(p)).collect();
    if !satisfiable(&roles, rules) {
        let possible: Vec<&str> = inputs
            .key_group
            .roster
            .ids()
            .filter(|p| inputs.counts(p) && !inputs.rejected.contains(*p))
            .map(|p| inputs.role(p))
            .collect();
        return if satisfiable(&possible, rules) {
            Selection::NeedApprovals
        } else {
            Selection::Impossible
        };
    }
    // Approvers with unused commitments first, then by approval order: if a
    // set of ready approvers meets the rules, this greedy choice finds one.
    let mut order: Vec<&ParticipantId> = counted.clone();
    order.sort_by_key(|p| !inputs.fresh.contains_key(*p));
    let mut chosen: Vec<&ParticipantId> = Vec::new();
    for (role, need) in &rules.required {
        chosen.extend(
            order
                .iter()
                .filter(|p| inputs.role(p) == role)
                .take(usize::from(*need)),
        );
    }
    for p in &order {
        if chosen.len() >= usize::from(rules.signers) {
            break;
        }
        if !chosen.contains(p) {
            chosen.push(p);
        }
    }
    if chosen.iter().all(|p| inputs.fresh.contains_key(*p)) {
        // Keep the signing set in approval order.
        let signers = counted
            .iter()
            .filter(|p| chosen.contains(p))
            .map(|p| (*p).clone())
            .collect();
        Selection::Ready(QuorumMet { signers })
    } else {
        Selection::NeedCommitments(
            counted
                .into_iter()
                .filter(|p| !inputs.fresh.contains_key(*p))
                .cloned()
                .collect(),
        )
    }
}

/// Why a signing set does not satisfy the policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    #[error("{0} is not in the roster")]
    NotInRoster(String),
    #[error("{0} is in the signing set but has not approved")]
    NotApproved(ParticipantId),
    #[error("{0} requested the ceremony and may not approve it")]
    SelfApproval(ParticipantId),
    #[error("{0} is in the signing set twice")]
    Repeated(ParticipantId),
    #[error("the signing set lacks {0}")]
    Short(String),
}

/// An agent's own check of a signing package's signing set, against the
/// roster and policy it holds.
pub fn check_signing_set(
    key_group: &KeyGroup,
    rules: &Rules,
    requester: &str,
    signers: &[ParticipantId],
    approved: &[ParticipantId],
) -> Result<QuorumMet, PolicyViolation> {
    let mut roles = Vec::new();
    for (i, s) in signers.iter().enumerate() {
        if signers[..i].contains(s) {
            return Err(PolicyViolation::Repeated(s.clone()));
        }
        let role = key_group
            .role_of(s)
            .ok_or_else(|| PolicyViolation::NotInRoster(s.to_string()))?;
        if !approved.contains(s) {
            return Err(PolicyViolation::NotApproved(s.clone()));
        }
        if key_group.policy.prevent_self_approval && s.as_str() == requester {
            return Err(PolicyViolation::SelfApproval(s.clone()));
        }
        roles.push(role);
    }
    let missing = shortfall(&roles, rules);
    if !missing.is_empty() {
        return Err(PolicyViolation::Short(describe_shortfall(&missing)));
    }
    Ok(QuorumMet {
        signers: signers.to_vec(),
    })
}

/// "1 more approval from security and 1 more from anyone".
pub fn describe_shortfall(missing: &Shortfall) -> String {
    let mut parts: Vec<(u16, &str)> = missing
        .by_role
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(role, n)| (*n, role.as_str()))
        .collect();
    if missing.any > 0 {
        parts.push((missing.any, "anyone"));
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, (n, who))| match (i, n) {
            (0, 1) => format!("1 more approval from {who}"),
            (0, n) => format!("{n} more approvals from {who}"),
            (_, n) => format!("{n} more from {who}"),
        })
        .collect::<Vec<_>>()
        .join(" and ")
}
