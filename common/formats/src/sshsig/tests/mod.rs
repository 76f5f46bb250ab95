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
    assert_eq!(armor(&public, &ns, &sig).unwrap(), KAT_ARMOR);
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
    let file = parse_armor(&armor(&[3; 32], &ns, &[9; 64]).unwrap()).unwrap();
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

/// Today's exact output for a fixed key (seed `[7; 32]`), artifact and three
/// namespaces: a short one, one whose armor fills exactly four 70-column
/// lines, and the longest accepted. Whatever encodes these must keep every
/// byte; `tests/sshsig.rs` shows `ssh-keygen` accepts this key's files.
const FIXED_MESSAGE: &[u8] = b"quorate fixed output\n";
const FIXED_PUBLIC: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs";
const FIXED_DIGEST: &str = "407964cb3eedaa24a4266c2e2628299dd97025768ebeb6bafad5ac2b4d51078a5b1daafb9d367f67dfce6d56bcc0ace9df6b94a70ae248a99cfa11dea66ec746";
const FIXED: &[(&str, &str, &str)] = &[
    (
        "release@example.com",
        "5353485349470000001372656c65617365406578616d706c652e636f6d0000000000000006736861353132",
        "-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAg6kpsY+KcUgq+9VB7Ey7F+ZVHdq
6+vnuSQh7qaRRG0iwAAAATcmVsZWFzZUBleGFtcGxlLmNvbQAAAAAAAAAGc2hhNTEyAAAA
UwAAAAtzc2gtZWQyNTUxOQAAAEDrjF8qPJFKvnWiNx6w/El9Xtb4JpTBBTjhCWzmij/wWc
ud88W31V+g25WZyE88rI588JGJv1BrCJh/UODGVmoI
-----END SSH SIGNATURE-----
",
    ),
    (
        "namespace-of-thirty-nine-bytes-01234567",
        "535348534947000000276e616d6573706163652d6f662d7468697274792d6e696e652d62797465732d30313233343536370000000000000006736861353132",
        "-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAg6kpsY+KcUgq+9VB7Ey7F+ZVHdq
6+vnuSQh7qaRRG0iwAAAAnbmFtZXNwYWNlLW9mLXRoaXJ0eS1uaW5lLWJ5dGVzLTAxMjM0
NTY3AAAAAAAAAAZzaGE1MTIAAABTAAAAC3NzaC1lZDI1NTE5AAAAQJUab5S3WjrkkhVREv
AC+tbhPE0eVGPKMR+cjpWGjWo/NIZem0b2UvyStAZLkf3fTj2ZNSROk03QEm02TmHXjwU=
-----END SSH SIGNATURE-----
",
    ),
    (
        "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
        "535348534947000000806e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e0000000000000006736861353132",
        "-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAg6kpsY+KcUgq+9VB7Ey7F+ZVHdq
6+vnuSQh7qaRRG0iwAAACAbm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5u
bm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm
5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm4AAAAAAAAABnNoYTUx
MgAAAFMAAAALc3NoLWVkMjU1MTkAAABAh6Wx+BdHTNrosZWkMi3a8johaRjRnoXHYfN2n1
TxyOtjshwcvrk3XrkXAffSz5AxAZeX94ABE+VtFN8y/ccuCg==
-----END SSH SIGNATURE-----
",
    ),
];

#[test]
fn output_is_fixed_byte_for_byte() {
    use ed25519_dalek::Signer;
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let public = key.verifying_key().to_bytes();
    let digest = sha512(FIXED_MESSAGE);
    assert_eq!(hex::encode(digest), FIXED_DIGEST);
    for (ns, data_head, want_armor) in FIXED {
        let ns = Namespace::new(*ns).unwrap();
        // The signed data is the head (magic, namespace, reserved, "sha512",
        // the digest's length) then the digest.
        let data = signed_data(&ns, &digest);
        assert_eq!(
            hex::encode(&data),
            format!("{data_head}00000040{FIXED_DIGEST}")
        );
        assert_eq!(parse_signed_data(&data), Some((ns.clone(), digest)));
        let signature = key.sign(&data).to_bytes();
        let armored = armor(&public, &ns, &signature).unwrap();
        assert_eq!(armored, *want_armor, "namespace {ns}");
        assert_eq!(
            parse_armor(want_armor),
            Ok(SignatureFile {
                public_key: public,
                namespace: ns.clone(),
                signature
            })
        );
        assert_eq!(
            allowed_signers_line("releases@example.com", &ns, &public).unwrap(),
            format!("releases@example.com namespaces=\"{ns}\" {FIXED_PUBLIC}\n")
        );
    }
    assert_eq!(public_key_line(&public, "").unwrap(), FIXED_PUBLIC);
    assert_eq!(
        public_key_line(&public, "quorate release").unwrap(),
        format!("{FIXED_PUBLIC} quorate release")
    );
    assert_eq!(
        public_key_line(&public, " two  spaces\tand a tab ").unwrap(),
        format!("{FIXED_PUBLIC}  two  spaces\tand a tab ")
    );
}

/// What the readers accept today, so a new decoder neither narrows nor
/// widens it.
#[test]
fn readers_accept_what_they_accepted() {
    let public = parse_public_key_line(FIXED_PUBLIC).unwrap();
    for line in [
        format!("{FIXED_PUBLIC}\n"),
        format!("{FIXED_PUBLIC} a comment\n"),
        format!("  {FIXED_PUBLIC}\t\tcomment  with   spaces \r\n"),
        FIXED_PUBLIC.replacen(' ', "\t", 1),
    ] {
        assert_eq!(parse_public_key_line(&line), Some(public), "{line:?}");
    }
    let blob = FIXED_PUBLIC.trim_start_matches("ssh-ed25519 ");
    for line in [
        String::new(),
        blob.to_string(),
        format!("ssh-rsa {blob}"),
        format!("ssh-ed25519 {}", &blob[..blob.len() - 4]),
        format!("ssh-ed25519 {blob}AAAA"),
        format!("ssh-ed25519 {}", blob.replace('C', "!")),
        format!("# ssh-ed25519 {blob}"),
        format!("releases@example.com {FIXED_PUBLIC}"),
        "ssh-ed25519".to_string(),
    ] {
        assert_eq!(parse_public_key_line(&line), None, "{line:?}");
    }

    let (_, _, armored) = FIXED[0];
    let want = parse_armor(armored).unwrap();
    let body: String = armored
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    for text in [
        armored.to_string(),
        armored.trim_end().to_string(),
        format!("\n\n  {armored}\n\n"),
        armored.replace('\n', "\r\n"),
        // Any wrapping, as OpenSSH reads it.
        format!("-----BEGIN SSH SIGNATURE-----\n{body}\n-----END SSH SIGNATURE-----\n"),
        format!(
            "-----BEGIN SSH SIGNATURE-----\n{}\n{}\n-----END SSH SIGNATURE-----\n",
            &body[..64],
            &body[64..]
        ),
    ] {
        assert_eq!(parse_armor(&text).as_ref(), Ok(&want), "{text:?}");
    }
    let bad = |text: &str| parse_armor(text).map(|_| ()).unwrap_err().to_string();
    for text in [
        String::new(),
        armored.replace("-----BEGIN SSH SIGNATURE-----\n", ""),
        armored.replace("SSH SIGNATURE", "PGP SIGNATURE"),
        "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n".into(),
        "-----BEGIN SSH SIGNATURE-----\n!!!!\n-----END SSH SIGNATURE-----\n".into(),
        armored.replace("U1NIU0lH", "U1NIU0lI"),
        // Truncated by one base64 quantum.
        armored.replace("GVmoI\n", "G\n"),
    ] {
        assert!(
            bad(&text)
                .starts_with("not an Ed25519 SSH signature file (-----BEGIN SSH SIGNATURE-----): "),
            "{text:?}"
        );
    }
}

/// A `string` (RFC 4251) of `bytes`.
fn string(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_string(&mut out, bytes);
    out
}

/// An armored file around `blob`, on one base64 line.
fn armored(blob: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(blob);
    format!("{BEGIN}\n{b64}\n{END}\n")
}

/// A signature blob: magic, `version`, then `fields` as strings.
fn sig_blob(version: u32, fields: &[&[u8]]) -> Vec<u8> {
    let mut out = [&MAGIC[..], &version.to_be_bytes()].concat();
    for field in fields {
        put_string(&mut out, field);
    }
    out
}

#[test]
fn parse_armor_refuses_what_ssh_keygen_refuses() {
    let key = [string(b"ssh-ed25519"), string(&[3; 32])].concat();
    let sig = [string(b"ssh-ed25519"), string(&[9; 64])].concat();
    let file = |version, key: &[u8], ns: &[u8], reserved: &[u8], hash: &[u8], sig: &[u8]| {
        parse_armor(&armored(&sig_blob(
            version,
            &[key, ns, reserved, hash, sig],
        )))
    };
    let reason = |r: Result<SignatureFile, SshsigError>| match r {
        Err(SshsigError::BadSignatureFile(why)) => why,
        other => panic!("{other:?}"),
    };
    let want = SignatureFile {
        public_key: [3; 32],
        namespace: Namespace::default(),
        signature: [9; 64],
    };
    assert_eq!(
        file(1, &key, b"file", b"", b"sha512", &sig),
        Ok(want.clone())
    );
    // The reserved field is for future use; readers ignore it (and the
    // signed data has it empty, so such a file does not verify).
    assert_eq!(file(1, &key, b"file", b"tag", b"sha512", &sig), Ok(want));

    assert_eq!(
        reason(file(0, &key, b"file", b"", b"sha512", &sig)),
        "unknown version"
    );
    assert_eq!(
        reason(file(2, &key, b"file", b"", b"sha512", &sig)),
        "unknown version"
    );
    assert_eq!(
        reason(file(1, &key, b"file", b"", b"sha256", &sig)),
        "hash algorithm is not sha512"
    );
    assert_eq!(
        reason(file(1, &key, b"", b"", b"sha512", &sig)),
        "bad namespace"
    );
    assert_eq!(
        reason(file(1, &key, b"my file", b"", b"sha512", &sig)),
        "bad namespace"
    );
    let sk_key = [
        string(b"sk-ssh-ed25519@openssh.com"),
        string(&[3; 32]),
        string(b"ssh:"),
    ]
    .concat();
    assert_eq!(
        reason(file(1, &sk_key, b"file", b"", b"sha512", &sig)),
        "not an ssh-ed25519 key"
    );
    let sk_sig = [
        string(b"sk-ssh-ed25519@openssh.com"),
        string(&[9; 64]),
        vec![1, 0, 0, 0, 7],
    ]
    .concat();
    assert_eq!(
        reason(file(1, &key, b"file", b"", b"sha512", &sk_sig)),
        "not an ssh-ed25519 signature"
    );
    let short_sig = [string(b"ssh-ed25519"), string(&[9; 63])].concat();
    assert!(file(1, &key, b"file", b"", b"sha512", &short_sig).is_err());
    let long_key = [string(b"ssh-ed25519"), string(&[3; 33])].concat();
    assert!(file(1, &long_key, b"file", b"", b"sha512", &sig).is_err());
    let mut trailing = sig_blob(1, &[&key, b"file", b"", b"sha512", &sig]);
    trailing.push(0);
    assert!(parse_armor(&armored(&trailing)).is_err());

    // A key field holding the key then the rest of the file: ssh-key 0.6
    // reads the key, then the rest from inside the key field, and takes it;
    // ssh-keygen reads the key field to its end and refuses it.
    let rest = [
        string(b"file"),
        string(b""),
        string(b"sha512"),
        string(&sig),
    ]
    .concat();
    let smuggled = [
        &MAGIC[..],
        &SIG_VERSION.to_be_bytes(),
        &string(&[key.clone(), rest].concat()),
    ]
    .concat();
    let refused = parse_armor(&armored(&smuggled)).unwrap_err();
    assert_eq!(
        refused,
        SshsigError::BadSignatureFile("not the canonical encoding of its fields")
    );

    // Non-zero bits in the last base64 digit before the padding: `k` and
    // `l` differ only in the bit the padding leaves over.
    let text = armor(&[3; 32], &Namespace::new("git").unwrap(), &[9; 64]).unwrap();
    let (head, tail) = text.split_once("=\n").unwrap();
    assert!(head.ends_with('k'), "{head}");
    let loose = format!("{}l=\n{tail}", &head[..head.len() - 1]);
    assert!(parse_armor(&text).is_ok());
    assert!(parse_armor(&loose).is_err(), "{loose}");
}
