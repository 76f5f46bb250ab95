//! minisign signatures end to end: the `quorate` binary asks a local
//! deployment for a minisign signature over a 1 MiB artifact (a batch of
//! two FROST signings under one approval: the file's BLAKE2b-512, then the
//! global signature over that signature and the trusted comment), and the
//! real `minisign -V` (Debian's minisign; `.ci/run` installs it) checks it
//! and rejects a tampered artifact or trusted comment.

use std::path::Path;
use std::process::{Command, Output};

mod support;

use quorate::local::{LocalDeployment, sample_roster};
use quorate_formats::minisign::{self, SignatureFile};
use support::{quorate, quorate_offline, quorate_ok, quorum_signs, said, text};

const COMMENT: &str = "app 1.0, approved by engineering, security and release";

/// `minisign -V` of `sig` over `artifact` with the key file `key`; fails,
/// never skips, when minisign is missing.
fn minisign_verify(key: &Path, sig: &Path, artifact: &Path) -> Output {
    Command::new("minisign")
        .arg("-V")
        .arg("-p")
        .arg(key)
        .arg("-x")
        .arg(sig)
        .arg("-m")
        .arg(artifact)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run minisign ({e}): install it (apt-get install minisign)")
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn minisign_over_a_large_artifact_verifies_with_minisign() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let s = |name: &str| dir.path().join(name).display().to_string();
    let mut d = LocalDeployment::start(dir.path(), "release", &sample_roster(None), 3)
        .await
        .unwrap();
    let artifact: Vec<u8> = (0..1u32 << 20).map(|i| (i % 253) as u8).collect();
    std::fs::write(p("app.tar.gz"), &artifact).unwrap();
    let digest = minisign::blake2b512(&artifact);

    // The consumer's key file.
    quorate_ok(
        &d,
        &[
            "pubkey",
            "--key-group",
            "release",
            "--format",
            "minisign",
            "-o",
            &s("release.pub"),
        ],
    )
    .await;
    let key =
        minisign::PublicKey::parse(&std::fs::read_to_string(p("release.pub")).unwrap()).unwrap();
    assert_eq!(key.key_id, minisign::key_id(&key.key));

    // A ceremony over the digest and the trusted comment.
    let out = quorate_ok(
        &d,
        &[
            "sign",
            "--key-group",
            "release",
            "--format",
            "minisign",
            "--artifact",
            &s("app.tar.gz"),
            "--trusted-comment",
            COMMENT,
        ],
    )
    .await;
    let id = text(&out.stdout).trim().to_string();

    // The approver sees both messages of the batch before approving.
    let review = support::review(&d, "alice", &id).await;
    assert_eq!(
        review.artifacts,
        [format!(
            "minisign:app.tar.gz (minisign): BLAKE2b-512 {}",
            hex::encode(digest)
        )]
    );
    assert_eq!(review.batch.len(), 2, "{:?}", review.batch);
    assert!(
        review.batch[0].contains(&hex::encode(digest)),
        "{:?}",
        review.batch
    );
    assert!(
        review.batch[1].contains("global signature"),
        "{:?}",
        review.batch
    );
    assert!(review.batch[1].contains(COMMENT), "{:?}", review.batch);
    let shown = quorate_participant::control::describe(&review);
    assert!(
        shown.contains("batch: 2 messages, each signed in turn under this one approval"),
        "{shown}"
    );

    // One approval each; two FROST signings.
    quorum_signs(&d, &id).await;
    quorate_ok(&d, &["status", &id]).await;
    quorate_ok(
        &d,
        &[
            "signature",
            &id,
            "--format",
            "minisign",
            "-o",
            &s("app.tar.gz.minisig"),
        ],
    )
    .await;
    let written = std::fs::read_to_string(p("app.tar.gz.minisig")).unwrap();
    let file = SignatureFile::parse(&written).unwrap();
    assert_eq!(file.trusted_comment, COMMENT);
    assert_eq!(file.key_id, key.key_id);

    // The consumer's command accepts it and shows the trusted comment.
    let out = minisign_verify(
        &p("release.pub"),
        &p("app.tar.gz.minisig"),
        &p("app.tar.gz"),
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        said(&out).contains(&format!("Trusted comment: {COMMENT}")),
        "{}",
        said(&out)
    );
    // A tampered artifact is rejected.
    let mut tampered = artifact.clone();
    tampered[artifact.len() / 2] ^= 0x01;
    std::fs::write(p("tampered.tar.gz"), &tampered).unwrap();
    let out = minisign_verify(
        &p("release.pub"),
        &p("app.tar.gz.minisig"),
        &p("tampered.tar.gz"),
    );
    assert!(!out.status.success(), "tampered artifact accepted: {out:?}");
    // So is a tampered trusted comment (the global signature covers it).
    std::fs::write(
        p("comment.minisig"),
        written.replace(COMMENT, "app 1.0, approved by nobody"),
    )
    .unwrap();
    let out = minisign_verify(&p("release.pub"), &p("comment.minisig"), &p("app.tar.gz"));
    assert!(!out.status.success(), "tampered comment accepted: {out:?}");

    // And `quorate verify` with the minisign key in the trust policy.
    std::fs::write(
        p("trust.toml"),
        format!(
            "[[key_group]]\nname = \"release\"\npublic_key = \"\"\"\n{}\"\"\"\nformats = [\"minisign\"]\nartifacts = [\"app*\"]\n",
            std::fs::read_to_string(p("release.pub")).unwrap()
        ),
    )
    .unwrap();
    let gate = |sig: &str, artifact: &str| {
        quorate_offline(&[
            "verify",
            "--policy",
            &s("trust.toml"),
            "--format",
            "minisign",
            "--signature",
            &s(sig),
            "--artifact",
            &s(artifact),
        ])
    };
    let out = gate("app.tar.gz.minisig", "app.tar.gz");
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "verified: signed by key group release\n".into()),
        "{}",
        said(&out)
    );
    let out = gate("comment.minisig", "app.tar.gz");
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));

    // An sshsig or raw ceremony has no minisign signature.
    let out = quorate(&d, &["signature", &id, "--format", "sshsig"]).await;
    assert!(!out.status.success(), "{}", said(&out));
    d.stop_coordinator().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_minisign_requests_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let s = |name: &str| dir.path().join(name).display().to_string();
    std::fs::write(dir.path().join("a"), b"a").unwrap();
    let d = LocalDeployment::start(dir.path(), "release", &sample_roster(None), 3)
        .await
        .unwrap();
    for (args, wanted) in [
        (
            vec![
                "--format",
                "minisign",
                "--artifact",
                &s("a"),
                "--trusted-comment",
                "two\nlines",
            ],
            "trusted comment: must be one line",
        ),
        (
            vec![
                "--format",
                "sshsig",
                "--artifact",
                &s("a"),
                "--trusted-comment",
                "x",
            ],
            "--trusted-comment goes with --format minisign",
        ),
        (
            vec![
                "--format",
                "minisign",
                "--artifact",
                &s("a"),
                "--artifact",
                &s("a"),
            ],
            "a minisign signature covers one artifact",
        ),
    ] {
        let mut all = vec!["sign", "--key-group", "release"];
        all.extend(args);
        let out = quorate(&d, &all).await;
        assert!(!out.status.success(), "{}", said(&out));
        assert!(said(&out).contains(wanted), "{}", said(&out));
    }
}
