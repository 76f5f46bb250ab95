//! The SHA-256 tree hash type and the RFC 6962 leaf and node hashes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use tlog_tiles::tlog;

use crate::RecordError;

/// A SHA-256 tree hash. Serde: lowercase hex string. Display: hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Hash(pub [u8; 32]);

/// The root of the empty tree, SHA-256 of the empty string (RFC 6962 §2.1).
pub const EMPTY_ROOT: Hash = Hash(tlog::EMPTY_HASH.0);

/// The RFC 6962 leaf hash of a record entry: SHA-256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    tlog::record_hash(entry).into()
}

/// The RFC 6962 interior node hash: SHA-256(0x01 || left || right).
pub fn node_hash(left: Hash, right: Hash) -> Hash {
    tlog::node_hash(left.into(), right.into()).into()
}

impl Hash {
    /// A hash from exactly 32 bytes, e.g. one of a proof on the wire.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        Some(Self(bytes.try_into().ok()?))
    }

    /// The hash as lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for Hash {
    type Err = RecordError;

    /// Parses 64 hex digits.
    fn from_str(s: &str) -> Result<Self, RecordError> {
        let bytes = hex::decode(s)
            .map_err(|e| RecordError::MalformedHash(format!("{s:?} is not hex: {e}")))?;
        let array: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            RecordError::MalformedHash(format!("{s:?} is {} bytes, not 32", b.len()))
        })?;
        Ok(Hash(array))
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

impl From<tlog::Hash> for Hash {
    fn from(hash: tlog::Hash) -> Self {
        Hash(hash.0)
    }
}

impl From<Hash> for tlog::Hash {
    fn from(hash: Hash) -> Self {
        tlog::Hash(hash.0)
    }
}
