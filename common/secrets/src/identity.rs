//! The secret half of a participant's long-term Ed25519 identity key,
//! which signs its approvals and rejections (the public half is
//! `quorate_types::PublicIdentity`).
//!
//! It is kept sealed with its participant's passphrase
//! ([`crate::sealed`]; the plaintext is the `quorate-identity-key/v1`
//! JSON), in a 0600 file.

use std::fmt;
use std::path::Path;

use ed25519_dalek::{Signer, SigningKey};
use quorate_types::statement::StatementSigner;
use quorate_types::{ParticipantId, PublicIdentity};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::keyfile::KeyFileError;
use crate::passphrase::Passphrase;
use crate::sealed::{self, KdfParams, SecretKind};

pub const IDENTITY_FORMAT: &str = "quorate-identity-key/v1";

/// A participant's secret identity key. Zeroized on drop; `Debug` shows
/// only the public half.
pub struct IdentityKey {
    participant: ParticipantId,
    key: SigningKey,
}

impl IdentityKey {
    pub fn generate(participant: ParticipantId, rng: &mut impl rand_core::CryptoRngCore) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self {
            participant,
            key: SigningKey::from_bytes(&seed),
        }
    }

    pub fn participant(&self) -> &ParticipantId {
        &self.participant
    }

    pub fn public(&self) -> PublicIdentity {
        PublicIdentity::from(self.key.verifying_key())
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// Opens the sealed identity-key file at `path` with `passphrase`.
    pub fn load(path: &Path, passphrase: &Passphrase) -> Result<Self, KeyFileError> {
        let unsealed = sealed::load(path, SecretKind::IdentityKey, passphrase)?;
        let bad = |why: String| KeyFileError::Format {
            path: path.display().to_string(),
            expected: "identity-key",
            why,
        };
        let file: IdentityKeyFile = serde_json::from_slice(&unsealed.plaintext).map_err(|e| {
            bad(format!(
                "its sealed content is not identity-key JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        if file.format != IDENTITY_FORMAT {
            return Err(bad(format!(
                "its sealed content's format is {:?}",
                file.format
            )));
        }
        if file.participant != unsealed.participant {
            return Err(bad(format!(
                "it is sealed as {}'s but holds the key of {}",
                unsealed.participant, file.participant
            )));
        }
        let seed = Zeroizing::new(
            hex::decode(&*file.secret).map_err(|_| bad("its secret is not hex".into()))?,
        );
        let seed: &[u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| bad("its secret is not 32 bytes".into()))?;
        let key = Self {
            participant: file.participant,
            key: SigningKey::from_bytes(seed),
        };
        if key.public() != file.public {
            return Err(bad(format!(
                "its public key {} is not its secret's ({})",
                file.public,
                key.public()
            )));
        }
        Ok(key)
    }

    /// Seals the key with `passphrase` into a new file at `path`, readable
    /// only by its owner.
    pub fn save(
        &self,
        path: &Path,
        passphrase: &Passphrase,
        params: &KdfParams,
    ) -> Result<(), KeyFileError> {
        let seed = Zeroizing::new(self.key.to_bytes());
        let file = IdentityKeyFile {
            format: IDENTITY_FORMAT.into(),
            participant: self.participant.clone(),
            public: self.public(),
            secret: Zeroizing::new(hex::encode(seed.as_ref())),
        };
        sealed::save_json(
            path,
            SecretKind::IdentityKey,
            &self.participant,
            &file,
            passphrase,
            params,
        )
    }
}

impl StatementSigner for IdentityKey {
    fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.sign(message)
    }
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityKey")
            .field("participant", &self.participant)
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct IdentityKeyFile {
    format: String,
    participant: ParticipantId,
    public: PublicIdentity,
    secret: Zeroizing<String>,
}

#[cfg(test)]
mod tests;
