//! Approvers' signed decisions.
//!
//! An approval or rejection is a [`Statement`] signed with the approver's
//! identity key. The signed bytes are `quorate-statement/v1\n` followed by
//! the statement's JSON, fields in the order declared here and no spaces.
//! The coordinator carries statements and the record keeps them, but only
//! the approver can make one, so neither can forge or alter a decision.

use serde::{Deserialize, Serialize};

use crate::batch::FollowUp;
use crate::identity::PublicIdentity;
use crate::{CeremonyId, KeyGroupName, ParticipantId, Sha256Digest};

pub const STATEMENT_CONTEXT: &[u8] = b"quorate-statement/v1\n";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
pub enum Decision {
    Approve,
    Reject { reason: String },
}

/// What an approver decided about one ceremony's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    pub ceremony: CeremonyId,
    pub key_group: KeyGroupName,
    pub participant: ParticipantId,
    /// SHA-256 of the exact bytes the approver saw.
    pub message_sha256: Sha256Digest,
    /// The approver saw that this is a break-glass ceremony.
    pub break_glass: bool,
    pub decision: Decision,
    /// The approver's clock when it decided, ms since the Unix epoch.
    pub at_unix_ms: i64,
    /// The follow-up messages of the batch the approver saw, each signed
    /// after the message under this same decision (see [`crate::batch`]).
    /// Left out when empty, so a single message's statement reads as before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follow_ups: Vec<FollowUp>,
}

impl Statement {
    /// The bytes the identity key signs.
    pub fn signed_bytes(&self) -> Vec<u8> {
        crate::prefixed_json::encode(STATEMENT_CONTEXT, self)
    }

    pub fn sign(self, key: &impl StatementSigner) -> SignedStatement {
        let signature = key.sign_bytes(&self.signed_bytes());
        SignedStatement {
            statement: self,
            signature: Signature(signature),
        }
    }
}

/// What signs statements: an approver's identity key
/// (`quorate_secrets::IdentityKey`), kept out of this crate with the rest
/// of the secrets.
pub trait StatementSigner {
    /// An Ed25519 signature over `message`.
    fn sign_bytes(&self, message: &[u8]) -> [u8; 64];
}

/// A statement and its identity-key signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedStatement {
    pub statement: Statement,
    pub signature: Signature,
}

impl SignedStatement {
    pub fn verify(&self, key: &PublicIdentity) -> bool {
        key.verify(&self.statement.signed_bytes(), &self.signature.0)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not a signed statement: {e}"))
    }
}

/// A 64-byte Ed25519 signature, hex in JSON.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sig:{}", hex::encode(self.0))
    }
}

impl Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(&text).map_err(serde::de::Error::custom)?;
        let bytes: [u8; 64] = bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("a signature is 64 bytes"))?;
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests;
