//! Test doubles shared by the engine's test files: an agent that runs the
//! real FROST rounds with its key package.

#![allow(dead_code)]

use frost_ed25519::SigningPackage;
use frost_ed25519::keys::KeyPackage;
use frost_ed25519::round1::{SigningCommitments, SigningNonces};
use frost_ed25519::round2::SignatureShare;
use quorate_common::ParticipantId;

pub fn pid(name: &str) -> ParticipantId {
    ParticipantId::new(name).expect("a valid participant id")
}

/// An approver's agent: its key package and the nonces of its last commitments.
pub struct Agent {
    pub key: KeyPackage,
    pub nonces: Option<SigningNonces>,
}

impl Agent {
    /// Round 1: fresh nonces; the old ones (if any) are destroyed.
    pub fn commit(&mut self) -> SigningCommitments {
        let (nonces, commitments) =
            frost_ed25519::round1::commit(self.key.signing_share(), &mut rand_core::OsRng);
        self.nonces = Some(nonces);
        commitments
    }

    /// Round 2 over `package`, using up the nonces.
    pub fn sign(&mut self, package: &SigningPackage) -> SignatureShare {
        let nonces = self.nonces.take().expect("the agent has nonces");
        frost_ed25519::round2::sign(package, &nonces, &self.key).expect("round 2 succeeds")
    }
}
