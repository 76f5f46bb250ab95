//! Unit tests of the parent module.

use super::*;

#[test]
fn saves_loads_and_hides_the_secret() {
    let key = IdentityKey::generate(ParticipantId::new("alice").unwrap(), &mut rand_core::OsRng);
    let secret = hex::encode(key.key.to_bytes());
    assert!(!format!("{key:?}").contains(&secret));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice.identity.json");
    let passphrase = Passphrase::new(Zeroizing::new("pw".into()));
    key.save(&path, &passphrase, &KdfParams::for_random_passphrase())
        .unwrap();
    assert!(!std::fs::read_to_string(&path).unwrap().contains(&secret));
    let loaded = IdentityKey::load(&path, &passphrase).unwrap();
    assert_eq!(loaded.public(), key.public());
    let sig = loaded.sign(b"hello");
    assert!(key.public().verify(b"hello", &sig));
    assert!(!key.public().verify(b"hellp", &sig));
}
