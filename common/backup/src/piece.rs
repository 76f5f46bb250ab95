//! One custodian's piece: its index, the value f(index), and the
//! backup's commitments to check it against. Kept sealed under the
//! custodian's passphrase, or printed ([`crate::printable`]).

use std::path::Path;

use curve25519_dalek::scalar::Scalar;
use quorate_secrets::Passphrase;
use quorate_secrets::keyfile::KeyFileError;
use quorate_secrets::sealed::{self, KdfParams, SecretKind};
use quorate_types::ParticipantId;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{BackupError, Commitments};

pub const FORMAT: &str = "quorate-share-piece/v1";

/// A custodian's piece of a participant's signing share. `Debug` leaves
/// the value out.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Piece {
    pub format: String,
    /// Who keeps it.
    pub custodian: ParticipantId,
    /// Its x-coordinate, 1..=count.
    pub index: u16,
    pub commitments: Commitments,
    /// f(index), a scalar, hex. Secret.
    value: Zeroizing<String>,
}

impl std::fmt::Debug for Piece {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Piece")
            .field("custodian", &self.custodian)
            .field("index", &self.index)
            .field("commitments", &self.commitments.hash())
            .finish_non_exhaustive()
    }
}

impl Piece {
    pub(crate) fn new(
        custodian: ParticipantId,
        index: u16,
        commitments: Commitments,
        value: &Scalar,
    ) -> Self {
        Self {
            format: FORMAT.into(),
            custodian,
            index,
            commitments,
            value: Zeroizing::new(hex::encode(value.as_bytes())),
        }
    }

    /// The value, as a scalar.
    pub(crate) fn value(&self) -> Result<Scalar, BackupError> {
        let bytes = Zeroizing::new(hex::decode(&*self.value).map_err(|_| self.malformed())?);
        let bytes =
            Zeroizing::new(<[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| self.malformed())?);
        Option::from(Scalar::from_canonical_bytes(*bytes)).ok_or_else(|| self.malformed())
    }

    fn malformed(&self) -> BackupError {
        BackupError::Malformed(format!("{}'s piece holds no valid value", self.custodian))
    }

    /// Checks the piece against its commitments, and the commitments
    /// against the verifying share the key group lists for the
    /// participant (32 bytes), when given: what a custodian runs on
    /// receiving it, and what a restore runs on every piece.
    pub fn verify(&self, verifying_share: Option<&[u8; 32]>) -> Result<(), BackupError> {
        let c = &self.commitments;
        if self.format != FORMAT {
            return Err(BackupError::Malformed(format!(
                "{}'s piece is in format {:?}, not {FORMAT}",
                self.custodian, self.format
            )));
        }
        c.check_shape()?;
        if self.index == 0 || self.index > c.count {
            return Err(BackupError::Malformed(format!(
                "{}'s piece has index {} of {}",
                self.custodian, self.index, c.count
            )));
        }
        if !c.admit(self.index, &self.value()?)? {
            return Err(BackupError::Tampered {
                custodian: self.custodian.to_string(),
                index: self.index,
                count: c.count,
            });
        }
        if let Some(share) = verifying_share
            && c.share_point().as_ref() != Some(share)
        {
            return Err(BackupError::NotTheParticipants {
                participant: c.participant.to_string(),
            });
        }
        Ok(())
    }

    /// Seals the piece into a new file at `path` with its custodian's
    /// passphrase.
    pub fn save(
        &self,
        path: &Path,
        passphrase: &Passphrase,
        params: &KdfParams,
    ) -> Result<(), KeyFileError> {
        sealed::save_json(
            path,
            SecretKind::SharePiece,
            &self.custodian,
            self,
            passphrase,
            params,
        )
    }

    /// Opens the sealed piece at `path` with its custodian's passphrase.
    pub fn load(path: &Path, passphrase: &Passphrase) -> Result<Self, KeyFileError> {
        let unsealed = sealed::load(path, SecretKind::SharePiece, passphrase)?;
        let piece: Piece =
            serde_json::from_slice(&unsealed.plaintext).map_err(|e| KeyFileError::Format {
                path: path.display().to_string(),
                expected: "share-piece",
                why: format!("its sealed content is not a piece ({e})"),
            })?;
        if piece.custodian != unsealed.participant {
            return Err(KeyFileError::Format {
                path: path.display().to_string(),
                expected: "share-piece",
                why: format!(
                    "it is sealed as {}'s but holds {}'s piece",
                    unsealed.participant, piece.custodian
                ),
            });
        }
        Ok(piece)
    }
}
