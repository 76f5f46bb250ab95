//! The roster of a key group: who holds a share, in which role, and where
//! their agent reaches the coordinator.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::ParticipantId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterEntry {
    pub id: ParticipantId,
    /// Display name of the approver.
    pub name: String,
    /// Organisational role, e.g. `engineering`, `security`, `release`.
    pub role: String,
    /// The coordinator's gRPC address as this participant's agent reaches it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinator: Option<String>,
    /// The public half of the participant's identity key, which signs its
    /// approvals and rejections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<crate::PublicIdentity>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roster {
    #[serde(rename = "participant")]
    pub participants: Vec<RosterEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    #[error("roster is not valid TOML: {0}")]
    Parse(String),
    #[error("roster is not valid: {0}")]
    Invalid(String),
}

impl Roster {
    pub fn from_toml(text: &str) -> Result<Self, RosterError> {
        let roster: Roster = toml::from_str(text).map_err(|e| RosterError::Parse(e.to_string()))?;
        roster.validate()?;
        Ok(roster)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Checks the roster is usable: at least one participant, no id twice,
    /// every role and name filled in.
    pub fn validate(&self) -> Result<(), RosterError> {
        if self.participants.is_empty() {
            return Err(RosterError::Invalid(
                "it lists no participants; add [[participant]] tables".into(),
            ));
        }
        let mut seen = BTreeSet::new();
        for p in &self.participants {
            if !seen.insert(&p.id) {
                return Err(RosterError::Invalid(format!(
                    "participant {} is listed twice",
                    p.id
                )));
            }
            if p.role.trim().is_empty() {
                return Err(RosterError::Invalid(format!(
                    "participant {} has an empty role",
                    p.id
                )));
            }
        }
        Ok(())
    }

    pub fn get(&self, id: &ParticipantId) -> Option<&RosterEntry> {
        self.participants.iter().find(|p| &p.id == id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &ParticipantId> {
        self.participants.iter().map(|p| &p.id)
    }

    pub fn len(&self) -> usize {
        self.participants.len()
    }

    pub fn is_empty(&self) -> bool {
        self.participants.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROSTER: &str = r#"
[[participant]]
id = "alice"
name = "Alice"
role = "engineering"
coordinator = "http://127.0.0.1:7400"

[[participant]]
id = "bob"
name = "Bob"
role = "security"
"#;

    #[test]
    fn parses_and_round_trips() {
        let roster = Roster::from_toml(ROSTER).unwrap();
        assert_eq!(roster.len(), 2);
        assert_eq!(roster.participants[1].role, "security");
        assert_eq!(Roster::from_toml(&roster.to_toml()).unwrap(), roster);
    }

    #[test]
    fn names_what_is_wrong() {
        let twice =
            format!("{ROSTER}\n[[participant]]\nid = \"bob\"\nname = \"B\"\nrole = \"release\"\n");
        let err = Roster::from_toml(&twice).unwrap_err().to_string();
        assert!(err.contains("bob is listed twice"), "{err}");

        let bad_id = "[[participant]]\nid = \"a b\"\nname = \"A\"\nrole = \"x\"\n";
        let err = Roster::from_toml(bad_id).unwrap_err().to_string();
        assert!(err.contains("participant id"), "{err}");

        let unknown = "[[participant]]\nid = \"a\"\nname = \"A\"\nrole = \"x\"\ncolour = 1\n";
        let err = Roster::from_toml(unknown).unwrap_err().to_string();
        assert!(err.contains("colour"), "{err}");
    }
}
