//! Unit tests of the parent module.

use super::*;

fn pid(s: &str) -> ParticipantId {
    ParticipantId::new(s).unwrap()
}

fn pass(s: &str) -> Passphrase {
    Passphrase::new(Zeroizing::new(s.into()))
}

#[test]
fn seals_opens_and_binds_kind_and_participant() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.json");
    let cheap = KdfParams::for_random_passphrase();
    let secret = b"{\"format\":\"quorate-key-share/v1\",\"k\":\"s3cr3t\"}";
    save(
        &path,
        SecretKind::KeyShare,
        &pid("alice"),
        secret,
        &pass("pw"),
        &cheap,
    )
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("s3cr3t"), "{text}");
    assert!(text.contains("\"m_cost\": 1024"), "{text}");
    let opened = load(&path, SecretKind::KeyShare, &pass("pw")).unwrap();
    assert_eq!(&*opened.plaintext, secret);
    assert_eq!(opened.participant, pid("alice"));

    let err = load(&path, SecretKind::IdentityKey, &pass("pw")).unwrap_err();
    assert!(
        err.to_string().contains("is a sealed key-share file"),
        "{err}"
    );

    // Relabelled as bob's: the seal no longer opens.
    std::fs::write(&path, text.replace("\"alice\"", "\"bob\"")).unwrap();
    let err = load(&path, SecretKind::KeyShare, &pass("pw")).unwrap_err();
    assert!(matches!(err, KeyFileError::WrongPassphrase { .. }), "{err}");
}

#[test]
fn refuses_costs_no_quorate_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.json");
    save(
        &path,
        SecretKind::IdentityKey,
        &pid("alice"),
        b"{}",
        &pass("pw"),
        &KdfParams::for_random_passphrase(),
    )
    .unwrap();
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"m_cost\": 1024", "\"m_cost\": 4000000000");
    std::fs::write(&path, text).unwrap();
    let err = load(&path, SecretKind::IdentityKey, &pass("pw")).unwrap_err();
    assert!(
        err.to_string().contains("exceed what quorate writes"),
        "{err}"
    );
}
