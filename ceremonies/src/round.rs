//! One signing attempt: the package sent to the signing set, and the round-2
//! shares collected for it.

use std::collections::BTreeMap;

use frost_ed25519::round1::SigningCommitments;
use frost_ed25519::round2::SignatureShare;
use frost_ed25519::{Identifier, Signature, SigningPackage};
use quorate_common::ParticipantId;

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
}

/// The result of checking one share.
pub(crate) enum ShareCheck {
    Valid,
    Invalid(String),
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
            return ShareCheck::Invalid("no verifying share in the key group".into());
        };
        match frost_core::verify_signature_share(
            id,
            verifying_share,
            share,
            &self.package,
            pubkeys.verifying_key(),
        ) {
            Ok(()) => {
                self.shares.insert(participant.clone(), *share);
                ShareCheck::Valid
            }
            Err(e) => ShareCheck::Invalid(format!(
                "signature share for attempt {} does not verify: {e}",
                self.attempt
            )),
        }
    }

    pub fn is_complete(&self) -> bool {
        self.signers.iter().all(|s| self.shares.contains_key(s))
    }

    /// Aggregates the shares and checks the result as a consumer would, with
    /// ed25519-dalek's strict verification.
    pub(crate) fn aggregate(&self, key_group: &KeyGroup) -> Result<Signature, String> {
        let shares = self
            .shares
            .iter()
            .map(|(p, s)| (p.identifier(), *s))
            .collect();
        let signature =
            frost_ed25519::aggregate(&self.package, &shares, &key_group.public_key_package)
                .map_err(|e| format!("aggregation failed: {e}"))?;
        let bytes = signature
            .serialize()
            .map_err(|e| format!("cannot encode the signature: {e}"))?;
        let sig = ed25519_dalek::Signature::from_slice(&bytes)
            .map_err(|e| format!("aggregate is not an Ed25519 signature: {e}"))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&key_group.group_key())
            .map_err(|e| format!("group key is not an Ed25519 key: {e}"))?;
        key.verify_strict(self.package.message(), &sig)
            .map_err(|e| format!("aggregate signature does not verify: {e}"))?;
        Ok(signature)
    }
}
