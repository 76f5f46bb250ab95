//! Splitting a signing share into custodian pieces (Feldman VSS,
//! vsss-rs 5 over curve25519-dalek, the curve frost-ed25519 uses).

use curve25519_dalek::scalar::Scalar;
use frost_ed25519::keys::SigningShare;
use quorate_types::{KeyGroupName, ParticipantId};
use vsss_rs::curve25519::{WrappedEdwards, WrappedScalar};
use vsss_rs::{DefaultShare, IdentifierPrimeField, ShareVerifierGroup, feldman};
use zeroize::{Zeroize, Zeroizing};

use crate::{BackupError, Commitments, Piece};

type VsssShare =
    DefaultShare<IdentifierPrimeField<WrappedScalar>, IdentifierPrimeField<WrappedScalar>>;
type VsssVerifier = ShareVerifierGroup<WrappedEdwards>;

/// Splits `share`, `participant`'s in `key_group`, into one piece per
/// custodian, any `threshold` of which restore it.
pub fn split(
    share: &SigningShare,
    key_group: &KeyGroupName,
    participant: &ParticipantId,
    custodians: &[ParticipantId],
    threshold: u16,
) -> Result<(Vec<Piece>, Commitments), BackupError> {
    let count = u16::try_from(custodians.len())
        .map_err(|_| BackupError::Parameters("too many custodians".into()))?;
    if threshold < 2 || threshold > count {
        return Err(BackupError::Parameters(format!(
            "a threshold of {threshold}: give between 2 and the {count} custodians named"
        )));
    }
    for (i, c) in custodians.iter().enumerate() {
        if custodians[..i].contains(c) {
            return Err(BackupError::Parameters(format!(
                "custodian {c} is named twice"
            )));
        }
    }
    let bytes = Zeroizing::new(share.serialize());
    let bytes: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| BackupError::Parameters("a signing share is 32 bytes".into()))?;
    let bytes = Zeroizing::new(bytes);
    let scalar = Zeroizing::new(
        Option::<Scalar>::from(Scalar::from_canonical_bytes(*bytes))
            .ok_or_else(|| BackupError::Parameters("the signing share is not a scalar".into()))?,
    );
    let mut secret = IdentifierPrimeField(WrappedScalar(*scalar));
    let split = feldman::split_secret::<VsssShare, VsssVerifier>(
        usize::from(threshold),
        usize::from(count),
        &secret,
        None,
        rand_core::OsRng,
    );
    secret.0.0.zeroize();
    let (mut shares, verifiers) =
        split.map_err(|e| BackupError::Parameters(format!("cannot split the share: {e:?}")))?;
    // verifiers[0] is the generator; then C_0..C_{m-1}.
    let points: Vec<[u8; 32]> = verifiers
        .iter()
        .skip(1)
        .map(|v| v.0.0.compress().to_bytes())
        .collect();
    let commitments = Commitments {
        key_group: key_group.clone(),
        participant: participant.clone(),
        threshold,
        count,
        points,
    };
    let mut pieces = Vec::with_capacity(custodians.len());
    for ((s, custodian), index) in shares.iter().zip(custodians).zip(1u16..) {
        // vsss-rs numbers pieces 1, 2, ...: the index is the x-coordinate.
        if s.identifier.0.0 != Scalar::from(u64::from(index)) {
            return Err(BackupError::Parameters(
                "vsss-rs numbered the pieces otherwise than 1..n".into(),
            ));
        }
        pieces.push(Piece::new(
            custodian.clone(),
            index,
            commitments.clone(),
            &s.value.0.0,
        ));
    }
    for s in &mut shares {
        s.value.0.0.zeroize();
    }
    Ok((pieces, commitments))
}
