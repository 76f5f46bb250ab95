//! Unit tests of the parent module.

use super::*;
use crate::testing::Key;

#[test]
fn only_the_approvers_unaltered_note_verifies() {
    let key = Key::new(3);
    let note = BackupNote {
        key_group: KeyGroupName::new("release").unwrap(),
        participant: ParticipantId::new("alice").unwrap(),
        commitments_sha256: Sha256Digest::of(b"commitments"),
        share_point: vec![7; 32],
        threshold: 3,
        custodians: ["c1", "c2", "c3", "c4", "c5"]
            .map(|c| ParticipantId::new(c).unwrap())
            .to_vec(),
        at_unix_ms: 1_800_000_000_000,
    };
    let signed = note.sign(&key);
    let back = SignedBackupNote::from_bytes(&signed.to_bytes()).unwrap();
    assert!(back.verify(&key.public()));
    let mut altered = back.clone();
    altered.note.threshold = 2;
    assert!(!altered.verify(&key.public()));
    assert!(!back.verify(&Key::new(4).public()));
}
