//! What `quorate verify` reads from consumers' files: signatures in each
//! format, trust policies and hand-over links. A signature is accepted
//! only if the trusted key really made it over the artifact.

use ed25519_dalek::{Signature, VerifyingKey};
use quorate_formats::handover::Link;
use quorate_formats::trust::TrustPolicy;
use sha2::Digest as _;

use crate::fixed::{self, ARTIFACT};

/// The artifact and the signature file, cut from the input.
fn artifact_and_signature(data: &[u8]) -> Option<(&[u8], &[u8])> {
    match crate::pieces(data)[..] {
        [artifact, signature] => Some((artifact, signature)),
        _ => None,
    }
}

/// Whether `signature` is the trusted key's over `message`.
fn by_the_signer(message: &[u8], signature: &[u8; 64]) -> bool {
    VerifyingKey::from_bytes(&fixed::signer_public()).is_ok_and(|k| {
        k.verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    })
}

/// A raw 64-byte signature over the artifact.
pub fn raw(data: &[u8]) {
    let Some((artifact, signature)) = artifact_and_signature(data) else {
        return;
    };
    if quorate_formats::raw::verify(&fixed::trust_policy(), ARTIFACT, artifact, signature).is_ok() {
        let Ok(signature) = <[u8; 64]>::try_from(signature) else {
            panic!("accepted a raw signature of {} bytes", signature.len());
        };
        assert!(
            by_the_signer(artifact, &signature),
            "accepted a forged raw signature"
        );
    }
}

/// An armored SSHSIG over the artifact.
pub fn sshsig(data: &[u8]) {
    let Some((artifact, signature)) = artifact_and_signature(data) else {
        return;
    };
    let Ok(text) = std::str::from_utf8(signature) else {
        return;
    };
    let digest: [u8; 64] = sha2::Sha512::digest(artifact).into();
    if quorate_formats::sshsig::verify(&fixed::trust_policy(), ARTIFACT, &digest, text).is_ok() {
        let Ok(file) = quorate_formats::sshsig::parse_armor(text) else {
            panic!("accepted an SSHSIG that does not parse");
        };
        let signed = quorate_formats::sshsig::signed_data(&file.namespace, &digest);
        assert!(
            by_the_signer(&signed, &file.signature),
            "accepted a forged SSHSIG"
        );
    }
}

/// A minisign signature file over the artifact.
pub fn minisign(data: &[u8]) {
    let Some((artifact, signature)) = artifact_and_signature(data) else {
        return;
    };
    let Ok(text) = std::str::from_utf8(signature) else {
        return;
    };
    let digest = quorate_formats::minisign::blake2b512(artifact);
    if quorate_formats::minisign::verify(&fixed::trust_policy(), ARTIFACT, &digest, text).is_ok() {
        let Ok(file) = quorate_formats::minisign::SignatureFile::parse(text) else {
            panic!("accepted a minisign file that does not parse");
        };
        assert!(
            by_the_signer(&digest, &file.signature),
            "accepted a forged minisign signature"
        );
        assert!(
            by_the_signer(&file.global_message(), &file.global_signature),
            "accepted a forged trusted comment"
        );
    }
}

/// A DSSE envelope over the artifact.
pub fn dsse(data: &[u8]) {
    let Some((artifact, envelope)) = artifact_and_signature(data) else {
        return;
    };
    let digest: [u8; 32] = sha2::Sha256::digest(artifact).into();
    let artifacts = [(ARTIFACT.to_string(), digest)];
    let _ = quorate_formats::dsse::verify(&fixed::trust_policy(), &artifacts, envelope);
}

/// A signed git tag object.
pub fn git_tag(data: &[u8]) {
    let _ = quorate_formats::git_tag::verify(&fixed::trust_policy(), "v1.0", data);
}

/// A trust policy, then hand-over links, each piece a link's JSON.
pub fn trust_policy(data: &[u8]) {
    let pieces = crate::pieces(data);
    let Some((policy, links)) = pieces.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(policy) else {
        return;
    };
    let links: Vec<Link> = links
        .iter()
        .filter_map(|l| std::str::from_utf8(l).ok())
        .filter_map(|l| Link::from_json(l).ok())
        .collect();
    if let Ok(policy) = TrustPolicy::from_toml(text) {
        let _ = policy.with_hand_overs(&links);
    }
    if let Ok((updated, _)) = TrustPolicy::update_toml(text, &links) {
        assert!(
            TrustPolicy::from_toml(&updated).is_ok(),
            "an updated policy does not read back: {updated}"
        );
    }
}
