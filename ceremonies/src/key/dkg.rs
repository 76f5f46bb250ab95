//! The checks anyone can make of a DKG from its signed messages alone: a
//! round-1 package's commitment and proof of knowledge, the public key
//! package all the commitments give, and who is lying when a participant
//! complains about a round-2 package it got.

use std::collections::BTreeMap;

use frost_ed25519::keys::dkg::{round1, round2};
use frost_ed25519::keys::{PublicKeyPackage, SecretShare};
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

/// Parses `participant`'s round-1 package and checks it: a commitment to a
/// polynomial of degree `threshold - 1` and a valid proof of knowledge of
/// its secret for `participant`'s identifier.
pub fn check_round1(
    participant: &ParticipantId,
    bytes: &[u8],
    threshold: u16,
) -> Result<round1::Package, KeyFault> {
    let package = round1::Package::deserialize(bytes).map_err(|_| KeyFault::MalformedRound1)?;
    let degree = package.commitment().coefficients().len();
    if degree != usize::from(threshold) {
        return Err(KeyFault::WrongCommitmentLength {
            got: degree as u64,
            expected: threshold.into(),
        });
    }
    frost_core::keys::dkg::verify_proof_of_knowledge::<Ed25519Sha512>(
        participant.identifier(),
        package.commitment(),
        package.proof_of_knowledge(),
    )
    .map_err(|_| KeyFault::BadProofOfKnowledge)?;
    Ok(package)
}

/// The public key package the round-1 commitments make: the group key and
/// every participant's verifying share.
pub fn expected_package(
    round1: &BTreeMap<ParticipantId, round1::Package>,
) -> Result<PublicKeyPackage, KeyFault> {
    let commitments: BTreeMap<Identifier, _> = round1
        .iter()
        .map(|(p, package)| (p.identifier(), package.commitment()))
        .collect();
    PublicKeyPackage::from_dkg_commitments(&commitments).map_err(|_| KeyFault::NoGroupKey)
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
        let share = SecretShare::new(
            self.complainer.identifier(),
            *package.signing_share(),
            self.accused_round1.commitment().clone(),
        );
        match share.verify() {
            Ok(_) => (complainer(), KeyFault::FalseComplaint),
            Err(_) => (accused(), KeyFault::BadRound2Share),
        }
    }
}
