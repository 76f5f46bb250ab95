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
