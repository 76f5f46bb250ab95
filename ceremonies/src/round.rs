//! One signing attempt: the package sent to the signing set, and the round-2
//! shares collected for it.

mod share_check;

use std::collections::BTreeMap;

use frost_core::{BindingFactorList, Challenge, Field, GroupCommitment};
use frost_ed25519::round1::SigningCommitments;
use frost_ed25519::round2::SignatureShare;
use frost_ed25519::{Ed25519ScalarField, Ed25519Sha512, Identifier, Signature, SigningPackage};
use quorate_types::ParticipantId;

use crate::{KeyGroup, QuorumMet, Timestamp};

#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    attempt: u32,
    /// Which message of the ceremony's batch the package signs (0 first).
    batch_index: u32,
    formed_at: Timestamp,
    package: SigningPackage,
    signers: Vec<ParticipantId>,
    shares: BTreeMap<ParticipantId, SignatureShare>,
    /// What every share check of this package shares, made at the first.
    derived: Derived,
}

/// RFC 9591's binding factors, group commitment and challenge of a signing
/// package: the same for each of its shares, so computed once rather than
/// once per share (and again to aggregate), which made checking a round's
/// shares quadratic in its signers.
#[derive(Clone, Default)]
struct Derived(Option<std::sync::Arc<PackageValues>>);

struct PackageValues {
    binding_factors: BindingFactorList<Ed25519Sha512>,
    group_commitment: GroupCommitment<Ed25519Sha512>,
    challenge: Challenge<Ed25519Sha512>,
}

impl PackageValues {
    fn of(package: &SigningPackage, key: &frost_ed25519::VerifyingKey) -> Option<Self> {
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

/// Derived from the package alone: never part of a round's identity.
impl PartialEq for Derived {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for Derived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Derived" } else { "None" })
    }
}

/// The result of checking one share.
pub(crate) enum ShareCheck {
    Valid,
    Invalid,
}

impl Round {
    /// Forms attempt `attempt` from the quorum's unused commitments, taking
    /// them out of `fresh` so that no commitment is ever in two packages.
    pub(crate) fn new(
        attempt: u32,
        quorum: QuorumMet,
        fresh: &mut BTreeMap<ParticipantId, SigningCommitments>,
        batch_index: u32,
        message: &[u8],
        formed_at: Timestamp,
    ) -> Self {
        let mut commitments: BTreeMap<Identifier, SigningCommitments> = BTreeMap::new();
        for signer in quorum.signers() {
            if let Some(c) = fresh.remove(signer) {
                commitments.insert(signer.identifier(), c);
            }
        }
        Self {
            attempt,
            batch_index,
            formed_at,
            package: SigningPackage::new(commitments, message),
            signers: quorum.signers().to_vec(),
            shares: BTreeMap::new(),
            derived: Derived::default(),
        }
    }

    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Which message of the ceremony's batch the package signs (0 first).
    pub fn batch_index(&self) -> u32 {
        self.batch_index
    }

    pub fn formed_at(&self) -> Timestamp {
        self.formed_at
    }

    pub fn package(&self) -> &SigningPackage {
        &self.package
    }

    pub fn signers(&self) -> &[ParticipantId] {
        &self.signers
    }

    pub fn has_share(&self, participant: &ParticipantId) -> bool {
        self.shares.contains_key(participant)
    }

    pub fn shares_received(&self) -> impl Iterator<Item = &ParticipantId> {
        self.shares.keys()
    }

    pub fn is_signer(&self, participant: &ParticipantId) -> bool {
        self.signers.contains(participant)
    }

    /// Checks `share` against the signer's verifying share; keeps it if valid.
    pub(crate) fn check_share(
        &mut self,
        key_group: &KeyGroup,
        participant: &ParticipantId,
        share: &SignatureShare,
    ) -> ShareCheck {
        let id = participant.identifier();
        let pubkeys = &key_group.public_key_package;
        let Some(verifying_share) = pubkeys.verifying_shares().get(&id) else {
            return ShareCheck::Invalid;
        };
        let values = match &self.derived.0 {
            Some(v) => Some(v.clone()),
            None => PackageValues::of(&self.package, pubkeys.verifying_key()).map(|v| {
                let v = std::sync::Arc::new(v);
                self.derived.0 = Some(v.clone());
                v
            }),
        };
        // The quick check accepts; anything else is frost-core's to judge.
        let quick = values
            .as_deref()
            .and_then(|v| share_check::holds(id, &self.package, v, share, verifying_share));
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
        match checked {
            Ok(()) => {
                self.shares.insert(participant.clone(), *share);
                ShareCheck::Valid
            }
            Err(_) => ShareCheck::Invalid,
        }
    }

    fn sum_of_shares(&self) -> Option<frost_core::Scalar<Ed25519Sha512>> {
        self.shares.values().try_fold(Default::default(), |sum, s| {
            let bytes: [u8; 32] = s.serialize().try_into().ok()?;
            Some(sum + Ed25519ScalarField::deserialize(&bytes).ok()?)
        })
    }

    pub fn is_complete(&self) -> bool {
        self.signers.iter().all(|s| self.shares.contains_key(s))
    }

    /// Aggregates the shares and checks the result as a consumer would, with
    /// ed25519-dalek's strict verification.
    /// An error means the aggregate of verified shares does not verify:
    /// no signer is to blame.
    pub(crate) fn aggregate(&self, key_group: &KeyGroup) -> Result<Signature, ()> {
        let shares = self
            .shares
            .iter()
            .map(|(p, s)| (p.identifier(), *s))
            .collect();
        let checked_sum = self
            .derived
            .0
            .as_ref()
            .filter(|_| self.is_complete())
            .zip(self.sum_of_shares());
        let signature = match checked_sum {
            // Every share was checked against these values: the signature
            // is their group commitment and the sum of the shares.
            Some((v, z)) => Signature::new(v.group_commitment.clone().to_element(), z),
            None => frost_ed25519::aggregate(&self.package, &shares, &key_group.public_key_package)
                .map_err(|_| ())?,
        };
        let bytes = signature.serialize().map_err(|_| ())?;
        let sig = ed25519_dalek::Signature::from_slice(&bytes).map_err(|_| ())?;
        let key =
            ed25519_dalek::VerifyingKey::from_bytes(&key_group.group_key()).map_err(|_| ())?;
        key.verify_strict(self.package.message(), &sig)
            .map_err(|_| ())?;
        Ok(signature)
    }
}
