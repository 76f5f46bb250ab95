//! Unit tests of the parent module.

use super::*;

/// Known answer from golang.org/x/mod sumdb/note/note_test.go TestSign
/// (also in the signed_note crate docs): Ed25519 is deterministic, so
/// signing the same text with the same key gives the published line.
#[test]
fn signs_the_published_peter_neumann_note() {
    let skey = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    let decoded = STANDARD.decode(skey).unwrap();
    assert_eq!(decoded[0], ALG_ED25519);
    let seed: [u8; 32] = decoded[1..].try_into().unwrap();
    let key = LogKey::from_seed("PeterNeumann", &seed).unwrap();
    let text = "If you think cryptography is the answer to your problem,\n\
                then you don't know what your problem is.\n";
    let want = "If you think cryptography is the answer to your problem,\n\
                then you don't know what your problem is.\n\
                \n\
                — PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    assert_eq!(key.sign_note(text).unwrap(), want);
}
