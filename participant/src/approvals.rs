//! Which signers approved, as this agent checks it itself: only statements
//! signed by the identity key the local roster lists count, and only if they
//! approve exactly the ceremony, key group and message this agent's approver
//! approved, under the same break-glass flag. The coordinator's own list of
//! approvals is never trusted.

use std::collections::{BTreeMap, BTreeSet};

use frost_ed25519::SigningPackage;
use quorate_ceremonies::KeyGroup;
use quorate_ceremonies::quorum::check_signing_set;
use quorate_types::batch::FollowUp;
use quorate_types::{CeremonyId, Decision, KeyGroupName, ParticipantId, Roster, Sha256Digest};
use quorate_types::{SignedStatement, Statement};

/// What every counted approval must say: what this agent's approver saw.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub ceremony: &'a CeremonyId,
    pub key_group: &'a KeyGroupName,
    pub message_sha256: &'a Sha256Digest,
    /// The batch's follow-up messages the approver saw.
    pub follow_ups: &'a [FollowUp],
    pub break_glass: bool,
}

/// A signer without a valid approval, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signer {signer} has no valid signed approval: {why}")]
pub struct Unapproved {
    pub signer: ParticipantId,
    pub why: String,
}

/// The approvers whose statements checked out, and why the others did not.
#[derive(Debug, Clone, Default)]
pub struct ApprovalSet {
    approved: BTreeSet<ParticipantId>,
    /// Per claimed participant, why a statement of theirs was not counted.
    refused: BTreeMap<String, String>,
}

impl ApprovalSet {
    /// Checks each encoded [`SignedStatement`] against `roster` and `expected`.
    pub fn collect<'s>(
        roster: &Roster,
        expected: &Expected<'_>,
        statements: impl IntoIterator<Item = &'s [u8]>,
    ) -> Self {
        let mut set = Self::default();
        for bytes in statements {
            let signed = match SignedStatement::from_bytes(bytes) {
                Ok(s) => s,
                Err(e) => {
                    set.refused.insert(String::new(), e);
                    continue;
                }
            };
            let who = signed.statement.participant.clone();
            match check(roster, expected, &signed) {
                Ok(()) => {
                    set.approved.insert(who);
                }
                Err(why) => {
                    set.refused.insert(who.to_string(), why);
                }
            }
        }
        set
    }

    pub fn approved(&self) -> Vec<ParticipantId> {
        self.approved.iter().cloned().collect()
    }

    /// Every signer must have a counted approval.
    pub fn require(&self, signers: &[ParticipantId]) -> Result<(), Unapproved> {
        for signer in signers {
            if self.approved.contains(signer) {
                continue;
            }
            let why = self
                .refused
                .get(signer.as_str())
                .cloned()
                .unwrap_or_else(|| "the coordinator sent no statement signed by it".into());
            return Err(Unapproved {
                signer: signer.clone(),
                why,
            });
        }
        Ok(())
    }
}

/// Checks that `package`'s signing set meets `group`'s policy (its
/// emergency rules if the approver saw break-glass, and then every counted
/// statement acknowledged it) with a counted approval from every signer.
/// The error names the signer at fault and why.
pub fn check_signing_package<'s>(
    group: &KeyGroup,
    requester: &str,
    package: &SigningPackage,
    expected: &Expected<'_>,
    statements: impl IntoIterator<Item = &'s [u8]>,
) -> Result<(), String> {
    let t = group.threshold;
    let rules = if expected.break_glass {
        group
            .policy
            .emergency_rules(t)
            .ok_or("break-glass, but this key group has no emergency policy")?
    } else {
        group.policy.rules(t)
    };
    let mut signers = Vec::new();
    for id in package.signing_commitments().keys() {
        let p = group
            .roster
            .ids()
            .find(|p| p.identifier() == *id)
            .ok_or("a signer of the package is not in the roster")?;
        signers.push(p.clone());
    }
    let set = ApprovalSet::collect(&group.roster, expected, statements);
    set.require(&signers).map_err(|u| u.to_string())?;
    check_signing_set(group, &rules, requester, &signers, &set.approved())
        .map(|_| ())
        .map_err(|v| v.to_string())
}

/// Why one signed statement does not count as an approval of `expected`.
pub fn check(
    roster: &Roster,
    expected: &Expected<'_>,
    signed: &SignedStatement,
) -> Result<(), String> {
    let s: &Statement = &signed.statement;
    let entry = roster
        .get(&s.participant)
        .ok_or_else(|| format!("{} is not in the roster", s.participant))?;
    let key = entry
        .identity
        .ok_or_else(|| format!("the roster lists no identity key for {}", s.participant))?;
    if !signed.verify(&key) {
        return Err("its signature does not verify with the roster's identity key".into());
    }
    if s.decision != Decision::Approve {
        return Err("its statement rejects the ceremony".into());
    }
    if &s.ceremony != expected.ceremony {
        return Err(format!("its statement is for ceremony {}", s.ceremony));
    }
    if &s.key_group != expected.key_group {
        return Err(format!("its statement is for key group {}", s.key_group));
    }
    if &s.message_sha256 != expected.message_sha256 {
        return Err(format!(
            "it approved another message (SHA-256 {}) than this approver did ({})",
            s.message_sha256, expected.message_sha256
        ));
    }
    if s.follow_ups != expected.follow_ups {
        return Err(format!(
            "it approved another batch ({} follow-up messages) than this approver did ({})",
            s.follow_ups.len(),
            expected.follow_ups.len()
        ));
    }
    if s.break_glass != expected.break_glass {
        return Err(if expected.break_glass {
            "its approver did not acknowledge break-glass".into()
        } else {
            "its statement is for a break-glass ceremony, this approver's was not".into()
        });
    }
    Ok(())
}
