//! The parties that hold no key share: requesters, auditors and operators,
//! each by the common name of its client certificate (`[[party]]` in
//! `coordinator.toml`). The record keeps every change of the list.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyRole {
    Auditor,
    Operator,
    Requester,
}

impl PartyRole {
    pub fn name(self) -> &'static str {
        match self {
            PartyRole::Auditor => "auditor",
            PartyRole::Operator => "operator",
            PartyRole::Requester => "requester",
        }
    }
}

/// `[[party]]`: a person or service that is not a key holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    pub name: String,
    pub roles: Vec<PartyRole>,
}

/// The parties in one canonical order: by name, each listed once with its
/// roles sorted and merged, and names without roles left out. Two lists
/// that grant the same roles to the same names normalize alike.
pub fn normalize(parties: &[Party]) -> Vec<Party> {
    let mut merged: BTreeMap<&str, BTreeSet<PartyRole>> = BTreeMap::new();
    for p in parties {
        merged
            .entry(p.name.as_str())
            .or_default()
            .extend(p.roles.iter().copied());
    }
    merged
        .into_iter()
        .filter(|(_, roles)| !roles.is_empty())
        .map(|(name, roles)| Party {
            name: name.to_string(),
            roles: roles.into_iter().collect(),
        })
        .collect()
}
