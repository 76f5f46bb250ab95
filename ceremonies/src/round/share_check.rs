//! The quick form of a signature share's check (RFC 9591 section 5.4):
//! `z·B == D + ρ·E + (c·λ)·Y` as one three-point multiscalar multiplication
//! in variable time. Every input is public, and frost-core's constant-time
//! form (two variable-base and one fixed-base scalar multiplication) was
//! the largest cost of replaying a ceremony.
//!
//! It only ever accepts: a share it does not accept goes to frost-core's
//! check, whose verdict and reason stand.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use curve25519_dalek::{EdwardsPoint, Scalar};
use frost_ed25519::keys::VerifyingShare;
use frost_ed25519::round2::SignatureShare;
use frost_ed25519::{Identifier, SigningPackage};

use super::package_check::PackageValues;

/// Whether `share`, from signer `id` of `package`, satisfies the share
/// equation; `None` if an input is missing or does not convert (frost-core
/// then decides).
pub(super) fn holds(
    id: Identifier,
    package: &SigningPackage,
    values: &PackageValues,
    share: &SignatureShare,
    verifying_share: &VerifyingShare,
) -> Option<bool> {
    let commitments = package.signing_commitment(&id)?;
    let rho = scalar(&values.binding_factors.get(&id)?.serialize())?;
    let lambda = frost_core::derive_interpolating_value(&id, package).ok()?;
    let c_lambda = values.challenge.to_scalar() * lambda;
    let z = scalar(&share.serialize())?;
    let hiding = commitments.hiding().value();
    let binding = commitments.binding().value();
    let y = verifying_share.to_element();
    let d = EdwardsPoint::vartime_multiscalar_mul(
        [z, -rho, -c_lambda],
        [ED25519_BASEPOINT_POINT, binding, y],
    );
    Some(d == hiding)
}

fn scalar(bytes: &[u8]) -> Option<Scalar> {
    Scalar::from_canonical_bytes(bytes.try_into().ok()?).into_option()
}

#[cfg(test)]
mod tests;
