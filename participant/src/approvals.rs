//! Which signers approved, as this agent checks it itself: only statements
//! signed by the identity key the local roster lists count, and only if they
//! approve exactly the ceremony, key group and message this agent's approver
//! approved, under the same break-glass flag. The coordinator's own list of
//! approvals is never trusted.

use std::collections::{BTreeMap, BTreeSet};

use frost_ed25519::SigningPackage;
use quorate_ceremonies::KeyGroup;
use quorate_ceremonies::quorum::check_signing_set;
use quorate_ceremonies::statement_check::check_statement;
use quorate_types::{ParticipantId, Roster, SignedStatement};

/// What every counted approval must say: what this agent's approver saw
/// (the engine's own statement check, shared).
pub use quorate_ceremonies::statement_check::Expected;

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
    let rules = group
        .policy
        .rules_for(expected.break_glass, t)
        .ok_or("break-glass, but this key group has no emergency policy")?;
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

/// Why one signed statement does not count as an approval of `expected`:
/// the engine's check of a statement, for an approval.
pub fn check(
    roster: &Roster,
    expected: &Expected<'_>,
    signed: &SignedStatement,
) -> Result<(), String> {
    check_statement(roster, expected, signed, true).map_err(|p| p.to_string())
}
