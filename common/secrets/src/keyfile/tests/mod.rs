//! Unit tests of the parent module.

use super::*;

#[test]
fn share_file_round_trips_and_hides_secret() {
    let rng = rand_core_for_tests();
    let ids: Vec<ParticipantId> = ["a", "b", "c"]
        .iter()
        .map(|s| ParticipantId::new(*s).unwrap())
        .collect();
    let (shares, _public) = frost_ed25519::keys::generate_with_dealer(
        3,
        2,
        frost_ed25519::keys::IdentifierList::Custom(
            &ids.iter().map(|i| i.identifier()).collect::<Vec<_>>(),
        ),
        rng,
    )
    .unwrap();
    let share = shares[&ids[0].identifier()].clone();
    let package = KeyPackage::try_from(share).unwrap();
    let file =
        KeyShareFile::new(KeyGroupName::new("g").unwrap(), ids[0].clone(), &package).unwrap();
    let secret_hex = hex::encode(package.signing_share().serialize());
    assert!(!format!("{file:?}").contains(&secret_hex));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.share.json");
    let passphrase = Passphrase::new(Zeroizing::new("pw".into()));
    file.save(&path, &passphrase, &KdfParams::for_random_passphrase())
        .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let loaded = KeyShareFile::load(&path, &passphrase).unwrap();
    assert_eq!(loaded.key_package().unwrap(), package);

    std::fs::write(&path, b"{\"format\":\"nope\"}").unwrap();
    let err = KeyShareFile::load(&path, &passphrase)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a key-share file"), "{err}");
}

fn rand_core_for_tests() -> rand_core::OsRng {
    rand_core::OsRng
}

#[test]
fn a_key_file_is_replaced_whole_with_its_mode_and_no_leftovers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.json");
    std::fs::write(&path, b"the old one, much longer than the new one").unwrap();
    write_file(&path, b"new", 0o600).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"new");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["key.json"], "a temporary file was left behind");
    // A file that cannot be written leaves nothing behind either.
    let missing = dir.path().join("no-such-dir").join("key.json");
    assert!(write_file(&missing, b"x", 0o600).is_err());
}
