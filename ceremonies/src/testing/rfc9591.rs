//! The FROST(Ed25519, SHA-512) test vector of RFC 9591 (Appendix E.1), read
//! from `tests/vectors/rfc9591_ed25519.json`, laid out like the
//! ZcashFoundation frost repository's `frost-ed25519/tests/helpers/vectors.json`,
//! with the values of the RFC's appendix (as in draft-irtf-cfrg-frost-15,
//! which became RFC 9591). Note that the `vectors.json` shipped in the
//! frost-ed25519 3.0.0 crate, and the versions of it in the frost repository,
//! carry nonce randomness from an earlier draft (signature `154fb694...`),
//! not the RFC's (signature `36282629...`); the group key, shares and
//! message are the same.
//!
//! The vector is fixed data: a value that does not parse is a broken test,
//! so the helpers panic.

use std::collections::BTreeMap;

use frost_ed25519::keys::{KeyPackage, PublicKeyPackage, SigningShare, VerifyingShare};
use frost_ed25519::round1::{NonceCommitment, SigningCommitments, SigningNonces};
use frost_ed25519::round2::SignatureShare;
use frost_ed25519::{Ed25519Sha512, Identifier, SigningPackage, VerifyingKey};
use serde::Deserialize;

/// frost-ed25519 does not re-export the nonce type; the vector needs it to
/// fix the nonces.
type Nonce = frost_core::round1::Nonce<Ed25519Sha512>;

const VECTOR_JSON: &str = include_str!("../../tests/vectors/rfc9591_ed25519.json");

#[derive(Debug, Deserialize)]
pub struct Vector {
    pub config: Config,
    pub inputs: Inputs,
    pub round_one_outputs: Outputs<RoundOne>,
    pub round_two_outputs: Outputs<RoundTwo>,
    pub final_output: FinalOutput,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct Config {
    pub max_participants: String,
    pub num_participants: String,
    pub min_participants: String,
    #[serde(rename = "name")]
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct Inputs {
    pub participant_list: Vec<u16>,
    pub group_secret_key: String,
    pub group_public_key: String,
    pub message: String,
    pub share_polynomial_coefficients: Vec<String>,
    pub participant_shares: Vec<ParticipantShare>,
}

#[derive(Debug, Deserialize)]
pub struct ParticipantShare {
    pub identifier: u16,
    pub participant_share: String,
}

#[derive(Debug, Deserialize)]
pub struct Outputs<T> {
    pub outputs: Vec<T>,
}

#[derive(Debug, Deserialize)]
pub struct RoundOne {
    pub identifier: u16,
    pub hiding_nonce_randomness: String,
    pub binding_nonce_randomness: String,
    pub hiding_nonce: String,
    pub binding_nonce: String,
    pub hiding_nonce_commitment: String,
    pub binding_nonce_commitment: String,
    pub binding_factor_input: String,
    pub binding_factor: String,
}

#[derive(Debug, Deserialize)]
pub struct RoundTwo {
    pub identifier: u16,
    pub sig_share: String,
}

#[derive(Debug, Deserialize)]
pub struct FinalOutput {
    pub sig: String,
}

pub fn vector() -> Vector {
    serde_json::from_str(VECTOR_JSON).expect("the vector file parses")
}

pub fn unhex(text: &str) -> Vec<u8> {
    hex::decode(text).expect("vector values are hex")
}

pub fn unhex32(text: &str) -> [u8; 32] {
    unhex(text).try_into().expect("a 32-byte value")
}

pub fn id(n: u16) -> Identifier {
    Identifier::try_from(n).expect("a non-zero identifier")
}

impl Vector {
    pub fn min_signers(&self) -> u16 {
        self.config
            .min_participants
            .parse()
            .expect("MIN_PARTICIPANTS is a number")
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey::deserialize(&unhex(&self.inputs.group_public_key)).expect("group public key")
    }

    /// Every participant's key package, built from the vector's shares.
    pub fn key_packages(&self) -> BTreeMap<Identifier, KeyPackage> {
        let vk = self.verifying_key();
        self.inputs
            .participant_shares
            .iter()
            .map(|p| {
                let share = SigningShare::deserialize(&unhex(&p.participant_share))
                    .expect("participant share");
                let package = KeyPackage::new(
                    id(p.identifier),
                    share,
                    VerifyingShare::from(share),
                    vk,
                    self.min_signers(),
                );
                (id(p.identifier), package)
            })
            .collect()
    }

    pub fn public_key_package(&self) -> PublicKeyPackage {
        let shares = self
            .key_packages()
            .into_iter()
            .map(|(id, kp)| (id, *kp.verifying_share()))
            .collect();
        PublicKeyPackage::new(shares, self.verifying_key(), Some(self.min_signers()))
    }

    pub fn round_one(&self, n: u16) -> &RoundOne {
        self.round_one_outputs
            .outputs
            .iter()
            .find(|o| o.identifier == n)
            .expect("a round-one output for the participant")
    }

    /// Participant `n`'s nonces, fixed to the vector's.
    pub fn nonces(&self, n: u16) -> SigningNonces {
        let out = self.round_one(n);
        let hiding = Nonce::deserialize(&unhex(&out.hiding_nonce)).expect("hiding nonce");
        let binding = Nonce::deserialize(&unhex(&out.binding_nonce)).expect("binding nonce");
        SigningNonces::from_nonces(hiding, binding)
    }

    /// The commitments the vector lists for participant `n`.
    pub fn commitments(&self, n: u16) -> SigningCommitments {
        let out = self.round_one(n);
        SigningCommitments::new(
            NonceCommitment::deserialize(&unhex(&out.hiding_nonce_commitment))
                .expect("hiding commitment"),
            NonceCommitment::deserialize(&unhex(&out.binding_nonce_commitment))
                .expect("binding commitment"),
        )
    }

    pub fn message(&self) -> Vec<u8> {
        unhex(&self.inputs.message)
    }

    /// The signing package: the listed commitments and the message.
    pub fn package(&self) -> SigningPackage {
        let commitments = self
            .inputs
            .participant_list
            .iter()
            .map(|&n| (id(n), self.commitments(n)))
            .collect();
        SigningPackage::new(commitments, &self.message())
    }

    /// The round-two signature shares the vector lists.
    pub fn shares(&self) -> BTreeMap<Identifier, SignatureShare> {
        self.round_two_outputs
            .outputs
            .iter()
            .map(|o| {
                let share = SignatureShare::deserialize(&unhex(&o.sig_share)).expect("a share");
                (id(o.identifier), share)
            })
            .collect()
    }
}
