//! An approver's signed note that its share is backed up with custodians:
//! what the record keeps of a backup. It holds no secret: the hash of the
//! backup's Feldman commitments, the share's public point (C_0, which must
//! be the approver's verifying share), m and n, and the custodians' names.
//! Signed with the approver's identity key (`quorate-backup-note/v1\n`
//! and the note's JSON), so the coordinator can record it but not make
//! one up.

use serde::{Deserialize, Serialize};

use crate::identity::PublicIdentity;
use crate::statement::{Signature, StatementSigner};
use crate::{KeyGroupName, ParticipantId, Sha256Digest};

pub const BACKUP_NOTE_CONTEXT: &[u8] = b"quorate-backup-note/v1\n";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupNote {
    pub key_group: KeyGroupName,
    pub participant: ParticipantId,
    /// The backup's commitments' hash (`quorate_backup::Commitments::hash`).
    pub commitments_sha256: Sha256Digest,
    /// C_0, the backed-up share's public point, hex: the participant's
    /// verifying share when the backup was made.
    #[serde(with = "crate::hex_bytes")]
    pub share_point: Vec<u8>,
    /// Pieces that restore the share (m), of `custodians.len()` (n).
    pub threshold: u16,
    pub custodians: Vec<ParticipantId>,
    /// The approver's clock, ms since the Unix epoch.
    pub at_unix_ms: i64,
}

impl BackupNote {
    /// The bytes the identity key signs.
    pub fn signed_bytes(&self) -> Vec<u8> {
        crate::prefixed_json::encode(BACKUP_NOTE_CONTEXT, self)
    }

    pub fn sign(self, key: &impl StatementSigner) -> SignedBackupNote {
        let signature = key.sign_bytes(&self.signed_bytes());
        SignedBackupNote {
            note: self,
            signature: Signature(signature),
        }
    }
}

/// A backup note and its identity-key signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedBackupNote {
    pub note: BackupNote,
    pub signature: Signature,
}

impl SignedBackupNote {
    pub fn verify(&self, key: &PublicIdentity) -> bool {
        key.verify(&self.note.signed_bytes(), &self.signature.0)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not a signed backup note: {e}"))
    }
}

#[cfg(test)]
mod tests;
