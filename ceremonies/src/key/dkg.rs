//! The checks anyone can make of a DKG from its signed messages alone: a
//! round-1 package's commitment and proof of knowledge, the public key
//! package all the commitments give, and who is lying when a participant
//! complains about a round-2 package it got.

use std::collections::BTreeMap;

use curve25519_dalek::EdwardsPoint;
use curve25519_dalek::traits::Identity;
use frost_ed25519::keys::dkg::{round1, round2};
use frost_ed25519::keys::{
    PublicKeyPackage, SecretShare, VerifiableSecretSharingCommitment, VerifyingShare,
};
use frost_ed25519::{Ed25519Sha512, Identifier};
use quorate_envelope::{Binding, Sealed, SessionKey};
use quorate_types::ParticipantId;

use super::KeyFault;

/// What the envelope of a DKG round-2 package is bound to.
pub const ROUND2_PURPOSE: &str = "dkg round 2";

/// The binding of the round-2 package `from` seals to `to` in `ceremony`.
pub fn round2_binding<'a>(ceremony: &'a str, from: &'a str, to: &'a str) -> Binding<'a> {
    Binding {
        purpose: ROUND2_PURPOSE,
        ceremony,
        from,
        to,
    }
}

/// Parses `participant`'s round-1 package and checks it. In a DKG: a
/// commitment to a polynomial of degree `threshold - 1` and a valid proof
/// of knowledge of its secret for `participant`'s identifier. In a refresh:
/// the commitment without its constant term, which is zero (so that the
/// group key cannot move), i.e. `threshold - 1` coefficients; frost-core
/// proves nothing there, as there is no secret to know.
pub fn check_round1(
    participant: &ParticipantId,
    bytes: &[u8],
    threshold: u16,
    refresh: bool,
) -> Result<round1::Package, KeyFault> {
    let package = round1::Package::deserialize(bytes).map_err(|_| KeyFault::MalformedRound1)?;
    let degree = package.commitment().coefficients().len();
    let expected = usize::from(threshold) - usize::from(refresh);
    if degree != expected {
        return Err(KeyFault::WrongCommitmentLength {
            got: degree as u64,
            expected: expected as u64,
        });
    }
    if !refresh {
        frost_core::keys::dkg::verify_proof_of_knowledge::<Ed25519Sha512>(
            participant.identifier(),
            package.commitment(),
            package.proof_of_knowledge(),
        )
        .map_err(|_| KeyFault::BadProofOfKnowledge)?;
    }
    Ok(package)
}

/// A refresh's commitment as it evaluates: the zero constant term (the
/// identity) put back in front.
pub fn with_zero_constant(
    commitment: &VerifiableSecretSharingCommitment,
) -> VerifiableSecretSharingCommitment {
    let identity =
        frost_core::keys::CoefficientCommitment::<Ed25519Sha512>::new(EdwardsPoint::identity());
    VerifiableSecretSharingCommitment::new(
        std::iter::once(identity)
            .chain(commitment.coefficients().iter().copied())
            .collect(),
    )
}

/// The public key package the round-1 commitments make: the group key and
/// every participant's verifying share. In a refresh of `old`, the group
/// key stays and each participant's verifying share moves by what the
/// commitments add; the removed have none.
pub fn expected_package(
    round1: &BTreeMap<ParticipantId, round1::Package>,
    old: Option<&PublicKeyPackage>,
    threshold: u16,
) -> Result<PublicKeyPackage, KeyFault> {
    let Some(old) = old else {
        let commitments: BTreeMap<Identifier, _> = round1
            .iter()
            .map(|(p, package)| (p.identifier(), package.commitment()))
            .collect();
        return PublicKeyPackage::from_dkg_commitments(&commitments)
            .map_err(|_| KeyFault::NoGroupKey);
    };
    let full: BTreeMap<Identifier, _> = round1
        .iter()
        .map(|(p, package)| (p.identifier(), with_zero_constant(package.commitment())))
        .collect();
    let commitments = full.iter().map(|(id, c)| (*id, c)).collect();
    let zero =
        PublicKeyPackage::from_dkg_commitments(&commitments).map_err(|_| KeyFault::NoGroupKey)?;
    let mut shares = BTreeMap::new();
    for (id, delta) in zero.verifying_shares() {
        let before = old.verifying_shares().get(id).ok_or(KeyFault::NoGroupKey)?;
        shares.insert(
            *id,
            VerifyingShare::new(before.to_element() + delta.to_element()),
        );
    }
    // As frost-core's refresh_dkg_shares writes it, whatever the old
    // package said (packages of frost-core 2 carry no threshold).
    Ok(PublicKeyPackage::new(
        shares,
        *old.verifying_key(),
        Some(threshold),
    ))
}

/// Who is at fault when `complainer` says `accused`'s round-2 package to
/// it is bad, revealing `session_key`: the complainer if the key is not the
/// one it announced or the package opens and verifies against `accused`'s
/// commitment; `accused` otherwise.
pub struct Complaint<'a> {
    pub ceremony: &'a str,
    pub complainer: &'a ParticipantId,
    pub announced_key: &'a [u8; 32],
    pub session_key: &'a [u8],
    pub accused: &'a ParticipantId,
    pub accused_round1: &'a round1::Package,
    pub sealed: Sealed,
    /// Whether the ceremony is a refresh (commitments lack their zero
    /// constant term).
    pub refresh: bool,
}

impl Complaint<'_> {
    /// The culprit, with the fault.
    pub fn judge(&self) -> (ParticipantId, KeyFault) {
        let complainer = || self.complainer.clone();
        let accused = || self.accused.clone();
        let Ok(key) = SessionKey::from_revealed(self.session_key) else {
            return (complainer(), KeyFault::RevealedWrongKey);
        };
        if &key.public() != self.announced_key {
            return (complainer(), KeyFault::RevealedWrongKey);
        }
        let binding = round2_binding(
            self.ceremony,
            self.accused.as_str(),
            self.complainer.as_str(),
        );
        let Ok(plaintext) = quorate_envelope::open(&key, &binding, &self.sealed) else {
            return (accused(), KeyFault::SealedShareDoesNotOpen);
        };
        let Ok(package) = round2::Package::deserialize(&plaintext) else {
            return (accused(), KeyFault::MalformedRound2);
        };
        let commitment = if self.refresh {
            with_zero_constant(self.accused_round1.commitment())
        } else {
            self.accused_round1.commitment().clone()
        };
        let share = SecretShare::new(
            self.complainer.identifier(),
            *package.signing_share(),
            commitment,
        );
        match share.verify() {
            Ok(_) => (complainer(), KeyFault::FalseComplaint),
            Err(_) => (accused(), KeyFault::BadRound2Share),
        }
    }
}

/// The public key package after a repair or enrolment of `participant` in
/// `old`: unchanged for a repair; for an enrolment, with the new
/// participant's verifying share, the group's polynomial evaluated at its
/// identifier in the exponent (Lagrange interpolation over t verifying
/// shares), which the share the helpers rebuild must match.
pub fn after_repair(
    old: &PublicKeyPackage,
    participant: &ParticipantId,
) -> Result<PublicKeyPackage, KeyFault> {
    let id = participant.identifier();
    if old.verifying_shares().contains_key(&id) {
        return Ok(old.clone());
    }
    let t = usize::from(old.min_signers().ok_or(KeyFault::NoGroupKey)?);
    let set: std::collections::BTreeSet<Identifier> =
        old.verifying_shares().keys().take(t).copied().collect();
    let mut share = EdwardsPoint::identity();
    for i in &set {
        let lambda = frost_core::compute_lagrange_coefficient::<Ed25519Sha512>(&set, Some(id), *i)
            .map_err(|_| KeyFault::NoGroupKey)?;
        share += old.verifying_shares()[i].to_element() * lambda;
    }
    let mut shares = old.verifying_shares().clone();
    shares.insert(id, VerifyingShare::new(share));
    Ok(PublicKeyPackage::new(
        shares,
        *old.verifying_key(),
        old.min_signers(),
    ))
}
