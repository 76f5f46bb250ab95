//! Secret files at rest: a key-share or identity-key file cannot be read
//! without its passphrase, a wrong passphrase is named as such, a file
//! others may read is refused, and no secret shows in `Debug`.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use frost_ed25519::keys::{IdentifierList, KeyPackage};
use quorate_secrets::keyfile::{KeyFileError, KeyShareFile};
use quorate_secrets::sealed::{self, KdfParams, SecretKind};
use quorate_secrets::{IdentityKey, Passphrase};
use quorate_types::{KeyGroupName, ParticipantId};

fn pid(s: &str) -> ParticipantId {
    ParticipantId::new(s).unwrap()
}

fn pass(s: &str) -> Passphrase {
    Passphrase::new(s.to_string().into())
}

fn cheap() -> KdfParams {
    KdfParams::for_random_passphrase()
}

/// A share file of alice's, saved with `passphrase`, and its key package.
fn saved_share(dir: &Path, passphrase: &Passphrase) -> (PathBuf, KeyPackage) {
    let ids = [pid("alice"), pid("bob")];
    let (shares, _) = frost_ed25519::keys::generate_with_dealer(
        2,
        2,
        IdentifierList::Custom(&ids.iter().map(|i| i.identifier()).collect::<Vec<_>>()),
        rand_core::OsRng,
    )
    .unwrap();
    let package = KeyPackage::try_from(shares[&ids[0].identifier()].clone()).unwrap();
    let file = KeyShareFile::new(
        KeyGroupName::new("release").unwrap(),
        pid("alice"),
        &package,
    )
    .unwrap();
    let path = dir.join("alice.share.json");
    file.save(&path, passphrase, &cheap()).unwrap();
    (path, package)
}

/// Every spelling of `secret` a file or log might hold.
fn spellings(secret: &[u8]) -> Vec<String> {
    vec![
        hex::encode(secret),
        hex::encode_upper(secret),
        B64.encode(secret),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
    ]
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_share_file_is_not_readable_without_its_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let (path, package) = saved_share(dir.path(), &pass("correct horse"));
    let bytes = std::fs::read(&path).unwrap();
    let share = package.signing_share().serialize();
    let whole = package.serialize().unwrap();
    for secret in [&share[..], &whole[..]] {
        assert!(!contains(&bytes, secret), "raw secret bytes in the file");
        for s in spellings(secret) {
            assert!(!contains(&bytes, s.as_bytes()), "{s} in the file");
        }
    }
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("\"format\": \"quorate-sealed/v1\""), "{text}");
    assert!(text.contains("\"alg\": \"argon2id\""), "{text}");
    assert!(text.contains("\"kind\": \"key-share\""), "{text}");

    let loaded = KeyShareFile::load(&path, &pass("correct horse")).unwrap();
    assert_eq!(loaded.key_package().unwrap(), package);
}

#[test]
fn a_wrong_passphrase_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = saved_share(dir.path(), &pass("correct horse"));
    let err = KeyShareFile::load(&path, &pass("battery staple")).unwrap_err();
    assert!(matches!(err, KeyFileError::WrongPassphrase { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("alice.share.json"), "{text}");
    assert!(text.contains("the passphrase is wrong"), "{text}");
    assert!(!text.contains("battery"), "{text}");
}

#[cfg(unix)]
#[test]
fn a_share_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = saved_share(dir.path(), &pass("correct horse"));
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = KeyShareFile::load(&path, &pass("correct horse"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "refusing to load {}: it is readable by others (mode 0644); chmod 600 it",
            path.display()
        )
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o620)).unwrap();
    let err = KeyShareFile::load(&path, &pass("correct horse"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("writable by others (mode 0620)"), "{err}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    KeyShareFile::load(&path, &pass("correct horse")).unwrap();
}

#[test]
fn an_unencrypted_share_file_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.share.json");
    quorate_secrets::keyfile::write_file(
        &path,
        br#"{"format":"quorate-key-share/v1","key_group":"g","participant":"alice","key_package":"00"}"#,
        0o600,
    )
    .unwrap();
    let err = KeyShareFile::load(&path, &pass("x"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unencrypted"), "{err}");
    assert!(err.contains("quorate keygen"), "{err}");
}

#[test]
fn an_identity_key_is_sealed_too() {
    let dir = tempfile::tempdir().unwrap();
    let key = IdentityKey::generate(pid("alice"), &mut rand_core::OsRng);
    let path = dir.path().join("alice.identity.json");
    key.save(&path, &pass("correct horse"), &cheap()).unwrap();
    let opened = sealed::load(&path, SecretKind::IdentityKey, &pass("correct horse")).unwrap();
    let plaintext = String::from_utf8(opened.plaintext.to_vec()).unwrap();
    let seed = plaintext
        .split("\"secret\": \"")
        .nth(1)
        .and_then(|rest| rest.get(..64))
        .unwrap()
        .to_string();
    let bytes = std::fs::read(&path).unwrap();
    for s in spellings(&hex::decode(&seed).unwrap()) {
        assert!(!contains(&bytes, s.as_bytes()), "{s} in the file");
    }
    assert!(!format!("{key:?}").contains(&seed));
    assert!(!format!("{opened:?}").contains(&seed));

    let loaded = IdentityKey::load(&path, &pass("correct horse")).unwrap();
    assert_eq!(loaded.public(), key.public());
    let err = IdentityKey::load(&path, &pass("wrong")).unwrap_err();
    assert!(matches!(err, KeyFileError::WrongPassphrase { .. }), "{err}");

    // An identity key does not pass as a key share.
    let err = KeyShareFile::load(&path, &pass("correct horse"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("is a sealed identity-key file"), "{err}");
}

#[test]
fn debug_output_holds_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let passphrase = pass("correct horse battery");
    let (path, package) = saved_share(dir.path(), &passphrase);
    let file = KeyShareFile::load(&path, &passphrase).unwrap();
    let shown = format!("{file:?} {passphrase:?} {:?}", KdfParams::default());
    for s in spellings(&package.signing_share().serialize()) {
        assert!(!shown.contains(&s), "{shown}");
    }
    assert!(!shown.contains("horse"), "{shown}");
}
