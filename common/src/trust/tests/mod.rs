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
