//! A backup's Feldman commitments: the points C_0..C_{m-1} that every
//! piece is checked against, public, and what the record keeps a hash of.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use quorate_types::{KeyGroupName, ParticipantId, Sha256Digest};
use serde::{Deserialize, Serialize};

use crate::BackupError;

/// The commitments of one backup of `participant`'s share in `key_group`,
/// as m compressed Edwards points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commitments {
    pub key_group: KeyGroupName,
    pub participant: ParticipantId,
    /// Pieces that restore the share (m).
    pub threshold: u16,
    /// Pieces made (n).
    pub count: u16,
    /// C_0..C_{m-1}, hex.
    #[serde(with = "points")]
    pub points: Vec<[u8; 32]>,
}

impl Commitments {
    /// SHA-256 over `quorate-backup/v1\n` and the commitments' JSON: what
    /// names the backup in the record.
    pub fn hash(&self) -> Sha256Digest {
        let mut bytes = b"quorate-backup/v1\n".to_vec();
        bytes.extend(serde_json::to_vec(self).unwrap_or_default());
        Sha256Digest::of(&bytes)
    }

    /// C_0, the share's public point: the participant's verifying share.
    pub fn share_point(&self) -> Option<[u8; 32]> {
        self.points.first().copied()
    }

    /// Whether `value`·B = Σ C_j·index^j.
    pub(crate) fn admit(&self, index: u16, value: &Scalar) -> Result<bool, BackupError> {
        let x = Scalar::from(u64::from(index));
        let mut power = Scalar::ONE;
        let mut sum = EdwardsPoint::identity();
        for (j, bytes) in self.points.iter().enumerate() {
            let point = CompressedEdwardsY(*bytes).decompress().ok_or_else(|| {
                BackupError::Malformed(format!("commitment {j} is not a curve point"))
            })?;
            sum += point * power;
            power *= x;
        }
        Ok(EdwardsPoint::mul_base(value) == sum)
    }

    /// The shape every backup must have.
    pub(crate) fn check_shape(&self) -> Result<(), BackupError> {
        if self.threshold < 2 || self.threshold > self.count {
            return Err(BackupError::Malformed(format!(
                "a backup of {} pieces with threshold {}",
                self.count, self.threshold
            )));
        }
        if self.points.len() != usize::from(self.threshold) {
            return Err(BackupError::Malformed(format!(
                "{} commitments for threshold {}",
                self.points.len(),
                self.threshold
            )));
        }
        Ok(())
    }
}

mod points {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(points: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(points.iter().map(hex::encode))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|text| {
                let bytes = hex::decode(text).map_err(serde::de::Error::custom)?;
                <[u8; 32]>::try_from(bytes.as_slice())
                    .map_err(|_| serde::de::Error::custom("a commitment is 32 bytes"))
            })
            .collect()
    }
}
