//! Secret files sealed with a passphrase: key shares and identity keys at
//! rest.
//!
//! A sealed file is JSON:
//!
//! ```json
//! {
//!   "format": "quorate-sealed/v1",
//!   "kind": "key-share",
//!   "participant": "alice",
//!   "kdf": { "alg": "argon2id", "version": 19, "m_cost": 65536, "t_cost": 3, "p_cost": 1,
//!            "salt": "<base64, 16 bytes>" },
//!   "aead": "xchacha20poly1305",
//!   "nonce": "<base64, 24 bytes>",
//!   "ciphertext": "<base64: the sealed plaintext and its 16-byte tag>"
//! }
//! ```
//!
//! - `kind` is `key-share` (the plaintext is a `quorate-key-share/v1`
//!   file) or `identity-key` (a `quorate-identity-key/v1` file).
//! - The key is Argon2id (version 0x13) of the passphrase with `salt`,
//!   `m_cost` KiB of memory, `t_cost` passes and `p_cost` lanes, 32 bytes
//!   long. The parameters are stored, so files made with other costs still
//!   open; loading refuses costs beyond [`KdfParams::MAX_M_COST`] and
//!   friends, which no quorate writes.
//! - The cipher is XChaCha20-Poly1305 with a random 24-byte nonce; its
//!   associated data is `quorate-sealed/v1 NUL <kind> NUL <participant>`,
//!   so a file cannot pass as another kind of secret or as another
//!   participant's. A fresh salt and nonce are drawn for every file.
//! - Base64 is the standard alphabet with padding.
//!
//! Files are written mode 0600, and [`load`] refuses one whose mode lets
//! group or others at it. Keys, plaintexts and Argon2's memory are
//! zeroized after use; no error names a secret.

use std::io::Read;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::keyfile::{KeyFileError, write_file};
use crate::passphrase::Passphrase;
use quorate_types::ParticipantId;

pub const SEALED_FORMAT: &str = "quorate-sealed/v1";
const KDF_ALG: &str = "argon2id";
const KDF_VERSION: u32 = 0x13;
const AEAD_ALG: &str = "xchacha20poly1305";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Largest sealed file read, in bytes.
const MAX_FILE: u64 = 1 << 20;

/// What a sealed file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretKind {
    KeyShare,
    IdentityKey,
    /// An agent's key as a witness of the coordinator's record.
    WitnessKey,
    /// A custodian's piece of a backed-up signing share.
    SharePiece,
}

impl SecretKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeyShare => "key-share",
            Self::IdentityKey => "identity-key",
            Self::WitnessKey => "witness-key",
            Self::SharePiece => "share-piece",
        }
    }
}

/// Argon2id's costs: memory in KiB, passes and lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    pub m_cost: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

impl Default for KdfParams {
    /// 64 MiB, 3 passes, 1 lane: a fraction of a second on a laptop,
    /// costly to guess a typed passphrase against at scale.
    fn default() -> Self {
        Self {
            m_cost: 64 * 1024,
            t_cost: 3,
            p_cost: 1,
        }
    }
}

impl KdfParams {
    pub const MAX_M_COST: u32 = 4 * 1024 * 1024;
    pub const MAX_T_COST: u32 = 64;
    pub const MAX_P_COST: u32 = 16;

    /// The cheapest costs (1 MiB, 1 pass). Only for passphrases that are
    /// already uniformly random and long, such as
    /// [`Passphrase::random`]'s 256 bits (the local deployment), and for
    /// tests: such a passphrase cannot be guessed whatever the KDF costs,
    /// while a typed one needs [`KdfParams::default`].
    pub fn for_random_passphrase() -> Self {
        Self {
            m_cost: 1024,
            t_cost: 1,
            p_cost: 1,
        }
    }

    fn argon2(&self) -> Result<argon2::Argon2<'static>, String> {
        if self.m_cost > Self::MAX_M_COST
            || self.t_cost > Self::MAX_T_COST
            || self.p_cost > Self::MAX_P_COST
        {
            return Err(format!(
                "its Argon2 costs (m_cost {}, t_cost {}, p_cost {}) exceed what quorate writes \
                 (at most {}, {}, {})",
                self.m_cost,
                self.t_cost,
                self.p_cost,
                Self::MAX_M_COST,
                Self::MAX_T_COST,
                Self::MAX_P_COST
            ));
        }
        let params = argon2::Params::new(self.m_cost, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| format!("its Argon2 costs are invalid: {e}"))?;
        Ok(argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            params,
        ))
    }

    /// The 32-byte key for `passphrase` and `salt`.
    fn derive(&self, passphrase: &Passphrase, salt: &[u8]) -> Result<Zeroizing<[u8; 32]>, String> {
        let argon2 = self.argon2()?;
        let blocks = usize::try_from(self.m_cost).map_err(|e| e.to_string())?;
        let mut memory = Zeroizing::new(vec![argon2::Block::default(); blocks]);
        let mut key = Zeroizing::new([0u8; 32]);
        argon2
            .hash_password_into_with_memory(
                passphrase.as_bytes(),
                salt,
                key.as_mut(),
                memory.as_mut_slice(),
            )
            .map_err(|e| format!("Argon2 failed: {e}"))?;
        Ok(key)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SealedFile {
    format: String,
    kind: SecretKind,
    participant: ParticipantId,
    kdf: Kdf,
    aead: String,
    nonce: String,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Kdf {
    alg: String,
    version: u32,
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
    salt: String,
}

/// Only the tag of a JSON file, to name what a file is when it is not a
/// sealed one; the rest is skipped unread.
#[derive(Deserialize)]
struct Tag {
    format: Option<String>,
}

fn aad(kind: SecretKind, participant: &ParticipantId) -> Vec<u8> {
    [
        SEALED_FORMAT.as_bytes(),
        b"\0",
        kind.as_str().as_bytes(),
        b"\0",
        participant.as_str().as_bytes(),
    ]
    .concat()
}

/// Seals `value`'s pretty JSON as [`save`] does.
pub fn save_json(
    path: &Path,
    kind: SecretKind,
    participant: &ParticipantId,
    value: &impl serde::Serialize,
    passphrase: &Passphrase,
    params: &KdfParams,
) -> Result<(), KeyFileError> {
    let json =
        Zeroizing::new(
            serde_json::to_vec_pretty(value).map_err(|e| KeyFileError::Seal {
                path: path.display().to_string(),
                why: e.to_string(),
            })?,
        );
    save(path, kind, participant, &json, passphrase, params)
}

/// Seals `plaintext` with `passphrase` and writes it to a new file at
/// `path`, mode 0600.
pub fn save(
    path: &Path,
    kind: SecretKind,
    participant: &ParticipantId,
    plaintext: &[u8],
    passphrase: &Passphrase,
    params: &KdfParams,
) -> Result<(), KeyFileError> {
    let fail = |why: String| KeyFileError::Seal {
        path: path.display().to_string(),
        why,
    };
    if passphrase.is_empty() {
        return Err(fail("the passphrase is empty".into()));
    }
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    rand_core::OsRng.fill_bytes(&mut salt);
    rand_core::OsRng.fill_bytes(&mut nonce);
    let key = params.derive(passphrase, &salt).map_err(fail)?;
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    // Room for the tag up front, so the plaintext is never copied by a
    // reallocation and left behind unzeroized.
    let mut buffer = Zeroizing::new(Vec::with_capacity(plaintext.len() + TAG_LEN));
    buffer.extend_from_slice(plaintext);
    cipher
        .encrypt_in_place(
            XNonce::from_slice(&nonce),
            &aad(kind, participant),
            &mut *buffer,
        )
        .map_err(|_| fail("encryption failed".into()))?;
    let file = SealedFile {
        format: SEALED_FORMAT.into(),
        kind,
        participant: participant.clone(),
        kdf: Kdf {
            alg: KDF_ALG.into(),
            version: KDF_VERSION,
            m_cost: params.m_cost,
            t_cost: params.t_cost,
            p_cost: params.p_cost,
            salt: B64.encode(salt),
        },
        aead: AEAD_ALG.into(),
        nonce: B64.encode(nonce),
        ciphertext: B64.encode(&*buffer),
    };
    let json = serde_json::to_vec_pretty(&file).map_err(|e| fail(e.to_string()))?;
    write_file(path, &json, 0o600)
}

/// A sealed file's contents, opened.
pub struct Unsealed {
    /// Whose secret it is, as the file says (and its seal binds).
    pub participant: ParticipantId,
    pub plaintext: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Unsealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unsealed")
            .field("participant", &self.participant)
            .finish_non_exhaustive()
    }
}

/// Reads and opens the sealed `kind` file at `path`. Refuses a file that
/// group or others may access, a file of another kind, and a wrong
/// passphrase, each with what to do about it.
pub fn load(
    path: &Path,
    kind: SecretKind,
    passphrase: &Passphrase,
) -> Result<Unsealed, KeyFileError> {
    let bad = |why: String| KeyFileError::Format {
        path: path.display().to_string(),
        expected: kind.as_str(),
        why,
    };
    let bytes = read_private(path)?;
    let sealed = Sealed::parse(&bytes, kind).map_err(bad)?;
    sealed.open(kind, passphrase).map_err(|e| match e {
        OpenError::Kdf(why) => bad(why),
        OpenError::WrongPassphrase => KeyFileError::WrongPassphrase {
            path: path.display().to_string(),
        },
    })
}

/// A sealed file read but not opened: what it says of itself, checked.
pub struct Sealed {
    participant: ParticipantId,
    params: KdfParams,
    salt: Vec<u8>,
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

/// Why a well-formed sealed file did not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// Its key derivation's parameters are refused, or Argon2 failed.
    Kdf(String),
    /// The passphrase is wrong, or the file was altered.
    WrongPassphrase,
}

impl Sealed {
    /// Reads the bytes of a sealed `kind` file; the error says what is
    /// wrong with them (nothing of a secret).
    pub fn parse(bytes: &[u8], kind: SecretKind) -> Result<Self, String> {
        let file: SealedFile = match serde_json::from_slice(bytes) {
            Ok(file) => file,
            Err(e) => {
                let tag = serde_json::from_slice::<Tag>(bytes)
                    .ok()
                    .and_then(|t| t.format);
                return Err(match tag.as_deref() {
                    Some(crate::keyfile::SHARE_FORMAT | crate::identity::IDENTITY_FORMAT) => {
                        "it is an unencrypted secret file, which quorate no longer loads; \
                         deal the key group again with `quorate keygen`, which seals its files \
                         with a passphrase"
                            .into()
                    }
                    Some(SEALED_FORMAT) | None => format!("{e}"),
                    Some(other) => format!("its format is {other:?}, not {SEALED_FORMAT:?}"),
                });
            }
        };
        if file.format != SEALED_FORMAT {
            return Err(format!(
                "its format is {:?}, not {SEALED_FORMAT:?}",
                file.format
            ));
        }
        if file.kind != kind {
            return Err(format!(
                "it is a sealed {} file, not a sealed {} file",
                file.kind.as_str(),
                kind.as_str()
            ));
        }
        if file.kdf.alg != KDF_ALG || file.kdf.version != KDF_VERSION || file.aead != AEAD_ALG {
            return Err(format!(
                "it is sealed with {} version {} and {}; this quorate reads {KDF_ALG} version \
                 {KDF_VERSION} and {AEAD_ALG}",
                file.kdf.alg, file.kdf.version, file.aead
            ));
        }
        let salt = B64
            .decode(&file.kdf.salt)
            .map_err(|e| format!("kdf.salt: {e}"))?;
        let nonce = B64.decode(&file.nonce).map_err(|e| format!("nonce: {e}"))?;
        let nonce = <[u8; NONCE_LEN]>::try_from(nonce.as_slice())
            .map_err(|_| format!("nonce is {} bytes, not {NONCE_LEN}", nonce.len()))?;
        let ciphertext = B64
            .decode(&file.ciphertext)
            .map_err(|e| format!("ciphertext: {e}"))?;
        Ok(Self {
            participant: file.participant,
            params: KdfParams {
                m_cost: file.kdf.m_cost,
                t_cost: file.kdf.t_cost,
                p_cost: file.kdf.p_cost,
            },
            salt,
            nonce,
            ciphertext,
        })
    }

    /// The key derivation's costs, as the file states them (unchecked
    /// until [`Self::open`]).
    pub fn kdf(&self) -> KdfParams {
        self.params
    }

    /// Derives the key from `passphrase` and opens the secret.
    pub fn open(&self, kind: SecretKind, passphrase: &Passphrase) -> Result<Unsealed, OpenError> {
        let key = self
            .params
            .derive(passphrase, &self.salt)
            .map_err(OpenError::Kdf)?;
        let cipher = XChaCha20Poly1305::new(key.as_ref().into());
        let mut plaintext = Zeroizing::new(self.ciphertext.clone());
        cipher
            .decrypt_in_place(
                XNonce::from_slice(&self.nonce),
                &aad(kind, &self.participant),
                &mut *plaintext,
            )
            .map_err(|_| OpenError::WrongPassphrase)?;
        Ok(Unsealed {
            participant: self.participant.clone(),
            plaintext,
        })
    }
}

/// The bytes of a secret file that only its owner may access.
pub fn read_private(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
    let read_err = |source| KeyFileError::Read {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::Exposed {
                path: path.display().to_string(),
                mode,
                how: if mode & 0o044 != 0 {
                    "readable"
                } else if mode & 0o022 != 0 {
                    "writable"
                } else {
                    "accessible"
                },
            });
        }
    }
    if meta.len() > MAX_FILE {
        return Err(KeyFileError::Format {
            path: path.display().to_string(),
            expected: "sealed secret",
            why: format!(
                "it is {} bytes; a sealed secret is a few hundred",
                meta.len()
            ),
        });
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(
        usize::try_from(meta.len()).unwrap_or(0) + 1,
    ));
    file.take(MAX_FILE)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests;
