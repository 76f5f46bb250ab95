//! A key group as the engine needs it: parsed public key package and roster.

use std::collections::BTreeSet;

use frost_ed25519::keys::PublicKeyPackage;
use quorate_types::KeyGroupFile;
use quorate_types::{KeyGroupName, ParticipantId, Policy, Roster};

#[derive(Debug, Clone, PartialEq)]
pub struct KeyGroup {
    pub name: KeyGroupName,
    /// FROST's t: the fewest signers that can produce a signature.
    pub threshold: u16,
    pub public_key_package: PublicKeyPackage,
    pub roster: Roster,
    pub policy: Policy,
    /// Which roster this is: 0 as registered, n after the nth recorded
    /// roster change.
    pub version: u64,
}

impl KeyGroup {
    pub fn from_file(file: &KeyGroupFile) -> Result<Self, String> {
        Ok(Self::with_package(file, file.public_key_package()?))
    }

    /// The key group of a file already checked, with its parsed package.
    pub fn with_package(file: &KeyGroupFile, package: PublicKeyPackage) -> Self {
        Self {
            name: file.name.clone(),
            threshold: file.threshold,
            public_key_package: package,
            roster: file.roster.clone(),
            policy: file.policy.clone(),
            version: 0,
        }
    }

    /// The next version of the key group, with `roster` in place of its
    /// own, if that is a roster change an operator may make: the same share
    /// holders (adding or removing one takes new key shares, so a new key
    /// group), with names, roles, identity keys and addresses free to
    /// change, and the policy still satisfiable.
    pub fn with_roster(&self, roster: Roster) -> Result<Self, String> {
        if roster == self.roster {
            return Err(format!(
                "it is the roster key group {} has already: nothing to change",
                self.name
            ));
        }
        roster.validate().map_err(|e| format!("roster {e}"))?;
        self.policy
            .validate(&roster, self.threshold)
            .map_err(|e| format!("policy {e}"))?;
        self.with_recorded_roster(roster)
    }

    /// The next version of the key group with a roster change the record
    /// holds: checked only for keeping the share holders (FROST's shares
    /// cannot follow any other change), not judged again under today's
    /// rules for rosters and policies, which may be stricter than those it
    /// was made under.
    pub fn with_recorded_roster(&self, roster: Roster) -> Result<Self, String> {
        let before: BTreeSet<_> = self.roster.ids().collect();
        let after: BTreeSet<_> = roster.ids().collect();
        if let Some(new) = after.difference(&before).next() {
            return Err(format!(
                "participant {new} holds no share of key group {}: adding a share holder needs new key shares, so a new key group",
                self.name
            ));
        }
        if let Some(gone) = before.difference(&after).next() {
            return Err(format!(
                "participant {gone} is missing: a roster change keeps every share holder of key group {} (removing one needs new key shares, so a new key group)",
                self.name
            ));
        }
        Ok(Self {
            roster,
            version: self.version + 1,
            ..self.clone()
        })
    }

    /// The next version of the key group, as a key ceremony recorded it (a
    /// refresh, repair or enrolment): new verifying shares and roster, under
    /// the same name, group key and threshold.
    pub fn with_refresh(&self, file: &KeyGroupFile) -> Result<Self, String> {
        let refreshed = Self::from_file(file)?;
        if refreshed.name != self.name
            || refreshed.group_key() != self.group_key()
            || refreshed.threshold != self.threshold
        {
            return Err(format!(
                "a refresh of key group {} keeps its name, group key and threshold",
                self.name
            ));
        }
        Ok(Self {
            version: self.version + 1,
            ..refreshed
        })
    }

    pub fn role_of(&self, participant: &ParticipantId) -> Option<&str> {
        self.roster.get(participant).map(|p| p.role.as_str())
    }

    /// The group's Ed25519 public key, 32 bytes.
    pub fn group_key(&self) -> [u8; 32] {
        self.public_key_package
            .verifying_key()
            .to_element()
            .compress()
            .to_bytes()
    }
}
