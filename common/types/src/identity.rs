//! The public half of a long-term Ed25519 identity key: each participant
//! signs its approvals and rejections with one, and the roster lists the
//! public half, so the coordinator can carry a decision but never forge or
//! alter one. The secret half lives in `quorate-secrets`.

use std::fmt;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The public half of an identity key, as the roster lists it (hex).
/// Held decompressed: parsing a point costs about a fifth of a signature
/// check, and every approval's check would pay it again.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicIdentity(VerifyingKey);

impl PublicIdentity {
    /// Parses 64 hex digits.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = hex::decode(text.trim())
            .map_err(|e| format!("identity key {text:?} is not hex: {e}"))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            format!("identity key is {} bytes; an Ed25519 key is 32", b.len())
        })?;
        VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| "identity key is not a valid Ed25519 point".to_string())
    }

    /// The key's 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Checks an Ed25519 signature (strict RFC 8032) over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.0
            .verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature))
            .is_ok()
    }
}

impl From<VerifyingKey> for PublicIdentity {
    fn from(key: VerifyingKey) -> Self {
        Self(key)
    }
}

impl fmt::Display for PublicIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0.as_bytes()))
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

#[cfg(test)]
mod tests {
    use super::*;

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
