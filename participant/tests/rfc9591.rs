//! The FROST(Ed25519, SHA-512) test vector of RFC 9591 (Appendix E.1), run
//! through the agent's own round 2 (`quorate_participant::signer::sign`),
//! plus the refusals of that round 2.
//!
//! The vector lives in `vectors/rfc9591_ed25519.json`, laid out like the
//! ZcashFoundation frost repository's `frost-ed25519/tests/helpers/vectors.json`,
//! with the values of the RFC's appendix (as in draft-irtf-cfrg-frost-15,
//! which became RFC 9591). Note that the `vectors.json` shipped in the
//! frost-ed25519 3.0.0 crate, and the versions of it in the frost repository,
//! carry nonce randomness from an earlier draft (signature `154fb694...`),
//! not the RFC's (signature `36282629...`); the group key, shares and
//! message are the same.

use std::collections::BTreeMap;

use frost_ed25519::keys::{KeyPackage, PublicKeyPackage, SigningShare, VerifyingShare};
use frost_ed25519::round1::{NonceCommitment, SigningCommitments, SigningNonces};
use frost_ed25519::round2::SignatureShare;
use frost_ed25519::{
    Ciphersuite, Ed25519ScalarField, Ed25519Sha512, Field, Identifier, Signature, SigningKey,
    SigningPackage, VerifyingKey,
};
use quorate_participant::signer::{Nonces, Refusal, sign};
use quorate_types::Sha256Digest;
use serde::Deserialize;

/// frost-ed25519 does not re-export the nonce type; the vector needs it to
/// fix the nonces.
type Nonce = frost_core::round1::Nonce<Ed25519Sha512>;

const VECTOR_JSON: &str = include_str!("vectors/rfc9591_ed25519.json");

#[derive(Debug, Deserialize)]
struct Vector {
    config: Config,
    inputs: Inputs,
    round_one_outputs: Outputs<RoundOne>,
    round_two_outputs: Outputs<RoundTwo>,
    final_output: FinalOutput,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct Config {
    max_participants: String,
    num_participants: String,
    min_participants: String,
    #[serde(rename = "name")]
    name: String,
}

#[derive(Debug, Deserialize)]
struct Inputs {
    participant_list: Vec<u16>,
    group_secret_key: String,
    group_public_key: String,
    message: String,
    share_polynomial_coefficients: Vec<String>,
    participant_shares: Vec<ParticipantShare>,
}

#[derive(Debug, Deserialize)]
struct ParticipantShare {
    identifier: u16,
    participant_share: String,
}

#[derive(Debug, Deserialize)]
struct Outputs<T> {
    outputs: Vec<T>,
}

#[derive(Debug, Deserialize)]
struct RoundOne {
    identifier: u16,
    hiding_nonce_randomness: String,
    binding_nonce_randomness: String,
    hiding_nonce: String,
    binding_nonce: String,
    hiding_nonce_commitment: String,
    binding_nonce_commitment: String,
    binding_factor_input: String,
    binding_factor: String,
}

#[derive(Debug, Deserialize)]
struct RoundTwo {
    identifier: u16,
    sig_share: String,
}

#[derive(Debug, Deserialize)]
struct FinalOutput {
    sig: String,
}

fn vector() -> Vector {
    serde_json::from_str(VECTOR_JSON).expect("the vector file parses")
}

fn unhex(text: &str) -> Vec<u8> {
    hex::decode(text).expect("vector values are hex")
}

fn unhex32(text: &str) -> [u8; 32] {
    unhex(text).try_into().expect("a 32-byte value")
}

fn id(n: u16) -> Identifier {
    Identifier::try_from(n).expect("a non-zero identifier")
}

fn min_signers(v: &Vector) -> u16 {
    v.config
        .min_participants
        .parse()
        .expect("MIN_PARTICIPANTS is a number")
}

fn verifying_key(v: &Vector) -> VerifyingKey {
    VerifyingKey::deserialize(&unhex(&v.inputs.group_public_key)).expect("group public key")
}

/// Every participant's key package, built from the vector's signing shares.
fn key_packages(v: &Vector) -> BTreeMap<Identifier, KeyPackage> {
    let vk = verifying_key(v);
    v.inputs
        .participant_shares
        .iter()
        .map(|p| {
            let share =
                SigningShare::deserialize(&unhex(&p.participant_share)).expect("participant share");
            let package = KeyPackage::new(
                id(p.identifier),
                share,
                VerifyingShare::from(share),
                vk,
                min_signers(v),
            );
            (id(p.identifier), package)
        })
        .collect()
}

fn public_key_package(v: &Vector) -> PublicKeyPackage {
    let shares = key_packages(v)
        .into_iter()
        .map(|(id, kp)| (id, *kp.verifying_share()))
        .collect();
    PublicKeyPackage::new(shares, verifying_key(v), Some(min_signers(v)))
}

fn round_one(v: &Vector, n: u16) -> &RoundOne {
    v.round_one_outputs
        .outputs
        .iter()
        .find(|o| o.identifier == n)
        .expect("a round-one output for the participant")
}

/// The agent's nonces for participant `n`, fixed to the vector's.
fn vector_nonces(v: &Vector, n: u16) -> Nonces {
    let out = round_one(v, n);
    let hiding = Nonce::deserialize(&unhex(&out.hiding_nonce)).expect("hiding nonce");
    let binding = Nonce::deserialize(&unhex(&out.binding_nonce)).expect("binding nonce");
    Nonces::dangerous_from_parts(SigningNonces::from_nonces(hiding, binding))
}

/// The commitments the vector lists for participant `n`.
fn vector_commitments(v: &Vector, n: u16) -> SigningCommitments {
    let out = round_one(v, n);
    SigningCommitments::new(
        NonceCommitment::deserialize(&unhex(&out.hiding_nonce_commitment))
            .expect("hiding commitment"),
        NonceCommitment::deserialize(&unhex(&out.binding_nonce_commitment))
            .expect("binding commitment"),
    )
}

fn message(v: &Vector) -> Vec<u8> {
    unhex(&v.inputs.message)
}

/// The signing package of the vector: the listed commitments and the message.
fn vector_package(v: &Vector) -> SigningPackage {
    let commitments = v
        .inputs
        .participant_list
        .iter()
        .map(|&n| (id(n), vector_commitments(v, n)))
        .collect();
    SigningPackage::new(commitments, &message(v))
}

fn scalar(bytes: &[u8; 32]) -> <Ed25519ScalarField as Field>::Scalar {
    Ed25519ScalarField::deserialize(bytes).expect("a canonical scalar")
}

#[test]
fn vector_is_the_rfc9591_ed25519_one() {
    let v = vector();
    assert_eq!(v.config.name, "FROST(Ed25519, SHA-512)");
    assert_eq!(v.config.max_participants, "3");
    assert_eq!(v.config.num_participants, "2");
    assert_eq!(v.config.min_participants, "2");
    assert_eq!(v.inputs.participant_list, [1, 3]);
    assert_eq!(message(&v), b"test");
    assert_eq!(
        v.final_output.sig,
        "36282629c383bb820a88b71cae937d41f2f2adfcc3d02e55507e2fb9e2dd3cbe\
         bd9d2b0844e49ae0f3fa935161e1419aab7b47d21a37ebeae1f17d4987b3160b"
    );
}

/// The inputs agree with each other: the group key is the secret key's, the
/// shares lie on the dealer's polynomial, and the nonces come from the
/// randomness (`nonce_generate`, RFC 9591 section 4.1).
#[test]
fn vector_inputs_are_consistent() {
    let v = vector();

    let secret = SigningKey::deserialize(&unhex(&v.inputs.group_secret_key)).expect("secret key");
    assert_eq!(VerifyingKey::from(&secret), verifying_key(&v));

    let s = scalar(&unhex32(&v.inputs.group_secret_key));
    let a1 = scalar(&unhex32(&v.inputs.share_polynomial_coefficients[0]));
    for p in &v.inputs.participant_shares {
        let x = scalar(&id(p.identifier).serialize().try_into().expect("32 bytes"));
        let expected = Ed25519ScalarField::serialize(&(s + a1 * x));
        assert_eq!(
            hex::encode(expected),
            p.participant_share,
            "share of P{}",
            p.identifier
        );
    }

    for out in &v.round_one_outputs.outputs {
        let share = unhex(
            &v.inputs
                .participant_shares
                .iter()
                .find(|p| p.identifier == out.identifier)
                .expect("a share for each signer")
                .participant_share,
        );
        for (randomness, nonce) in [
            (&out.hiding_nonce_randomness, &out.hiding_nonce),
            (&out.binding_nonce_randomness, &out.binding_nonce),
        ] {
            let input = [unhex(randomness), share.clone()].concat();
            let generated = Ed25519ScalarField::serialize(&Ed25519Sha512::H3(&input));
            assert_eq!(
                &hex::encode(generated),
                nonce,
                "nonce of P{}",
                out.identifier
            );
        }
    }
}

#[test]
fn agent_signs_the_rfc9591_vector() {
    let v = vector();
    let keys = key_packages(&v);
    let msg = message(&v);
    let approved = Sha256Digest::of(&msg);

    // Round 1: the nonces give the vector's commitments.
    let mut nonces = BTreeMap::new();
    for &n in &v.inputs.participant_list {
        let agent_nonces = vector_nonces(&v, n);
        let out = round_one(&v, n);
        let c = agent_nonces.commitments();
        assert_eq!(
            hex::encode(c.hiding().serialize().expect("hiding commitment")),
            out.hiding_nonce_commitment,
            "hiding commitment of P{n}"
        );
        assert_eq!(
            hex::encode(c.binding().serialize().expect("binding commitment")),
            out.binding_nonce_commitment,
            "binding commitment of P{n}"
        );
        assert_eq!(*c, vector_commitments(&v, n));
        nonces.insert(id(n), agent_nonces);
    }

    // The package binds the vector's binding factors.
    let package = vector_package(&v);
    let preimages: BTreeMap<Identifier, Vec<u8>> = package
        .binding_factor_preimages(&verifying_key(&v), &[])
        .expect("binding factor preimages")
        .into_iter()
        .collect();
    for out in &v.round_one_outputs.outputs {
        let preimage = &preimages[&id(out.identifier)];
        assert_eq!(
            hex::encode(preimage),
            out.binding_factor_input,
            "P{}",
            out.identifier
        );
        let factor = Ed25519ScalarField::serialize(&Ed25519Sha512::H1(preimage));
        assert_eq!(
            hex::encode(factor),
            out.binding_factor,
            "P{}",
            out.identifier
        );
    }

    // Round 2 through the agent's checks.
    let mut shares: BTreeMap<Identifier, SignatureShare> = BTreeMap::new();
    for out in &v.round_two_outputs.outputs {
        let who = id(out.identifier);
        let agent_nonces = nonces.remove(&who).expect("nonces for each signer");
        let share = sign(&approved, &package, agent_nonces, &keys[&who])
            .unwrap_or_else(|e| panic!("P{} refused: {e}", out.identifier));
        assert_eq!(
            hex::encode(share.serialize()),
            out.sig_share,
            "share of P{}",
            out.identifier
        );
        shares.insert(who, share);
    }
    assert!(nonces.is_empty(), "every signer of the vector signed");

    let signature: Signature =
        frost_ed25519::aggregate(&package, &shares, &public_key_package(&v)).expect("aggregate");
    let bytes = signature.serialize().expect("signature bytes");
    assert_eq!(hex::encode(&bytes), v.final_output.sig);

    let key = ed25519_dalek::VerifyingKey::from_bytes(&unhex32(&v.inputs.group_public_key))
        .expect("an Ed25519 public key");
    let sig = ed25519_dalek::Signature::from_slice(&bytes).expect("an Ed25519 signature");
    key.verify_strict(&msg, &sig)
        .expect("verify_strict accepts the signature");
    assert!(key.verify_strict(b"tesT", &sig).is_err());
}

#[test]
fn refuses_a_package_whose_message_is_not_the_approved_one() {
    let v = vector();
    let keys = key_packages(&v);
    let approved = Sha256Digest::of(&message(&v));
    let commitments = v
        .inputs
        .participant_list
        .iter()
        .map(|&n| (id(n), vector_commitments(&v, n)))
        .collect();
    let other = SigningPackage::new(commitments, b"tesT");

    let refusal = sign(&approved, &other, vector_nonces(&v, 1), &keys[&id(1)]).unwrap_err();
    assert_eq!(
        refusal,
        Refusal::MessageNotApproved {
            approved: approved.to_string(),
            got: Sha256Digest::of(b"tesT").to_string(),
        }
    );

    // The same the other way round: the vector's package, another approval.
    let elsewhere = Sha256Digest::of(b"another manifest");
    let refusal = sign(
        &elsewhere,
        &vector_package(&v),
        vector_nonces(&v, 3),
        &keys[&id(3)],
    )
    .unwrap_err();
    assert!(
        matches!(refusal, Refusal::MessageNotApproved { .. }),
        "{refusal:?}"
    );
}

#[test]
fn refuses_a_package_without_its_commitment() {
    let v = vector();
    let keys = key_packages(&v);
    let msg = message(&v);
    // P2 and P3 sign; P1's agent is handed their package.
    let p2_commitments = *Nonces::generate(&keys[&id(2)], &mut rand_core::OsRng).commitments();
    let commitments = BTreeMap::from([(id(2), p2_commitments), (id(3), vector_commitments(&v, 3))]);
    let package = SigningPackage::new(commitments, &msg);

    let refusal = sign(
        &Sha256Digest::of(&msg),
        &package,
        vector_nonces(&v, 1),
        &keys[&id(1)],
    )
    .unwrap_err();
    assert_eq!(refusal, Refusal::CommitmentMissing);
}

#[test]
fn refuses_a_package_with_a_commitment_it_did_not_make() {
    let v = vector();
    let keys = key_packages(&v);
    let msg = message(&v);
    let approved = Sha256Digest::of(&msg);

    // P1's slot carries commitments from other nonces of P1's.
    let stale = *Nonces::generate(&keys[&id(1)], &mut rand_core::OsRng).commitments();
    let commitments = BTreeMap::from([(id(1), stale), (id(3), vector_commitments(&v, 3))]);
    let package = SigningPackage::new(commitments, &msg);
    let refusal = sign(&approved, &package, vector_nonces(&v, 1), &keys[&id(1)]).unwrap_err();
    assert_eq!(refusal, Refusal::CommitmentNotOurs);

    // P1's slot carries P3's commitments.
    let commitments = BTreeMap::from([
        (id(1), vector_commitments(&v, 3)),
        (id(3), vector_commitments(&v, 3)),
    ]);
    let package = SigningPackage::new(commitments, &msg);
    let refusal = sign(&approved, &package, vector_nonces(&v, 1), &keys[&id(1)]).unwrap_err();
    assert_eq!(refusal, Refusal::CommitmentNotOurs);
}

#[test]
fn refuses_a_package_with_too_few_signers() {
    let v = vector();
    let keys = key_packages(&v);
    let msg = message(&v);
    let package = SigningPackage::new(BTreeMap::from([(id(1), vector_commitments(&v, 1))]), &msg);

    let refusal = sign(
        &Sha256Digest::of(&msg),
        &package,
        vector_nonces(&v, 1),
        &keys[&id(1)],
    )
    .unwrap_err();
    assert_eq!(refusal, Refusal::TooFewSigners { got: 1, min: 2 });
}
