//! The FROST(Ed25519, SHA-512) test vector of RFC 9591 (Appendix E.1), run
//! through the agent's own round 2 (`quorate_participant::signer::sign`),
//! plus the refusals of that round 2. The vector and its reading are
//! `quorate_ceremonies::testing::rfc9591` (the engine runs it through its
//! share check and aggregate too).

use std::collections::BTreeMap;

use frost_ed25519::round2::SignatureShare;
use frost_ed25519::{
    Ciphersuite, Ed25519ScalarField, Ed25519Sha512, Field, Identifier, Signature, SigningKey,
    SigningPackage, VerifyingKey,
};
use quorate_ceremonies::testing::rfc9591::{self, id, unhex, unhex32};
use quorate_participant::signer::{Nonces, Refusal, sign};
use quorate_types::Sha256Digest;

fn scalar(bytes: &[u8; 32]) -> <Ed25519ScalarField as Field>::Scalar {
    Ed25519ScalarField::deserialize(bytes).expect("a canonical scalar")
}

#[test]
fn vector_is_the_rfc9591_ed25519_one() {
    let v = rfc9591::vector();
    assert_eq!(v.config.name, "FROST(Ed25519, SHA-512)");
    assert_eq!(v.config.max_participants, "3");
    assert_eq!(v.config.num_participants, "2");
    assert_eq!(v.config.min_participants, "2");
    assert_eq!(v.inputs.participant_list, [1, 3]);
    assert_eq!(v.message(), b"test");
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
    let v = rfc9591::vector();

    let secret = SigningKey::deserialize(&unhex(&v.inputs.group_secret_key)).expect("secret key");
    assert_eq!(VerifyingKey::from(&secret), v.verifying_key());

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
    let v = rfc9591::vector();
    let keys = v.key_packages();
    let msg = v.message();
    let approved = Sha256Digest::of(&msg);

    // Round 1: the nonces give the vector's commitments.
    let mut nonces = BTreeMap::new();
    for &n in &v.inputs.participant_list {
        let agent_nonces = Nonces::dangerous_from_parts(v.nonces(n));
        let out = v.round_one(n);
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
        assert_eq!(*c, v.commitments(n));
        nonces.insert(id(n), agent_nonces);
    }

    // The package binds the vector's binding factors.
    let package = v.package();
    let preimages: BTreeMap<Identifier, Vec<u8>> = package
        .binding_factor_preimages(&v.verifying_key(), &[])
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
        frost_ed25519::aggregate(&package, &shares, &v.public_key_package()).expect("aggregate");
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
    let v = rfc9591::vector();
    let keys = v.key_packages();
    let approved = Sha256Digest::of(&v.message());
    let commitments = v
        .inputs
        .participant_list
        .iter()
        .map(|&n| (id(n), v.commitments(n)))
        .collect();
    let other = SigningPackage::new(commitments, b"tesT");

    let refusal = sign(
        &approved,
        &other,
        Nonces::dangerous_from_parts(v.nonces(1)),
        &keys[&id(1)],
    )
    .unwrap_err();
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
        &v.package(),
        Nonces::dangerous_from_parts(v.nonces(3)),
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
    let v = rfc9591::vector();
    let keys = v.key_packages();
    let msg = v.message();
    // P2 and P3 sign; P1's agent is handed their package.
    let p2_commitments = *Nonces::generate(&keys[&id(2)], &mut rand_core::OsRng).commitments();
    let commitments = BTreeMap::from([(id(2), p2_commitments), (id(3), v.commitments(3))]);
    let package = SigningPackage::new(commitments, &msg);

    let refusal = sign(
        &Sha256Digest::of(&msg),
        &package,
        Nonces::dangerous_from_parts(v.nonces(1)),
        &keys[&id(1)],
    )
    .unwrap_err();
    assert_eq!(refusal, Refusal::CommitmentMissing);
}

#[test]
fn refuses_a_package_with_a_commitment_it_did_not_make() {
    let v = rfc9591::vector();
    let keys = v.key_packages();
    let msg = v.message();
    let approved = Sha256Digest::of(&msg);

    // P1's slot carries commitments from other nonces of P1's.
    let stale = *Nonces::generate(&keys[&id(1)], &mut rand_core::OsRng).commitments();
    let commitments = BTreeMap::from([(id(1), stale), (id(3), v.commitments(3))]);
    let package = SigningPackage::new(commitments, &msg);
    let refusal = sign(
        &approved,
        &package,
        Nonces::dangerous_from_parts(v.nonces(1)),
        &keys[&id(1)],
    )
    .unwrap_err();
    assert_eq!(refusal, Refusal::CommitmentNotOurs);

    // P1's slot carries P3's commitments.
    let commitments = BTreeMap::from([(id(1), v.commitments(3)), (id(3), v.commitments(3))]);
    let package = SigningPackage::new(commitments, &msg);
    let refusal = sign(
        &approved,
        &package,
        Nonces::dangerous_from_parts(v.nonces(1)),
        &keys[&id(1)],
    )
    .unwrap_err();
    assert_eq!(refusal, Refusal::CommitmentNotOurs);
}

#[test]
fn refuses_a_package_with_too_few_signers() {
    let v = rfc9591::vector();
    let keys = v.key_packages();
    let msg = v.message();
    let package = SigningPackage::new(BTreeMap::from([(id(1), v.commitments(1))]), &msg);

    let refusal = sign(
        &Sha256Digest::of(&msg),
        &package,
        Nonces::dangerous_from_parts(v.nonces(1)),
        &keys[&id(1)],
    )
    .unwrap_err();
    assert_eq!(refusal, Refusal::TooFewSigners { got: 1, min: 2 });
}
