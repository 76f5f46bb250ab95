//! On-disk formats of a key group: one secret key-share file per participant
//! and one public file with the group's public key package and roster.
//!
//! Both are JSON with a `format` tag so that later key-generation methods
//! (DKG, refresh) write the same files. A share file is sealed with its
//! participant's passphrase ([`crate::sealed`]; the plaintext is the
//! `quorate-key-share/v1` JSON), created 0600, and refused when group or
//! others may read it.

use std::io::Write;
use std::path::Path;

use frost_ed25519::keys::{KeyPackage, PublicKeyPackage};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::passphrase::Passphrase;
use crate::sealed::{self, KdfParams, SecretKind};
use crate::{KeyGroupName, ParticipantId, Policy, Roster};

pub const SHARE_FORMAT: &str = "quorate-key-share/v1";
pub const GROUP_FORMAT: &str = "quorate-key-group/v1";

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a {expected} file: {why}")]
    Format {
        path: String,
        expected: &'static str,
        why: String,
    },
    #[error("refusing to load {path}: it is {how} by others (mode {mode:04o}); chmod 600 it")]
    Exposed {
        path: String,
        mode: u32,
        how: &'static str,
    },
    #[error(
        "cannot open {path}: the passphrase is wrong, or the file was altered; \
         give the passphrase it was sealed with"
    )]
    WrongPassphrase { path: String },
    #[error("cannot seal {path}: {why}")]
    Seal { path: String, why: String },
}

/// A participant's secret share. `Debug` does not print the share.
#[derive(Serialize, Deserialize)]
pub struct KeyShareFile {
    pub format: String,
    pub key_group: KeyGroupName,
    pub participant: ParticipantId,
    /// hex of frost `KeyPackage::serialize()`.
    key_package: Zeroizing<String>,
}

impl std::fmt::Debug for KeyShareFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyShareFile")
            .field("key_group", &self.key_group)
            .field("participant", &self.participant)
            .finish_non_exhaustive()
    }
}

impl KeyShareFile {
    pub fn new(
        key_group: KeyGroupName,
        participant: ParticipantId,
        key_package: &KeyPackage,
    ) -> Result<Self, frost_ed25519::Error> {
        let bytes = Zeroizing::new(key_package.serialize()?);
        Ok(Self {
            format: SHARE_FORMAT.into(),
            key_group,
            participant,
            key_package: Zeroizing::new(hex::encode(&*bytes)),
        })
    }

    /// The share's key package. Errors name no part of the secret.
    pub fn key_package(&self) -> Result<KeyPackage, String> {
        let bytes = Zeroizing::new(
            hex::decode(&*self.key_package).map_err(|_| "key_package is not hex".to_string())?,
        );
        KeyPackage::deserialize(&bytes)
            .map_err(|_| "key_package is not a FROST Ed25519 key package".to_string())
    }

    /// Opens the sealed share file at `path` with `passphrase`.
    pub fn load(path: &Path, passphrase: &Passphrase) -> Result<Self, KeyFileError> {
        let unsealed = sealed::load(path, SecretKind::KeyShare, passphrase)?;
        let file: Self = serde_json::from_slice(&unsealed.plaintext).map_err(|e| {
            format_error(
                path,
                "key-share",
                format!(
                    "its sealed content is not key-share JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        if file.format != SHARE_FORMAT {
            return Err(format_error(
                path,
                "key-share",
                format!("its sealed content's format is {:?}", file.format),
            ));
        }
        if file.participant != unsealed.participant {
            return Err(format_error(
                path,
                "key-share",
                format!(
                    "it is sealed as {}'s but holds the share of {}",
                    unsealed.participant, file.participant
                ),
            ));
        }
        file.key_package()
            .map_err(|why| format_error(path, "key-share", why))?;
        Ok(file)
    }

    /// Seals the share with `passphrase` into a new file at `path`, mode
    /// 0600.
    pub fn save(
        &self,
        path: &Path,
        passphrase: &Passphrase,
        params: &KdfParams,
    ) -> Result<(), KeyFileError> {
        let json =
            Zeroizing::new(
                serde_json::to_vec_pretty(self).map_err(|e| KeyFileError::Seal {
                    path: path.display().to_string(),
                    why: e.to_string(),
                })?,
            );
        sealed::save(
            path,
            SecretKind::KeyShare,
            &self.participant,
            &json,
            passphrase,
            params,
        )
    }
}

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

    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        let file: Self = read_json(path, "key-group")?;
        file.check()
            .map_err(|(field, why)| format_error(path, "key-group", format!("{field}: {why}")))?;
        Ok(file)
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

    pub fn save(&self, path: &Path) -> Result<(), KeyFileError> {
        let json = serde_json::to_vec_pretty(self).unwrap_or_default();
        write_file(path, &json, 0o644)
    }
}

fn format_error(path: &Path, expected: &'static str, why: String) -> KeyFileError {
    KeyFileError::Format {
        path: path.display().to_string(),
        expected,
        why,
    }
}

pub(crate) fn read_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    expected: &'static str,
) -> Result<T, KeyFileError> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| KeyFileError::Read {
        path: path.display().to_string(),
        source,
    })?);
    serde_json::from_slice(&bytes).map_err(|e| format_error(path, expected, e.to_string()))
}

/// Writes `bytes` to a file with `mode` (on Unix), set even when the file
/// existed before.
pub fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyFileError> {
    let err = |source| KeyFileError::Write {
        path: path.display().to_string(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(err)?;
    }
    file.write_all(bytes).map_err(err)?;
    file.sync_all().map_err(err)
}

#[cfg(test)]
mod tests;
