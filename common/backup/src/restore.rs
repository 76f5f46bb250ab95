//! Restoring a signing share from custodian pieces: every piece checked
//! first (a tampered one is named), then combined, and the result taken
//! only if it is the participant's verifying share's.

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use frost_ed25519::keys::SigningShare;
use vsss_rs::curve25519::WrappedScalar;
use vsss_rs::{DefaultShare, IdentifierPrimeField, ReadableShareSet};
use zeroize::{Zeroize, Zeroizing};

use crate::{BackupError, Piece};

type VsssShare =
    DefaultShare<IdentifierPrimeField<WrappedScalar>, IdentifierPrimeField<WrappedScalar>>;

/// The signing share `pieces` restore, checked against `verifying_share`
/// (32 bytes: the participant's, as the key group lists it).
pub fn restore(pieces: &[Piece], verifying_share: &[u8; 32]) -> Result<SigningShare, BackupError> {
    let Some(first) = pieces.first() else {
        return Err(BackupError::TooFew { got: 0, needed: 2 });
    };
    let commitments = &first.commitments;
    let mut shares: Vec<VsssShare> = Vec::new();
    let mut seen = Vec::new();
    for piece in pieces {
        if piece.commitments != *commitments {
            return Err(BackupError::Foreign {
                custodian: piece.custodian.to_string(),
                why: format!(
                    "its commitments are {}, the first piece's {}",
                    piece.commitments.hash(),
                    commitments.hash()
                ),
            });
        }
        piece.verify(Some(verifying_share))?;
        if seen.contains(&piece.index) {
            continue;
        }
        seen.push(piece.index);
        let value = Zeroizing::new(piece.value()?);
        shares.push(DefaultShare {
            identifier: IdentifierPrimeField(WrappedScalar(Scalar::from(u64::from(piece.index)))),
            value: IdentifierPrimeField(WrappedScalar(*value)),
        });
    }
    if shares.len() < usize::from(commitments.threshold) {
        return Err(BackupError::TooFew {
            got: shares.len(),
            needed: commitments.threshold,
        });
    }
    let combined = shares.combine();
    for s in &mut shares {
        s.value.0.0.zeroize();
    }
    let secret = Zeroizing::new(
        combined
            .map_err(|e| BackupError::Malformed(format!("cannot combine the pieces: {e:?}")))?
            .0
            .0,
    );
    if EdwardsPoint::mul_base(&secret).compress().to_bytes() != *verifying_share {
        return Err(BackupError::Mismatch {
            participant: commitments.participant.to_string(),
        });
    }
    let bytes = Zeroizing::new(secret.to_bytes());
    SigningShare::deserialize(bytes.as_slice())
        .map_err(|e| BackupError::Malformed(format!("the restored share: {e}")))
}
