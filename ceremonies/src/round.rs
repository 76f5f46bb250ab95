//! One signing attempt: the package sent to the signing set, and the round-2
//! shares collected for it.

mod package_check;
mod share_check;

use std::collections::{BTreeMap, BTreeSet};

use frost_ed25519::round1::SigningCommitments;
use frost_ed25519::round2::SignatureShare;
use frost_ed25519::{Identifier, Signature, SigningPackage};
use quorate_types::ParticipantId;

pub use package_check::{AggregateInvalid, PackageCheck};

use crate::{KeyGroup, QuorumMet, Timestamp};

#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    attempt: u32,
    /// Which message of the ceremony's batch the package signs (0 first).
    batch_index: u32,
    formed_at: Timestamp,
    signers: Vec<ParticipantId>,
    /// The signers whose shares verified.
    shares: BTreeSet<ParticipantId>,
    check: PackageCheck,
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
            signers: quorum.signers().to_vec(),
            shares: BTreeSet::new(),
            check: PackageCheck::new(SigningPackage::new(commitments, message)),
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
        self.check.package()
    }

    pub fn signers(&self) -> &[ParticipantId] {
        &self.signers
    }

    pub fn has_share(&self, participant: &ParticipantId) -> bool {
        self.shares.contains(participant)
    }

    pub fn shares_received(&self) -> impl Iterator<Item = &ParticipantId> {
        self.shares.iter()
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
        if self
            .check
            .verify_share(id, &key_group.public_key_package, share)
        {
            self.shares.insert(participant.clone());
            ShareCheck::Valid
        } else {
            ShareCheck::Invalid
        }
    }

    pub fn is_complete(&self) -> bool {
        self.signers.iter().all(|s| self.shares.contains(s))
    }

    /// Aggregates the shares and checks the result as a consumer would.
    pub(crate) fn aggregate(&self, key_group: &KeyGroup) -> Result<Signature, AggregateInvalid> {
        self.check.aggregate(&key_group.public_key_package)
    }
}
