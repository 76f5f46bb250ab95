//! The engine's check of one signing package: each signature share against
//! its signer's verifying share, and their aggregate as a consumer checks
//! it. Keyed by FROST identifier, so that RFC 9591's vectors run through it
//! as they are (`tests/rfc9591.rs`); a [`super::Round`] runs one per
//! attempt.

use std::collections::BTreeMap;
use std::sync::Arc;

use frost_core::{BindingFactorList, Challenge, Field, GroupCommitment};
use frost_ed25519::keys::PublicKeyPackage;
use frost_ed25519::round2::SignatureShare;
use frost_ed25519::{Ed25519ScalarField, Ed25519Sha512, Identifier, Signature, SigningPackage};

use super::share_check;

/// The aggregate of shares that each verified does not verify: no signer
/// is to blame (the engine fails the ceremony rather than retry forever).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggregateInvalid;

/// A signing package and the shares that verified for it.
#[derive(Debug, Clone)]
pub struct PackageCheck {
    package: SigningPackage,
    shares: BTreeMap<Identifier, SignatureShare>,
    /// What every share check of this package shares, made at the first.
    derived: Option<Arc<PackageValues>>,
}

/// Derived values are made from the package alone: never part of equality.
impl PartialEq for PackageCheck {
    fn eq(&self, other: &Self) -> bool {
        self.package == other.package && self.shares == other.shares
    }
}

/// RFC 9591's binding factors, group commitment and challenge of a signing
/// package: the same for each of its shares, so computed once rather than
/// once per share (and again to aggregate), which made checking a round's
/// shares quadratic in its signers.
pub(super) struct PackageValues {
    pub(super) binding_factors: BindingFactorList<Ed25519Sha512>,
    pub(super) group_commitment: GroupCommitment<Ed25519Sha512>,
    pub(super) challenge: Challenge<Ed25519Sha512>,
}

impl std::fmt::Debug for PackageValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PackageValues")
    }
}

impl PackageValues {
    pub(super) fn of(package: &SigningPackage, key: &frost_ed25519::VerifyingKey) -> Option<Self> {
        let binding_factors = frost_core::compute_binding_factor_list(package, key, &[]).ok()?;
        let group_commitment =
            frost_core::compute_group_commitment(package, &binding_factors).ok()?;
        let challenge = frost_core::challenge(
            &group_commitment.clone().to_element(),
            key,
            package.message(),
        )
        .ok()?;
        Some(Self {
            binding_factors,
            group_commitment,
            challenge,
        })
    }
}

impl PackageCheck {
    pub fn new(package: SigningPackage) -> Self {
        Self {
            package,
            shares: BTreeMap::new(),
            derived: None,
        }
    }

    pub fn package(&self) -> &SigningPackage {
        &self.package
    }

    /// Checks `share` of signer `id` against its verifying share in
    /// `pubkeys`; keeps it if it verifies. A signer without a verifying
    /// share, or outside the package, never verifies.
    pub fn verify_share(
        &mut self,
        id: Identifier,
        pubkeys: &PublicKeyPackage,
        share: &SignatureShare,
    ) -> bool {
        let Some(verifying_share) = pubkeys.verifying_shares().get(&id) else {
            return false;
        };
        if self.derived.is_none() {
            self.derived = PackageValues::of(&self.package, pubkeys.verifying_key()).map(Arc::new);
        }
        let values = self.derived.as_deref();
        // The quick check accepts; anything else is frost-core's to judge.
        let quick =
            values.and_then(|v| share_check::holds(id, &self.package, v, share, verifying_share));
        let checked = match values {
            _ if quick == Some(true) => Ok(()),
            Some(v) => frost_core::verify_signature_share_precomputed(
                id,
                &self.package,
                &v.binding_factors,
                &v.group_commitment,
                share,
                verifying_share,
                v.challenge,
            ),
            // The package's values cannot be derived: frost says why.
            None => frost_core::verify_signature_share(
                id,
                verifying_share,
                share,
                &self.package,
                pubkeys.verifying_key(),
            ),
        };
        let valid = checked.is_ok();
        if valid {
            self.shares.insert(id, *share);
        }
        valid
    }

    /// Whether every signer of the package has a share that verified.
    pub fn is_complete(&self) -> bool {
        self.package
            .signing_commitments()
            .keys()
            .all(|id| self.shares.contains_key(id))
    }

    fn sum_of_shares(&self) -> Option<frost_core::Scalar<Ed25519Sha512>> {
        self.shares.values().try_fold(Default::default(), |sum, s| {
            let bytes: [u8; 32] = s.serialize().try_into().ok()?;
            Some(sum + Ed25519ScalarField::deserialize(&bytes).ok()?)
        })
    }

    /// Aggregates the shares that verified and checks the result as a
    /// consumer would, with ed25519-dalek's strict verification under the
    /// group key.
    pub fn aggregate(&self, pubkeys: &PublicKeyPackage) -> Result<Signature, AggregateInvalid> {
        let checked_sum = self
            .derived
            .as_ref()
            .filter(|_| self.is_complete())
            .zip(self.sum_of_shares());
        let signature = match checked_sum {
            // Every share was checked against these values: the signature
            // is their group commitment and the sum of the shares.
            Some((v, z)) => Signature::new(v.group_commitment.clone().to_element(), z),
            None => frost_ed25519::aggregate(&self.package, &self.shares, pubkeys)
                .map_err(|_| AggregateInvalid)?,
        };
        let bytes = signature.serialize().map_err(|_| AggregateInvalid)?;
        let sig = ed25519_dalek::Signature::from_slice(&bytes).map_err(|_| AggregateInvalid)?;
        let key_bytes = pubkeys
            .verifying_key()
            .serialize()
            .map_err(|_| AggregateInvalid)?;
        let key_bytes: [u8; 32] = key_bytes.try_into().map_err(|_| AggregateInvalid)?;
        let key =
            ed25519_dalek::VerifyingKey::from_bytes(&key_bytes).map_err(|_| AggregateInvalid)?;
        key.verify_strict(self.package.message(), &sig)
            .map_err(|_| AggregateInvalid)?;
        Ok(signature)
    }
}
