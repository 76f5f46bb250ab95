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

use frost_ed25519::keys::KeyPackage;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use quorate_types::key_group::KeyGroupFile;
use quorate_types::{KeyGroupName, ParticipantId};

use crate::passphrase::Passphrase;
use crate::sealed::{self, KdfParams, SecretKind};

pub const SHARE_FORMAT: &str = "quorate-key-share/v1";

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
        sealed::save_json(
            path,
            SecretKind::KeyShare,
            &self.participant,
            self,
            passphrase,
            params,
        )
    }
}

/// Reads and writes the public key-group file (`group.json`).
pub trait GroupFileIo: Sized {
    /// Reads the file at `path` and checks it ([`KeyGroupFile::check`]).
    fn load(path: &Path) -> Result<Self, KeyFileError>;
    /// Writes the file (mode 0644), synced.
    fn save(&self, path: &Path) -> Result<(), KeyFileError>;
}

impl GroupFileIo for KeyGroupFile {
    fn load(path: &Path) -> Result<Self, KeyFileError> {
        let file: Self = read_json(path, "key-group")?;
        file.check()
            .map_err(|(field, why)| format_error(path, "key-group", format!("{field}: {why}")))?;
        Ok(file)
    }

    fn save(&self, path: &Path) -> Result<(), KeyFileError> {
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

/// An Ed25519 seed kept as hex in a key file at `path` (`expected` names
/// the kind of file, for the error).
pub fn seed_from_hex(
    path: &Path,
    expected: &'static str,
    text: &str,
) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    let bytes = Zeroizing::new(
        hex::decode(text)
            .map_err(|e| format_error(path, expected, format!("seed is not hex: {e}")))?,
    );
    let mut seed = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return Err(format_error(
            path,
            expected,
            format!("seed is {} bytes, not 32", bytes.len()),
        ));
    }
    seed.copy_from_slice(&bytes);
    Ok(seed)
}

/// Writes `bytes` to a file with `mode` (on Unix), atomically: into a
/// temporary file beside it, synced, then renamed over `path` and the
/// directory synced, so that a crash leaves the old file or the new one,
/// never a part of either.
pub fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyFileError> {
    let err = |source| KeyFileError::Write {
        path: path.display().to_string(),
        source,
    };
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".tmp-{}", std::process::id()));
    let temporary = std::path::PathBuf::from(temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let written = (|| {
        let mut file = options.open(&temporary)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(err(e));
    }
    // The rename is durable once the directory is.
    let directory = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(directory)
        .and_then(|d| d.sync_all())
        .map_err(err)
}

#[cfg(test)]
mod tests;
