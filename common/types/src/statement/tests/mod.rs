//! Unit tests of the parent module.

use super::*;

use crate::testing::Key;

fn statement() -> Statement {
    Statement {
        ceremony: CeremonyId::new("c1").unwrap(),
        key_group: KeyGroupName::new("release").unwrap(),
        participant: ParticipantId::new("alice").unwrap(),
        message_sha256: Sha256Digest::of(b"SHA256SUMS"),
        break_glass: false,
        decision: Decision::Approve,
        at_unix_ms: 1_700_000_000_000,
        follow_ups: Vec::new(),
    }
}

#[test]
fn signed_bytes_are_canonical() {
    let text = String::from_utf8(statement().signed_bytes()).unwrap();
    insta::assert_snapshot!(text);
}

#[test]
fn only_the_unaltered_statement_verifies() {
    let key = Key::new(1);
    let signed = statement().sign(&key);
    assert!(signed.verify(&key.public()));
    let back = SignedStatement::from_bytes(&signed.to_bytes()).unwrap();
    assert!(back.verify(&key.public()));

    let mut altered = signed.clone();
    altered.statement.decision = Decision::Reject { reason: "x".into() };
    assert!(!altered.verify(&key.public()));
    let other = Key::new(2);
    assert!(!signed.verify(&other.public()));
}
