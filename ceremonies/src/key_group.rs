//! A key group as the engine needs it: parsed public key package and roster.

use frost_ed25519::keys::PublicKeyPackage;
use quorate_common::keyfile::KeyGroupFile;
use quorate_common::{KeyGroupName, ParticipantId, Policy, Roster};

#[derive(Debug, Clone, PartialEq)]
pub struct KeyGroup {
    pub name: KeyGroupName,
    /// FROST's t: the fewest signers that can produce a signature.
    pub threshold: u16,
    pub public_key_package: PublicKeyPackage,
    pub roster: Roster,
    pub policy: Policy,
}

impl KeyGroup {
    pub fn from_file(file: &KeyGroupFile) -> Result<Self, String> {
        Ok(Self {
            name: file.name.clone(),
            threshold: file.threshold,
            public_key_package: file.public_key_package()?,
            roster: file.roster.clone(),
            policy: file.policy.clone(),
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
