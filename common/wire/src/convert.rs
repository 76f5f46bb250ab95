//! Conversions at the wire boundary. Parsing a message checks it; a failure
//! names the field.

use quorate_types::KeyGroupFile;
use quorate_types::{IdError, KeyGroupName, ParticipantId, Roster};

use crate::{KeyGroup, RosterEntry};

/// A field of a request that does not hold what it must.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{field}: {why}")]
pub struct InvalidField {
    pub field: &'static str,
    pub why: String,
}

impl InvalidField {
    pub fn new(field: &'static str, why: impl ToString) -> Self {
        Self {
            field,
            why: why.to_string(),
        }
    }
}

impl From<InvalidField> for tonic::Status {
    fn from(e: InvalidField) -> Self {
        tonic::Status::invalid_argument(e.to_string())
    }
}

pub fn participant(field: &'static str, value: &str) -> Result<ParticipantId, InvalidField> {
    ParticipantId::new(value).map_err(|e: IdError| InvalidField::new(field, e))
}

impl From<&KeyGroupFile> for KeyGroup {
    fn from(file: &KeyGroupFile) -> Self {
        KeyGroup {
            name: file.name.to_string(),
            threshold: file.threshold.into(),
            public_key_package: hex::decode(&file.public_key_package).unwrap_or_default(),
            roster: KeyGroup::from_roster(&file.roster),
            policy_toml: file.policy.to_toml(),
            roster_version: 0,
        }
    }
}

impl KeyGroup {
    /// The roster's entries as the wire carries them.
    pub fn from_roster(roster: &Roster) -> Vec<RosterEntry> {
        roster
            .participants
            .iter()
            .map(|p| RosterEntry {
                id: p.id.to_string(),
                name: p.name.clone(),
                role: p.role.clone(),
                identity: p.identity.map(|i| i.to_string()).unwrap_or_default(),
            })
            .collect()
    }
}

/// A roster from the wire: every entry with an identity key, valid as a
/// whole.
pub fn roster(entries: &[RosterEntry]) -> Result<Roster, InvalidField> {
    let participants = entries
        .iter()
        .map(|p| {
            let id = participant("roster.id", &p.id)?;
            if p.identity.is_empty() {
                return Err(InvalidField::new(
                    "roster.identity",
                    format!(
                        "participant {id} has no identity key; every approver signs its \
                         decisions, so list the public key of each (quorate keygen writes them)"
                    ),
                ));
            }
            let identity = quorate_types::PublicIdentity::parse(&p.identity)
                .map_err(|e| InvalidField::new("roster.identity", format!("{id}: {e}")))?;
            Ok(quorate_types::RosterEntry {
                id,
                name: p.name.clone(),
                role: p.role.clone(),
                coordinator: None,
                identity: Some(identity),
            })
        })
        .collect::<Result<Vec<_>, InvalidField>>()?;
    let roster = Roster { participants };
    roster
        .validate()
        .map_err(|e| InvalidField::new("roster", e))?;
    Ok(roster)
}

impl TryFrom<&KeyGroup> for KeyGroupFile {
    type Error = InvalidField;

    fn try_from(group: &KeyGroup) -> Result<Self, InvalidField> {
        let name = KeyGroupName::new(&group.name).map_err(|e| InvalidField::new("name", e))?;
        let threshold = u16::try_from(group.threshold)
            .ok()
            .filter(|t| *t >= 1)
            .ok_or_else(|| InvalidField::new("threshold", "must be between 1 and 65535"))?;
        let package = frost_ed25519::keys::PublicKeyPackage::deserialize(&group.public_key_package)
            .map_err(|e| InvalidField::new("public_key_package", e))?;
        let roster = roster(&group.roster)?;
        if usize::from(threshold) > roster.len() {
            return Err(InvalidField::new(
                "threshold",
                format!("{threshold} is more than the {} participants", roster.len()),
            ));
        }
        for p in &roster.participants {
            if !package.verifying_shares().contains_key(&p.id.identifier()) {
                return Err(InvalidField::new(
                    "roster",
                    format!(
                        "participant {} has no verifying share in the public key package",
                        p.id
                    ),
                ));
            }
        }
        if package.verifying_shares().len() != roster.len() {
            return Err(InvalidField::new(
                "public_key_package",
                "holds verifying shares of participants that are not in the roster",
            ));
        }
        if package.min_signers().is_some_and(|m| m != threshold) {
            return Err(InvalidField::new(
                "threshold",
                "differs from the public key package's min_signers",
            ));
        }
        let policy = quorate_types::Policy::from_toml(&group.policy_toml)
            .map_err(|e| InvalidField::new("policy_toml", e))?;
        policy
            .validate(&roster, threshold)
            .map_err(|e| InvalidField::new("policy_toml", e))?;
        KeyGroupFile::new(name, threshold, &package, roster, policy)
            .map_err(|e| InvalidField::new("public_key_package", e))
    }
}

impl From<&quorate_types::batch::FollowUp> for crate::FollowUp {
    fn from(follow_up: &quorate_types::batch::FollowUp) -> Self {
        use super::follow_up::Rule;
        let rule = match follow_up {
            quorate_types::batch::FollowUp::SignatureThen { suffix } => {
                Rule::SignatureThen(suffix.clone())
            }
        };
        Self { rule: Some(rule) }
    }
}

/// The follow-ups of a request or status, checked: each names a rule, and
/// the batch is within its limits.
pub fn follow_ups(
    field: &'static str,
    wire: &[crate::FollowUp],
) -> Result<Vec<quorate_types::batch::FollowUp>, InvalidField> {
    use super::follow_up::Rule;
    let follow_ups = wire
        .iter()
        .enumerate()
        .map(|(i, f)| match &f.rule {
            Some(Rule::SignatureThen(suffix)) => {
                Ok(quorate_types::batch::FollowUp::SignatureThen {
                    suffix: suffix.clone(),
                })
            }
            None => Err(InvalidField::new(
                field,
                format!("follow-up {} names no rule", i + 1),
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    quorate_types::batch::check(&follow_ups).map_err(|e| InvalidField::new(field, e))?;
    Ok(follow_ups)
}

/// The 64-byte signatures of a status's batch.
pub fn batch_signatures(
    field: &'static str,
    wire: &[Vec<u8>],
) -> Result<Vec<[u8; 64]>, InvalidField> {
    wire.iter()
        .enumerate()
        .map(|(i, bytes)| {
            <[u8; 64]>::try_from(bytes.as_slice()).map_err(|_| {
                InvalidField::new(
                    field,
                    format!("signature {i} is {} bytes, not 64", bytes.len()),
                )
            })
        })
        .collect()
}

/// Whether a ceremony in `state` still takes input.
pub fn is_open(state: crate::CeremonyState) -> bool {
    use crate::CeremonyState as S;
    matches!(
        state,
        S::CollectingApprovals | S::CollectingCommitments | S::Signing
    )
}

impl TryFrom<&crate::CeremonyStatus> for quorate_types::CeremonyView {
    type Error = InvalidField;

    /// Parses a status once, checking every field the view holds.
    fn try_from(status: &crate::CeremonyStatus) -> Result<Self, InvalidField> {
        let id =
            quorate_types::CeremonyId::new(&status.id).map_err(|e| InvalidField::new("id", e))?;
        let key_group =
            KeyGroupName::new(&status.key_group).map_err(|e| InvalidField::new("key_group", e))?;
        let message_sha256 = quorate_types::Sha256Digest::of(&status.message);
        if message_sha256.0.as_slice() != status.message_sha256.as_slice() {
            return Err(InvalidField::new(
                "message_sha256",
                "is not the SHA-256 of the message",
            ));
        }
        let signing_set = status
            .signing_set
            .iter()
            .map(|s| participant("signing_set", s))
            .collect::<Result<_, _>>()?;
        let shares_received = status
            .shares_received
            .iter()
            .map(|s| participant("shares_received", s))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            id,
            key_group,
            shares_received,
            requester: status.requester.clone(),
            message: status.message.clone(),
            message_sha256,
            follow_ups: follow_ups("follow_ups", &status.follow_ups)?,
            batch_signatures: batch_signatures("batch_signatures", &status.batch_signatures)?,
            version: status.version,
            attempt: status.attempt,
            signing_set,
            approvals: status
                .approvals
                .iter()
                .map(|a| a.statement.clone())
                .collect(),
            open: is_open(status.state()),
        })
    }
}

/// The name people use for a state: `collecting-approvals`, `signed`,
/// `awaiting-review`, ... (the CLI shows and takes these).
pub fn state_name(state: crate::CeremonyState) -> String {
    state
        .as_str_name()
        .trim_start_matches("CEREMONY_STATE_")
        .to_lowercase()
        .replace('_', "-")
}

/// The state named `name` as [`state_name`] writes it (spaces and
/// underscores also accepted), or the names there are.
pub fn parse_state(name: &str) -> Result<crate::CeremonyState, String> {
    let wanted = format!(
        "CEREMONY_STATE_{}",
        name.trim().to_uppercase().replace(['-', ' '], "_")
    );
    crate::CeremonyState::from_str_name(&wanted)
        .filter(|s| *s != crate::CeremonyState::Unspecified)
        .ok_or_else(|| {
            let names: Vec<String> = (1..)
                .map_while(|n| crate::CeremonyState::try_from(n).ok())
                .map(state_name)
                .collect();
            format!("unknown state {name:?}; use one of {}", names.join(", "))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_read_back() {
        use crate::CeremonyState as S;
        for s in [S::CollectingApprovals, S::AwaitingReview, S::Signed] {
            assert_eq!(parse_state(&state_name(s)), Ok(s));
        }
        assert_eq!(state_name(S::AwaitingReview), "awaiting-review");
        assert_eq!(
            parse_state("collecting approvals"),
            Ok(S::CollectingApprovals)
        );
        let err = parse_state("done").unwrap_err();
        assert!(
            err.contains("collecting-approvals") && err.contains("expired"),
            "{err}"
        );
        assert!(parse_state("unspecified").is_err());
    }
}
