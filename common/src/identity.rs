//! Long-term Ed25519 identity keys: each participant signs its approvals
//! and rejections with one, and the roster lists the public half, so the
//! coordinator can carry a decision but never forge or alter one.

use std::fmt;
use std::path::Path;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::ParticipantId;
use crate::keyfile::{KeyFileError, read_json, write_file};

pub const IDENTITY_FORMAT: &str = "quorate-identity-key/v1";

/// The public half of an identity key, as the roster lists it (hex).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicIdentity(pub [u8; 32]);

impl PublicIdentity {
    /// Parses 64 hex digits.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = hex::decode(text.trim())
            .map_err(|e| format!("identity key {text:?} is not hex: {e}"))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            format!("identity key is {} bytes; an Ed25519 key is 32", b.len())
        })?;
        VerifyingKey::from_bytes(&bytes)
            .map_err(|_| "identity key is not a valid Ed25519 point".to_string())?;
        Ok(Self(bytes))
    }

    /// Checks an Ed25519 signature (strict RFC 8032) over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.0) else {
            return false;
        };
        key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature))
            .is_ok()
    }
}

impl fmt::Display for PublicIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for PublicIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "identity:{self}")
    }
}

impl Serialize for PublicIdentity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for PublicIdentity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

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
        PublicIdentity(self.key.verifying_key().to_bytes())
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        let file: IdentityKeyFile = read_json(path, "identity-key")?;
        let bad = |why: String| KeyFileError::Format {
            path: path.display().to_string(),
            expected: "identity-key",
            why,
        };
        if file.format != IDENTITY_FORMAT {
            return Err(bad(format!("format is {:?}", file.format)));
        }
        let seed = Zeroizing::new(
            hex::decode(&*file.secret).map_err(|e| bad(format!("secret is not hex: {e}")))?,
        );
        let seed: &[u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| bad("secret is not 32 bytes".into()))?;
        Ok(Self {
            participant: file.participant,
            key: SigningKey::from_bytes(seed),
        })
    }

    /// Writes the key to a new file readable only by its owner.
    pub fn save(&self, path: &Path) -> Result<(), KeyFileError> {
        let file = IdentityKeyFile {
            format: IDENTITY_FORMAT.into(),
            participant: self.participant.clone(),
            public: self.public(),
            secret: Zeroizing::new(hex::encode(self.key.to_bytes())),
        };
        let json = Zeroizing::new(serde_json::to_vec_pretty(&file).unwrap_or_default());
        write_file(path, &json, 0o600)
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
mod tests {
    use super::*;

    #[test]
    fn saves_loads_and_hides_the_secret() {
        let key =
            IdentityKey::generate(ParticipantId::new("alice").unwrap(), &mut rand_core::OsRng);
        let secret = hex::encode(key.key.to_bytes());
        assert!(!format!("{key:?}").contains(&secret));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alice.identity.json");
        key.save(&path).unwrap();
        let loaded = IdentityKey::load(&path).unwrap();
        assert_eq!(loaded.public(), key.public());
        let sig = loaded.sign(b"hello");
        assert!(key.public().verify(b"hello", &sig));
        assert!(!key.public().verify(b"hellp", &sig));
    }

    #[test]
    fn public_identity_parse_names_the_problem() {
        assert!(PublicIdentity::parse("zz").unwrap_err().contains("not hex"));
        assert!(
            PublicIdentity::parse("0011")
                .unwrap_err()
                .contains("2 bytes")
        );
    }
}
