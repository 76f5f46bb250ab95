//! `quorate verify`, the consumer's gate, on signatures made with fixed keys:
//! every branch (missing, invalid, untrusted key, key not trusted for this,
//! digest mismatch, good) for raw, sshsig, dsse and minisign, and
//! `--manifest` with a mix of good and bad entries. (Real ceremonies' git
//! tags, DSSE envelopes and minisign files go through the gate in
//! `git_tag.rs`, `dsse.rs` and `minisign.rs`.)
//!
//! Over 500 lines: one table of branches per format, kept side by side so
//! that a branch missing from one format shows.

mod support;

use std::path::Path;

use ed25519_dalek::{Signer, SigningKey};
use quorate_formats::dsse::{self, Envelope, InTotoStatement, PAYLOAD_TYPE, Subject};
use quorate_formats::minisign::{self, SignatureFile};
use quorate_formats::pem::ed25519_public_key_pem;
use quorate_formats::sshsig::{self, Namespace};
use support::{quorate_offline, said, text};

const TRUSTED: [u8; 32] = [1; 32];
const STRANGER: [u8; 32] = [2; 32];

fn sha512(bytes: &[u8]) -> [u8; 64] {
    use sha2::Digest;
    sha2::Sha512::digest(bytes).into()
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

fn sshsig_file(seed: [u8; 32], ns: &str, artifact: &[u8]) -> String {
    let key = SigningKey::from_bytes(&seed);
    let ns = Namespace::new(ns).unwrap();
    let sig = key
        .sign(&sshsig::signed_data(&ns, &sha512(artifact)))
        .to_bytes();
    sshsig::armor(&key.verifying_key().to_bytes(), &ns, &sig).unwrap()
}

/// A minisign signature file by `seed`'s key over `artifact`, as a
/// ceremony's batch makes it: the BLAKE2b-512, then the global signature.
fn minisign_file(seed: [u8; 32], artifact: &[u8], comment: &str) -> String {
    let key = SigningKey::from_bytes(&seed);
    let (message, follow_ups) = minisign::batch(&minisign::blake2b512(artifact), comment).unwrap();
    let signature = key.sign(&message).to_bytes();
    let global_signature = key.sign(&follow_ups[0].message(&signature)).to_bytes();
    SignatureFile {
        untrusted_comment: "signature from a test key".into(),
        key_id: minisign::key_id(&key.verifying_key().to_bytes()),
        signature,
        trusted_comment: comment.into(),
        global_signature,
    }
    .write()
}

fn envelope(seed: [u8; 32], subjects: &[(&str, &[u8])]) -> String {
    let key = SigningKey::from_bytes(&seed);
    let subjects = subjects
        .iter()
        .map(|(name, bytes)| Subject {
            name: name.to_string(),
            sha256: sha256(bytes),
        })
        .collect();
    let statement = InTotoStatement::new(subjects, None, None).unwrap();
    let pae = dsse::pae(PAYLOAD_TYPE, &statement.to_json());
    let sig = key.sign(&pae).to_bytes();
    Envelope::from_pae(&pae, &key.verifying_key().to_bytes(), &sig)
        .unwrap()
        .to_json()
}

/// A trust policy: the TRUSTED key as `release` for app-* in sshsig, dsse
/// and minisign, and as PEM for raw SHA256SUMS.
fn policy(dir: &Path) -> String {
    let public = SigningKey::from_bytes(&TRUSTED).verifying_key().to_bytes();
    let line = sshsig::public_key_line(&public, "release").unwrap();
    let pem = ed25519_public_key_pem(&public);
    let text = format!(
        "[[key_group]]\nname = \"release\"\npublic_key = \"{line}\"\nformats = [\"sshsig\", \"dsse\", \"minisign\"]\nartifacts = [\"app-*\"]\n\n\
         [[key_group]]\nname = \"manifests\"\npublic_key = \"\"\"\n{pem}\"\"\"\nformats = [\"raw\"]\nartifacts = [\"SHA256SUMS\"]\n"
    );
    let path = dir.join("trust.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// What `quorate verify` said: its exit code and stdout.
type Said = (Option<i32>, String);

/// `quorate verify --policy P --format F --signature S --artifact A`.
fn verify(policy: &str, format: &str, sig: &Path, artifact: &Path) -> Said {
    let out = quorate_offline(&[
        "verify",
        "--policy",
        policy,
        "--format",
        format,
        "--signature",
        &sig.display().to_string(),
        "--artifact",
        &artifact.display().to_string(),
    ]);
    (out.status.code(), text(&out.stdout))
}

fn failed(check: &str, reason: &str) -> Said {
    (
        Some(1),
        format!("NOT verified: check \"{check}\" failed: {reason}"),
    )
}

#[test]
fn every_branch_of_the_gate_for_each_format() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let policy = policy(dir.path());
    let artifact = b"the release\n".repeat(100);
    std::fs::write(p("app-1.0.tar.gz"), &artifact).unwrap();
    std::fs::create_dir(p("evil")).unwrap();
    std::fs::write(p("evil/app-1.0.tar.gz"), b"the backdoor\n").unwrap();
    std::fs::write(p("other.tar.gz"), &artifact).unwrap();
    let starts = |(code, out): Said, (want_code, want): Said| {
        assert_eq!(code, want_code, "{out}");
        assert!(out.starts_with(&want), "{out}\nwanted: {want}");
    };
    let good = (
        Some(0),
        "verified: signed by key group release\n".to_string(),
    );
    // Each case: the signature file, the artifact, and what verify says.
    let branches = |format: &str, cases: Vec<(&str, &str, Said)>| {
        for (sig, artifact, want) in cases {
            starts(verify(&policy, format, &p(sig), &p(artifact)), want);
        }
    };

    // sshsig
    std::fs::write(p("good.sig"), sshsig_file(TRUSTED, "file", &artifact)).unwrap();
    std::fs::write(p("stranger.sig"), sshsig_file(STRANGER, "file", &artifact)).unwrap();
    std::fs::write(p("git-ns.sig"), sshsig_file(TRUSTED, "git", &artifact)).unwrap();
    std::fs::write(
        p("garbled.sig"),
        "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n",
    )
    .unwrap();
    branches(
        "sshsig",
        vec![
            ("good.sig", "app-1.0.tar.gz", good.clone()),
            (
                "missing.sig",
                "app-1.0.tar.gz",
                failed("signature present", "cannot read"),
            ),
            (
                "garbled.sig",
                "app-1.0.tar.gz",
                failed("signature valid", "not an Ed25519 SSH signature file"),
            ),
            (
                "stranger.sig",
                "app-1.0.tar.gz",
                failed(
                    "signed by a trusted key group",
                    "signed by ssh-ed25519 AAAA",
                ),
            ),
            (
                "git-ns.sig",
                "app-1.0.tar.gz",
                failed(
                    "signed by a trusted key group",
                    "signed in namespace git; key group release is trusted in file",
                ),
            ),
            (
                "good.sig",
                "other.tar.gz",
                failed(
                    "signed by a trusted key group",
                    "key group release may not sign \"other.tar.gz\"",
                ),
            ),
            (
                "good.sig",
                "evil/app-1.0.tar.gz",
                failed(
                    "artifact matches what was signed",
                    "the signature is not over app-1.0.tar.gz as it is now",
                ),
            ),
            (
                "good.sig",
                "app-2.0.tar.gz",
                failed("artifact matches what was signed", "the artifact"),
            ),
        ],
    );

    // dsse
    std::fs::write(
        p("good.json"),
        envelope(TRUSTED, &[("app-1.0.tar.gz", &artifact)]),
    )
    .unwrap();
    std::fs::write(
        p("stranger.json"),
        envelope(STRANGER, &[("app-1.0.tar.gz", &artifact)]),
    )
    .unwrap();
    std::fs::write(
        p("other.json"),
        envelope(TRUSTED, &[("other.tar.gz", &artifact)]),
    )
    .unwrap();
    std::fs::write(p("garbled.json"), "{\"payload\": 1}").unwrap();
    let mut altered: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("good.json")).unwrap()).unwrap();
    let other = envelope(TRUSTED, &[("app-1.0.tar.gz", b"x")]);
    altered["payload"] =
        serde_json::from_str::<serde_json::Value>(&other).unwrap()["payload"].clone();
    std::fs::write(p("altered.json"), altered.to_string()).unwrap();
    branches(
        "dsse",
        vec![
            ("good.json", "app-1.0.tar.gz", good.clone()),
            (
                "missing.json",
                "app-1.0.tar.gz",
                failed("signature present", "cannot read"),
            ),
            (
                "garbled.json",
                "app-1.0.tar.gz",
                failed("signature valid", "not a DSSE envelope"),
            ),
            (
                "altered.json",
                "app-1.0.tar.gz",
                failed(
                    "signature valid",
                    "the signature by key group release does not verify",
                ),
            ),
            (
                "stranger.json",
                "app-1.0.tar.gz",
                failed(
                    "signed by a trusted key group",
                    "no signature of the envelope verifies",
                ),
            ),
            (
                "other.json",
                "other.tar.gz",
                failed(
                    "signed by a trusted key group",
                    "key group release may not sign \"other.tar.gz\"",
                ),
            ),
            (
                "good.json",
                "evil/app-1.0.tar.gz",
                failed(
                    "artifact matches what was signed",
                    "app-1.0.tar.gz has SHA-256",
                ),
            ),
        ],
    );
    std::fs::write(p("app-2.0.tar.gz"), b"2").unwrap();
    branches(
        "dsse",
        vec![(
            "good.json",
            "app-2.0.tar.gz",
            failed(
                "artifact matches what was signed",
                "app-2.0.tar.gz is not a subject",
            ),
        )],
    );

    // minisign
    std::fs::write(
        p("good.minisig"),
        minisign_file(TRUSTED, &artifact, "app 1.0"),
    )
    .unwrap();
    std::fs::write(
        p("stranger.minisig"),
        minisign_file(STRANGER, &artifact, "app 1.0"),
    )
    .unwrap();
    std::fs::write(p("other.minisig"), minisign_file(TRUSTED, &artifact, "x")).unwrap();
    std::fs::write(
        p("comment.minisig"),
        std::fs::read_to_string(p("good.minisig"))
            .unwrap()
            .replace("trusted comment: app 1.0", "trusted comment: app 6.6"),
    )
    .unwrap();
    // The same signature line with the legacy algorithm "Ed".
    let signed = std::fs::read_to_string(p("good.minisig")).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let line = signed.lines().nth(1).unwrap();
    let mut blob = base64::Engine::decode(&b64, line).unwrap();
    blob[1] = b'd';
    let legacy = signed.replace(line, &base64::Engine::encode(&b64, &blob));
    std::fs::write(p("legacy.minisig"), legacy).unwrap();
    std::fs::write(p("truncated.minisig"), "untrusted comment: x\n").unwrap();
    branches(
        "minisign",
        vec![
            ("good.minisig", "app-1.0.tar.gz", good.clone()),
            (
                "missing.minisig",
                "app-1.0.tar.gz",
                failed("signature present", "cannot read"),
            ),
            (
                "truncated.minisig",
                "app-1.0.tar.gz",
                failed(
                    "signature valid",
                    "not a minisign signature file: it ends before the signature",
                ),
            ),
            (
                "legacy.minisig",
                "app-1.0.tar.gz",
                failed("signature valid", "a legacy minisign signature"),
            ),
            (
                "comment.minisig",
                "app-1.0.tar.gz",
                failed(
                    "signature valid",
                    "the global signature (over the signature and the trusted comment) does not verify",
                ),
            ),
            (
                "stranger.minisig",
                "app-1.0.tar.gz",
                failed("signed by a trusted key group", "signed by minisign key id"),
            ),
            (
                "other.minisig",
                "other.tar.gz",
                failed(
                    "signed by a trusted key group",
                    "key group release may not sign \"other.tar.gz\"",
                ),
            ),
            (
                "good.minisig",
                "evil/app-1.0.tar.gz",
                failed(
                    "artifact matches what was signed",
                    "the signature is not over app-1.0.tar.gz as it is now",
                ),
            ),
            (
                "good.minisig",
                "app-9.0.tar.gz",
                failed("artifact matches what was signed", "the artifact"),
            ),
        ],
    );

    // raw: a manifest signed as is
    let manifest = quorate_formats::manifest::sha256sums_line("app-1.0.tar.gz", &artifact);
    std::fs::write(p("SHA256SUMS"), &manifest).unwrap();
    std::fs::write(
        p("SHA256SUMS.sig"),
        SigningKey::from_bytes(&TRUSTED)
            .sign(manifest.as_bytes())
            .to_bytes(),
    )
    .unwrap();
    std::fs::write(
        p("stranger.raw"),
        SigningKey::from_bytes(&STRANGER)
            .sign(manifest.as_bytes())
            .to_bytes(),
    )
    .unwrap();
    std::fs::write(p("short.raw"), [0u8; 10]).unwrap();
    std::fs::create_dir(p("m")).unwrap();
    std::fs::write(p("m/SHA256SUMS"), format!("{manifest}extra\n")).unwrap();
    branches(
        "raw",
        vec![
            (
                "SHA256SUMS.sig",
                "SHA256SUMS",
                (Some(0), "verified: signed by key group manifests\n".into()),
            ),
            (
                "missing.raw",
                "SHA256SUMS",
                failed("signature present", "cannot read"),
            ),
            (
                "short.raw",
                "SHA256SUMS",
                failed(
                    "signature valid",
                    "a raw Ed25519 signature is 64 bytes, this is 10",
                ),
            ),
            (
                "stranger.raw",
                "SHA256SUMS",
                failed(
                    "signed by a trusted key group",
                    "no key group of the trust policy",
                ),
            ),
            (
                "SHA256SUMS.sig",
                "m/SHA256SUMS",
                failed(
                    "signed by a trusted key group",
                    "no key group of the trust policy",
                ),
            ),
        ],
    );

    // Usage errors say what to give.
    let out = quorate_offline(&[
        "verify",
        "--policy",
        &policy,
        "--format",
        "sshsig",
        "--artifact",
        "x",
    ]);
    assert!(
        said(&out).contains("give --signature FILE"),
        "{}",
        said(&out)
    );
    let out = quorate_offline(&[
        "verify",
        "--policy",
        &p("nope.toml").display().to_string(),
        "--format",
        "raw",
    ]);
    assert!(
        said(&out).contains("cannot read the trust policy"),
        "{}",
        said(&out)
    );
    let out = quorate_offline(&[
        "verify",
        "--policy",
        &policy,
        "--format",
        "git-tag",
        "--artifact",
        "x",
    ]);
    assert!(
        said(&out).contains("give --repo PATH --tag NAME"),
        "{}",
        said(&out)
    );
}

#[test]
fn manifest_checks_many_entries_and_fails_if_any_fails() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let policy = policy(dir.path());
    let mut entries = Vec::new();
    for i in 0..12 {
        let name = format!("app-{i}.tar.gz");
        let bytes = format!("artifact {i}\n").repeat(50);
        std::fs::write(p(&name), &bytes).unwrap();
        std::fs::write(
            p(&format!("{name}.sig")),
            sshsig_file(TRUSTED, "file", bytes.as_bytes()),
        )
        .unwrap();
        std::fs::write(
            p(&format!("{name}.intoto.json")),
            envelope(TRUSTED, &[(&name, bytes.as_bytes())]),
        )
        .unwrap();
        entries.push(serde_json::json!({"artifact": name, "signature": format!("{name}.sig"), "format": "sshsig"}));
        entries.push(serde_json::json!({"artifact": name, "signature": format!("{name}.intoto.json"), "format": "dsse"}));
        if i < 2 {
            std::fs::write(
                p(&format!("{name}.minisig")),
                minisign_file(TRUSTED, bytes.as_bytes(), &name),
            )
            .unwrap();
            entries.push(serde_json::json!({"artifact": name, "signature": format!("{name}.minisig"), "format": "minisign"}));
        }
    }
    std::fs::write(p("manifest.json"), serde_json::to_string(&entries).unwrap()).unwrap();
    let run = || {
        quorate_offline(&[
            "verify",
            "--policy",
            &policy,
            "--manifest",
            &p("manifest.json").display().to_string(),
        ])
    };
    let out = run();
    assert!(out.status.success(), "{}", said(&out));
    assert!(
        text(&out.stdout).ends_with("26 verified, 0 failed\n"),
        "{}",
        said(&out)
    );

    // Break a few: a tampered artifact (both its entries fail), a missing
    // signature, a stranger's signature, an unknown format, a minisign file
    // whose trusted comment was changed.
    std::fs::write(p("app-3.tar.gz"), b"tampered").unwrap();
    let minisig = std::fs::read_to_string(p("app-1.tar.gz.minisig")).unwrap();
    std::fs::write(
        p("app-1.tar.gz.minisig"),
        minisig.replace("trusted comment: app-1", "trusted comment: app-2"),
    )
    .unwrap();
    std::fs::remove_file(p("app-5.tar.gz.sig")).unwrap();
    std::fs::write(p("app-7.tar.gz.sig"), sshsig_file(STRANGER, "file", b"x")).unwrap();
    entries.push(serde_json::json!({"artifact": "app-1.tar.gz", "signature": "app-1.tar.gz.sig", "format": "pgp"}));
    std::fs::write(p("manifest.json"), serde_json::to_string(&entries).unwrap()).unwrap();
    let out = run();
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    let stdout = text(&out.stdout);
    assert!(stdout.ends_with("21 verified, 6 failed\n"), "{stdout}");
    for line in [
        "FAILED  app-3.tar.gz: check \"artifact matches what was signed\" failed: the signature is not over app-3.tar.gz",
        "FAILED  app-3.tar.gz: check \"artifact matches what was signed\" failed: app-3.tar.gz has SHA-256",
        "FAILED  app-5.tar.gz: check \"signature present\" failed: cannot read",
        "FAILED  app-7.tar.gz: check \"signed by a trusted key group\" failed: signed by ssh-ed25519",
        "FAILED  app-1.tar.gz: check \"signature valid\" failed: unknown format \"pgp\"",
        "FAILED  app-1.tar.gz: check \"signature valid\" failed: the global signature",
        "ok      app-0.tar.gz: signed by key group release",
        "ok      app-0.tar.gz: signed by key group release",
    ] {
        assert!(stdout.contains(line), "{line}\n{stdout}");
    }
    // In entry order.
    assert!(stdout.find("app-3.tar.gz").unwrap() < stdout.find("app-5.tar.gz").unwrap());

    std::fs::write(p("manifest.json"), "{\"not\": \"a list\"}").unwrap();
    let out = run();
    assert!(
        !out.status.success() && said(&out).contains("not a JSON list"),
        "{}",
        said(&out)
    );
}
