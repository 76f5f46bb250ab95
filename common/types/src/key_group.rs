//! The public file of a key group (`group.json`): its public key package,
//! roster and policy, which every agent enforces and the record registers.
//! Reading and writing it is `quorate-secrets`' job, beside the share files.

use frost_ed25519::keys::PublicKeyPackage;
use serde::{Deserialize, Serialize};

use crate::{KeyGroupName, Policy, Roster};

pub const GROUP_FORMAT: &str = "quorate-key-group/v1";

/// What everybody may know about a key group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyGroupFile {
    pub format: String,
    pub name: KeyGroupName,
    pub threshold: u16,
    /// hex of the 32-byte Ed25519 group key.
    pub group_key: String,
    /// hex of frost `PublicKeyPackage::serialize()`.
    pub public_key_package: String,
    pub roster: Roster,
    /// Whose approvals count, deadlines and break-glass; validated against
    /// the roster and threshold when the file is made or loaded.
    #[serde(default)]
    pub policy: Policy,
}

impl KeyGroupFile {
    pub fn new(
        name: KeyGroupName,
        threshold: u16,
        package: &PublicKeyPackage,
        roster: Roster,
        policy: Policy,
    ) -> Result<Self, frost_ed25519::Error> {
        Ok(Self {
            format: GROUP_FORMAT.into(),
            name,
            threshold,
            group_key: hex::encode(package.verifying_key().serialize()?),
            public_key_package: hex::encode(package.serialize()?),
            roster,
            policy,
        })
    }

    pub fn public_key_package(&self) -> Result<PublicKeyPackage, String> {
        let bytes = hex::decode(&self.public_key_package)
            .map_err(|e| format!("public_key_package: {e}"))?;
        PublicKeyPackage::deserialize(&bytes).map_err(|e| format!("public_key_package: {e}"))
    }

    /// Checks the file is one [`KeyGroupFile::new`] would write: its
    /// format, a valid roster listing exactly the package's participants, a
    /// threshold equal to the package's, the group key and package as the
    /// package's own lowercase hex (one encoding, so one record entry), and
    /// a policy the roster can meet. Names the field that is wrong.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        self.checked_package().map(|_| ())
    }

    /// As [`Self::check`], returning the parsed public key package.
    pub fn checked_package(&self) -> Result<PublicKeyPackage, (&'static str, String)> {
        if self.format != GROUP_FORMAT {
            return Err((
                "format",
                format!("is {:?}, expected {GROUP_FORMAT:?}", self.format),
            ));
        }
        let package = self
            .public_key_package()
            .map_err(|why| ("public_key_package", why))?;
        self.roster
            .validate()
            .map_err(|e| ("roster", e.to_string()))?;
        if let Some(m) = package.min_signers()
            && m != self.threshold
        {
            return Err((
                "threshold",
                format!(
                    "is {}, but the public key package needs {m} signers",
                    self.threshold
                ),
            ));
        }
        let listed: std::collections::BTreeSet<_> =
            self.roster.ids().map(|p| p.identifier()).collect();
        let shares: std::collections::BTreeSet<_> =
            package.verifying_shares().keys().copied().collect();
        if listed != shares {
            return Err((
                "roster",
                "does not list exactly the participants with a verifying share in the public key package"
                    .into(),
            ));
        }
        let canonical = Self::new(
            self.name.clone(),
            self.threshold,
            &package,
            self.roster.clone(),
            self.policy.clone(),
        )
        .map_err(|e| ("public_key_package", e.to_string()))?;
        if canonical.group_key != self.group_key {
            return Err((
                "group_key",
                format!(
                    "is {}, but the public key package's group key is {}",
                    self.group_key, canonical.group_key
                ),
            ));
        }
        if canonical.public_key_package != self.public_key_package {
            return Err((
                "public_key_package",
                "is not the lowercase hex of the package's canonical serialization".into(),
            ));
        }
        self.policy
            .validate(&self.roster, self.threshold)
            .map_err(|e| ("policy", e.to_string()))?;
        Ok(package)
    }
}
