use ed25519_dalek::{Signer, SigningKey};

use super::*;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn comment(text: &str) -> Vec<FollowUp> {
    vec![FollowUp::SignatureThen {
        suffix: text.as_bytes().to_vec(),
    }]
}

#[test]
fn a_follow_up_is_the_signature_then_the_suffix() {
    let rule = FollowUp::SignatureThen {
        suffix: b"trusted".to_vec(),
    };
    let message = rule.message(&[9; 64]);
    assert_eq!(&message[..64], &[9; 64]);
    assert_eq!(&message[64..], b"trusted");
}

#[test]
fn message_at_builds_the_chain_from_checked_signatures() {
    let key = key();
    let follow_ups = comment("timestamp:1\tfile:a");
    let sig0 = key.sign(b"first").to_bytes();
    let m1 = message_at(b"first", &follow_ups, &[sig0], 1, &key.verifying_key()).unwrap();
    assert_eq!(m1, follow_ups[0].message(&sig0));
    assert_eq!(
        message_at(b"first", &follow_ups, &[], 0, &key.verifying_key()).unwrap(),
        b"first"
    );
}

#[test]
fn message_at_refuses_a_signature_that_does_not_verify() {
    let key = key();
    let follow_ups = comment("c");
    let over_other = key.sign(b"other").to_bytes();
    assert_eq!(
        message_at(
            b"first",
            &follow_ups,
            &[over_other],
            1,
            &key.verifying_key()
        ),
        Err(BatchError::BadSignature { index: 0 })
    );
    assert_eq!(
        message_at(b"first", &follow_ups, &[], 1, &key.verifying_key()),
        Err(BatchError::SignatureMissing {
            index: 1,
            previous: 0
        })
    );
    assert_eq!(
        message_at(b"first", &follow_ups, &[], 2, &key.verifying_key()),
        Err(BatchError::NoSuchMessage { index: 2, len: 2 })
    );
}

#[test]
fn verify_checks_every_message_and_the_count() {
    let key = key();
    let vk = key.verifying_key();
    let follow_ups = comment("c");
    let sig0 = key.sign(b"first").to_bytes();
    let sig1 = key.sign(&follow_ups[0].message(&sig0)).to_bytes();
    verify(b"first", &follow_ups, &[sig0, sig1], &vk).unwrap();
    assert_eq!(
        verify(b"first", &follow_ups, &[sig0, sig0], &vk),
        Err(BatchError::BadSignature { index: 1 })
    );
    assert_eq!(
        verify(b"first", &follow_ups, &[sig0], &vk),
        Err(BatchError::SignatureCount {
            got: 1,
            expected: 2
        })
    );
    verify(b"first", &[], &[sig0], &vk).unwrap();
}

#[test]
fn check_bounds_the_batch() {
    check(&comment("ok")).unwrap();
    let many = vec![FollowUp::SignatureThen { suffix: vec![] }; MAX_FOLLOW_UPS + 1];
    assert_eq!(
        check(&many),
        Err(BatchError::TooMany {
            got: MAX_FOLLOW_UPS + 1
        })
    );
    let long = vec![FollowUp::SignatureThen {
        suffix: vec![b'a'; MAX_SUFFIX_BYTES + 1],
    }];
    assert_eq!(
        check(&long),
        Err(BatchError::SuffixTooLong {
            index: 1,
            got: MAX_SUFFIX_BYTES + 1
        })
    );
}

#[test]
fn describe_shows_text_and_hex() {
    assert!(
        comment("hi there")
            .first()
            .unwrap()
            .describe()
            .contains("\"hi there\"")
    );
    let binary = FollowUp::SignatureThen {
        suffix: vec![0, 1, 0xff],
    };
    assert!(binary.describe().contains("hex 0001ff"));
}

#[test]
fn serde_form_is_tagged_hex() {
    let json = serde_json::to_string(&comment("ab")).unwrap();
    assert_eq!(json, r#"[{"rule":"signature_then","suffix":"6162"}]"#);
    let back: Vec<FollowUp> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, comment("ab"));
}
