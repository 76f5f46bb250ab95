//! Unit tests of the parent module.

use super::*;

fn pass(text: &str) -> Passphrase {
    Passphrase::new(Zeroizing::new(text.to_string()))
}

#[test]
fn a_sealed_key_opens_only_with_its_passphrase_and_is_not_in_the_clear() {
    let dir = tempfile::tempdir().unwrap();
    let owner = ParticipantId::new("alice").unwrap();
    let cheap = KdfParams::for_random_passphrase();
    let key = create_sealed(
        dir.path(),
        "alice.agent.quorate",
        &owner,
        &pass("pw"),
        &cheap,
    )
    .unwrap();
    let opened = load_sealed(dir.path(), &pass("pw")).unwrap();
    assert_eq!(opened.verifier_key(), key.verifier_key());
    let err = load_sealed(dir.path(), &pass("not it")).unwrap_err();
    assert!(err.to_string().contains("passphrase is wrong"), "{err}");
    let on_disk = std::fs::read(dir.path().join(SEALED_FILE_NAME)).unwrap();
    let seed = hex::encode(*key.seed());
    assert!(
        !String::from_utf8_lossy(&on_disk).contains(&seed),
        "the seed is on disk in the clear"
    );
    // A witness keeps its key for life: neither kind is made twice.
    for made in [
        create(dir.path(), "x").map(|_| ()),
        create_sealed(dir.path(), "x", &owner, &pass("pw"), &cheap).map(|_| ()),
    ] {
        assert!(made.unwrap_err().to_string().contains("for life"));
    }
}
