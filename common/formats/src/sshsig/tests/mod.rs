//! Unit tests of the parent module.

use super::*;

/// A key and signature made by OpenSSH 9.2 (`ssh-keygen -t ed25519`, then
/// `ssh-keygen -Y sign -n file` over [`KAT_MESSAGE`]); Ed25519 is
/// deterministic, so the same seed must give the same file here.
pub const KAT_SEED: &str = "22f16a60301c1ecff578976edb92889c786049c506ec5bb225ea884f64c094d4";
pub const KAT_MESSAGE: &[u8] = b"quorate known answer\n";
pub const KAT_ARMOR: &str = "-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgYtRDzAOkroJ5Hsd1e+eMRFPuhH
rHwlRJPk6tGLUkbNIAAAAEZmlsZQAAAAAAAAAGc2hhNTEyAAAAUwAAAAtzc2gtZWQyNTUx
OQAAAED27sv8qu2NsEWOHhR5oXAoXPc/GZNvf16pVKTWU1wW9lU4UzCWTPLmYop4JjVOaE
6KJG/kBnGlxnMx29L5Ua0G
-----END SSH SIGNATURE-----
";
pub const KAT_PUBLIC: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGLUQ8wDpK6CeR7HdXvnjERT7oR6x8JUST5OrRi1JGzS kat";

fn sha512(bytes: &[u8]) -> [u8; 64] {
    use sha2::Digest;
    sha2::Sha512::digest(bytes).into()
}

#[test]
fn matches_ssh_keygen_byte_for_byte() {
    use ed25519_dalek::Signer;
    let seed: [u8; 32] = hex::decode(KAT_SEED).unwrap().try_into().unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let public = key.verifying_key().to_bytes();
    let ns = Namespace::default();
    let data = signed_data(&ns, &sha512(KAT_MESSAGE));
    let sig = key.sign(&data).to_bytes();
    assert_eq!(armor(&public, &ns, &sig), KAT_ARMOR);
    assert_eq!(public_key_line(&public, "kat").unwrap(), KAT_PUBLIC);
    assert_eq!(
        allowed_signers_line("release@example.com", &ns, &public).unwrap(),
        format!(
            "release@example.com namespaces=\"file\" {}\n",
            KAT_PUBLIC.trim_end_matches(" kat")
        )
    );
}

#[test]
fn signed_data_round_trips() {
    let ns = Namespace::new("git").unwrap();
    let digest = sha512(b"artifact");
    let data = signed_data(&ns, &digest);
    assert!(data.starts_with(b"SSHSIG\0\0\0\x03git\0\0\0\0\0\0\0\x06sha512\0\0\0\x40"));
    assert_eq!(data.len(), 6 + 7 + 4 + 10 + 68);
    assert_eq!(parse_signed_data(&data), Some((ns.clone(), digest)));
    assert_eq!(
        describe_signed_data(&data).unwrap(),
        format!(
            "SSH signature (namespace git) over an artifact with SHA-512 {}",
            hex::encode(digest)
        )
    );
    assert_eq!(describe_signed_data(b"hello"), None);

    // Anything else is not SSHSIG signed data.
    assert_eq!(parse_signed_data(b""), None);
    assert_eq!(parse_signed_data(b"hello world"), None);
    assert_eq!(parse_signed_data(&data[..data.len() - 1]), None);
    let mut longer = data.clone();
    longer.push(0);
    assert_eq!(parse_signed_data(&longer), None);
    let mut huge = data.clone();
    huge[6..10].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(parse_signed_data(&huge), None);
    let mut sha256 = b"SSHSIG\0\0\0\x03git\0\0\0\0\0\0\0\x06sha256\0\0\0\x20".to_vec();
    sha256.extend_from_slice(&[0; 32]);
    assert_eq!(parse_signed_data(&sha256), None);
    let mut reserved = b"SSHSIG\0\0\0\x03git\0\0\0\x01x\0\0\0\x06sha512\0\0\0\x40".to_vec();
    reserved.extend_from_slice(&digest);
    assert_eq!(parse_signed_data(&reserved), None);
}

#[test]
fn refuses_bad_names() {
    assert_eq!(Namespace::new(""), Err(SshsigError::EmptyNamespace));
    assert!(matches!(
        Namespace::new("my file"),
        Err(SshsigError::BadNamespace(_))
    ));
    assert!(Namespace::new("a\"b").is_err());
    assert!(Namespace::new("a,b").is_err());
    assert!(Namespace::new("é").is_err());
    assert!(Namespace::new("x".repeat(129)).is_err());
    assert_eq!(
        Namespace::new("release@example.com").unwrap().as_str(),
        "release@example.com"
    );
    let key = [1u8; 32];
    let ns = Namespace::default();
    for bad in ["", "a b", "#x", "a,b", "a\"b", "a\nb"] {
        assert!(
            allowed_signers_line(bad, &ns, &key).is_err(),
            "{bad:?} accepted"
        );
    }
    assert!(public_key_line(&key, "a\nb").is_err());
    let err = Namespace::new("my file").unwrap_err().to_string();
    assert!(
        err.contains("\"my file\"") && err.contains("without spaces"),
        "{err}"
    );
}

#[test]
fn parse_armor_reads_back_what_armor_writes_and_the_openssh_file() {
    let ns = Namespace::new("file").unwrap();
    let file = parse_armor(&armor(&[3; 32], &ns, &[9; 64])).unwrap();
    assert_eq!(
        file,
        SignatureFile {
            public_key: [3; 32],
            namespace: ns.clone(),
            signature: [9; 64]
        }
    );
    let kat = parse_armor(KAT_ARMOR).unwrap();
    assert_eq!(Some(kat.public_key), parse_public_key_line(KAT_PUBLIC));
    assert_eq!(kat.namespace, ns);
    assert!(parse_armor("garbage").is_err());
    assert!(parse_armor(&KAT_ARMOR.replace("U1NIU0lH", "U1NIU0lI")).is_err());
    assert_eq!(parse_public_key_line("ssh-rsa AAAA"), None);
}
