//! Unit tests of the parent module; `cli/tests/verify.rs` runs every branch
//! of the gate through `quorate verify`.

use super::*;

#[test]
fn glob_matches_stars_and_question_marks() {
    for (p, n) in [
        ("*", "x"),
        ("app-*.tar.gz", "app-1.0.tar.gz"),
        ("v?.*", "v1.2"),
        ("*", ""),
    ] {
        assert!(glob(p, n), "{p} {n}");
    }
    for (p, n) in [("app-*.tar.gz", "app-1.0.zip"), ("v?", "v10"), ("a", "")] {
        assert!(!glob(p, n), "{p} {n}");
    }
}

#[test]
fn policy_errors_name_the_group_and_field() {
    let key = sshsig::public_key_line(&[1; 32], "").unwrap();
    let ok = format!(
        "[[key_group]]\nname = \"release\"\npublic_key = \"{key}\"\nformats = [\"sshsig\", \"git-tag\"]\n"
    );
    let p = TrustPolicy::from_toml(&ok).unwrap();
    assert_eq!(p.groups[0].key, [1; 32]);
    assert_eq!(p.groups[0].namespaces, ["file"]);
    assert_eq!(p.groups[0].artifacts, ["*"]);
    let pem = crate::pem::ed25519_public_key_pem(&[1; 32]);
    let p = TrustPolicy::from_toml(&format!(
        "[[key_group]]\nname = \"r\"\npublic_key = \"\"\"\n{pem}\"\"\"\nformats = [\"raw\"]\n"
    ))
    .unwrap();
    assert_eq!(p.groups[0].key, [1; 32]);
    let err = |text: &str| TrustPolicy::from_toml(text).unwrap_err();
    assert!(err("").contains("no [[key_group]]"));
    assert!(err(&ok.replace(&key, "ssh-rsa AAAA")).contains("public_key must be"));
    assert!(err(&ok.replace("git-tag", "pgp")).contains("unknown format \"pgp\""));
    assert!(
        err(&ok.replace("formats = [\"sshsig\", \"git-tag\"]", "formats = []"))
            .contains("formats is empty")
    );
    assert!(err(&format!("{ok}colour = 1\n")).contains("colour"));
}

#[test]
fn a_minisign_key_is_trusted_only_with_quorate_s_key_id() {
    let group_key = ed25519_dalek::SigningKey::from_bytes(&[4; 32])
        .verifying_key()
        .to_bytes();
    let file = minisign::public_key_file(&group_key);
    let policy = |key: &str| {
        TrustPolicy::from_toml(&format!(
            "[[key_group]]\nname = \"release\"\npublic_key = \"\"\"\n{key}\"\"\"\nformats = [\"minisign\"]\n"
        ))
    };
    assert_eq!(policy(&file).unwrap().groups[0].key, group_key);
    // The base64 line alone is a key too.
    let line = file.lines().nth(1).unwrap();
    assert_eq!(policy(line).unwrap().groups[0].key, group_key);
    // A minisign key whose key id quorate would not write (one made by
    // `minisign -G`) names both ids.
    let mut blob =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, line).unwrap();
    blob[2] ^= 0xff;
    let other = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &blob);
    let err = policy(&other).unwrap_err();
    assert!(
        err.contains("key group \"release\": public_key: a minisign key with key id")
            && err.contains(&minisign::key_id_hex(&minisign::key_id(&group_key))),
        "{err}"
    );
}
