//! The agent's FROST rounds: round 1 makes nonces and commitments for one
//! ceremony; round 2 signs a package only if it carries exactly the message
//! the approver approved and the commitment these nonces belong to. Nonces
//! sign at most one package and are zeroized when dropped (frost-core's
//! `SigningNonces` zeroizes on drop).

use frost_ed25519::SigningPackage;
use frost_ed25519::keys::KeyPackage;
use frost_ed25519::round1::{SigningCommitments, SigningNonces};
use frost_ed25519::round2::SignatureShare;
use quorate_types::Sha256Digest;
use rand_core::{CryptoRng, RngCore};

/// Why the agent will not sign a package.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the signing package's message (SHA-256 {got}) is not the approved one ({approved})")]
    MessageNotApproved { approved: String, got: String },
    #[error("the signing package does not contain this agent's commitment")]
    CommitmentMissing,
    #[error("the signing package carries a commitment for this agent that it did not make")]
    CommitmentNotOurs,
    #[error("the signing package has {got} signers; at least {min} are needed")]
    TooFewSigners { got: usize, min: u16 },
    #[error("FROST round 2 failed: {0}")]
    Frost(String),
}

/// Nonces made for one ceremony, with the commitments sent for them.
pub struct Nonces {
    nonces: SigningNonces,
    commitments: SigningCommitments,
}

impl std::fmt::Debug for Nonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nonces").finish_non_exhaustive()
    }
}

impl Nonces {
    /// Round 1: fresh nonces from `rng`.
    pub fn generate<R: RngCore + CryptoRng>(key: &KeyPackage, rng: &mut R) -> Self {
        let (nonces, commitments) = frost_ed25519::round1::commit(key.signing_share(), rng);
        Self {
            nonces,
            commitments,
        }
    }

    /// Nonces fixed in advance (test vectors only).
    pub fn dangerous_from_parts(nonces: SigningNonces) -> Self {
        let commitments = *nonces.commitments();
        Self {
            nonces,
            commitments,
        }
    }

    pub fn commitments(&self) -> &SigningCommitments {
        &self.commitments
    }
}

/// Round 2. Consumes the nonces whatever the result, so they can never sign
/// a second package.
pub fn sign(
    approved: &Sha256Digest,
    package: &SigningPackage,
    nonces: Nonces,
    key: &KeyPackage,
) -> Result<SignatureShare, Refusal> {
    let got = Sha256Digest::of(package.message());
    if got != *approved {
        return Err(Refusal::MessageNotApproved {
            approved: approved.to_string(),
            got: got.to_string(),
        });
    }
    match package.signing_commitment(key.identifier()) {
        None => return Err(Refusal::CommitmentMissing),
        Some(c) if c != nonces.commitments => return Err(Refusal::CommitmentNotOurs),
        Some(_) => {}
    }
    let signers = package.signing_commitments().len();
    if signers < usize::from(*key.min_signers()) {
        return Err(Refusal::TooFewSigners {
            got: signers,
            min: *key.min_signers(),
        });
    }
    frost_ed25519::round2::sign(package, &nonces.nonces, key)
        .map_err(|e| Refusal::Frost(e.to_string()))
}
