//! Unit tests of the parent module, with a key and signature made by
//! minisign 0.11 itself (`minisign -G -W`, then `minisign -S -t "my comment"`
//! over a file holding "hello\n").

use ed25519_dalek::{Signer, SigningKey, Verifier};

use super::*;

const MINISIGN_KEY: &str = "untrusted comment: minisign public key 3F8CDA099B684BFA
RWT6S2ibCdqMP14eix517rkWq6IWJcm1qrkG0/mtUGZzD5fMHTkxoSQa
";
const MINISIGN_SIG: &str = "untrusted comment: signature from minisign secret key
RUT6S2ibCdqMP1+mFmZR04rGkPmPqQ7w6zTboH7IYBEkoXG3xvVxYkl+ixdQlxCUHFIzs/ZL0rJN9NzWMRGyszZ3aVRzSSVq2Q8=
trusted comment: my comment
IkyqYLJLuvJdx2gpBgeNtZBJux8f3pMwnxmZTYQ1GG4mt8zjrwFOGYZI4DSbvrl9rJoA0pRGznvgis+ApSmNDQ==
";

fn verifies(key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(key)
        .unwrap()
        .verify(message, &ed25519_dalek::Signature::from_bytes(signature))
        .is_ok()
}

#[test]
fn reads_what_minisign_writes() {
    let key = PublicKey::parse(MINISIGN_KEY).unwrap();
    assert_eq!(key_id_hex(&key.key_id), "3F8CDA099B684BFA");
    let sig = SignatureFile::parse(MINISIGN_SIG).unwrap();
    assert_eq!(sig.key_id, key.key_id);
    assert_eq!(sig.trusted_comment, "my comment");
    assert_eq!(sig.untrusted_comment, "signature from minisign secret key");
    // BLAKE2b-512 of the file (what `b2sum` prints), then the global
    // signature over the signature and the trusted comment.
    let digest = blake2b512(b"hello\n");
    assert_eq!(
        hex::encode(digest),
        "f60ce482e5cc1229f39d71313171a8d9f4ca3a87d066bf4b205effb528192a75\
         f14f3271e2c1a90e1de53f275b4d4793eef2f5e31ea90d2ce29d2e481c36435f"
    );
    assert!(verifies(&key.key, &digest, &sig.signature));
    assert!(verifies(
        &key.key,
        &sig.global_message(),
        &sig.global_signature
    ));
    // And it writes it back byte for byte.
    assert_eq!(sig.write(), MINISIGN_SIG);
}

#[test]
fn the_key_file_round_trips_with_the_derived_key_id() {
    let signing = SigningKey::from_bytes(&[3; 32]);
    let group_key = signing.verifying_key().to_bytes();
    let text = public_key_file(&group_key);
    let id = key_id(&group_key);
    assert!(text.starts_with(&format!(
        "untrusted comment: minisign public key {}\n",
        key_id_hex(&id)
    )));
    let key = PublicKey::parse(&text).unwrap();
    assert_eq!(key.key, group_key);
    assert_eq!(key.key_id, id);
    // The base64 line alone reads too.
    assert_eq!(PublicKey::parse(text.lines().nth(1).unwrap()).unwrap(), key);
    // The key id is SHA-512's first 8 bytes.
    let sha512 = sha2::Sha512::digest(group_key);
    assert_eq!(&id[..], &sha512[..8]);
}

#[test]
fn a_batch_signed_as_a_ceremony_signs_it_makes_a_valid_file() {
    let signing = SigningKey::from_bytes(&[5; 32]);
    let digest = blake2b512(b"artifact");
    let (message, follow_ups) = batch(&digest, "timestamp:1\tfile:a\thashed").unwrap();
    let sig = signing.sign(&message).to_bytes();
    let global_message = follow_ups[0].message(&sig);
    let global = signing.sign(&global_message).to_bytes();
    let file = SignatureFile {
        untrusted_comment: "signature from quorate".into(),
        key_id: key_id(&signing.verifying_key().to_bytes()),
        signature: sig,
        trusted_comment: "timestamp:1\tfile:a\thashed".into(),
        global_signature: global,
    };
    let back = SignatureFile::parse(&file.write()).unwrap();
    assert_eq!(back, file);
    assert_eq!(back.global_message(), global_message);
}

#[test]
fn bad_files_and_comments_are_named() {
    assert_eq!(
        check_trusted_comment("a\nb"),
        Err(MinisignError::MultilineComment)
    );
    assert_eq!(
        check_trusted_comment(&"x".repeat(MAX_TRUSTED_COMMENT_BYTES + 1)),
        Err(MinisignError::LongComment)
    );
    assert!(batch(&[0; 64], "a\rb").is_err());
    let truncated: String = MINISIGN_SIG.lines().take(2).collect::<Vec<_>>().join("\n");
    assert!(
        SignatureFile::parse(&truncated)
            .unwrap_err()
            .to_string()
            .contains("ends before the trusted comment")
    );
    let legacy = MINISIGN_SIG.replace("RUT6", "RWT6");
    assert_eq!(SignatureFile::parse(&legacy), Err(MinisignError::Legacy));
    assert!(SignatureFile::parse("untrusted comment: x\n!!!\n").is_err());
    assert!(PublicKey::parse("ssh-ed25519 AAAA").is_err());
    assert!(PublicKey::parse("RWQ=").is_err());
}

#[test]
fn describes_minisign_shaped_batches_only() {
    let (message, follow_ups) = batch(&[0xab; 64], "my comment").unwrap();
    let lines = describe_batch(&message, &follow_ups).unwrap();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].contains(&hex::encode([0xab; 64])));
    assert!(lines[0].contains("BLAKE2b-512"));
    assert!(lines[1].contains("global signature"));
    assert!(lines[1].contains("\"my comment\""));
    assert_eq!(describe_batch(b"short", &follow_ups), None);
    assert_eq!(describe_batch(&message, &[]), None);
}
