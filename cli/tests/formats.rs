//! Signature formats end to end: the `quorate` binary asks a local
//! deployment for an SSH signature over a 1 MiB artifact, and the real
//! `ssh-keygen` (Debian's openssh-client; `.ci/run` installs it) checks it.

use std::path::Path;
use std::process::{Command, Output, Stdio};

mod support;

use quorate::local::{LocalDeployment, sample_roster};
use quorate_types::ParticipantId;
use support::{quorate, quorum_signs, text};

const PRINCIPAL: &str = "releases@example.com";

/// `ssh-keygen args < stdin`; fails, never skips, when ssh-keygen is missing.
fn ssh_keygen(args: &[&str], stdin: &Path) -> Output {
    Command::new("ssh-keygen")
        .args(args)
        .stdin(Stdio::from(std::fs::File::open(stdin).unwrap()))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run ssh-keygen ({e}): install openssh-client (apt-get install openssh-client)"
            )
        })
}

/// A consumer's checks of `sig` over `artifact`: `ssh-keygen -Y verify`
/// against allowed_signers, and `-Y check-novalidate`.
fn ssh_checks(signers: &Path, sig: &Path, namespace: &str, artifact: &Path) -> [Output; 2] {
    let (signers, sig) = (signers.to_str().unwrap(), sig.to_str().unwrap());
    [
        ssh_keygen(
            &[
                "-Y", "verify", "-f", signers, "-I", PRINCIPAL, "-n", namespace, "-s", sig,
            ],
            artifact,
        ),
        ssh_keygen(
            &["-Y", "check-novalidate", "-n", namespace, "-s", sig],
            artifact,
        ),
    ]
}

fn sha512_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha512::digest(bytes))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sshsig_over_a_large_artifact_verifies_with_ssh_keygen() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let s = |name: &str| dir.path().join(name).display().to_string();
    let mut d = LocalDeployment::start(dir.path(), "release", &sample_roster(None), 3)
        .await
        .unwrap();
    // 1 MiB, far above what a ceremony's message may hold.
    let artifact: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(p("app.tar.gz"), &artifact).unwrap();

    // The consumer's files: the ssh key line and allowed_signers.
    let out = quorate(
        &d,
        &[
            "pubkey",
            "--key-group",
            "release",
            "--format",
            "ssh",
            "--principal",
            PRINCIPAL,
            "--allowed-signers",
            &s("allowed_signers"),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    assert!(
        line.starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI")
            && line.ends_with(" releases@example.com\n"),
        "{line}"
    );
    let signers = std::fs::read_to_string(p("allowed_signers")).unwrap();
    assert_eq!(
        signers,
        format!(
            "{PRINCIPAL} namespaces=\"file\" {}\n",
            line.trim_end().trim_end_matches(" releases@example.com")
        )
    );

    // A ceremony that approvers review: they see what the SSH signature signs.
    let out = quorate(
        &d,
        &[
            "sign",
            "--key-group",
            "release",
            "--artifact",
            &s("app.tar.gz"),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_string();
    let review = support::review(&d, "alice", &id).await;
    let expected = format!(
        "SSH signature (namespace file) over an artifact with SHA-512 {}",
        sha512_hex(&artifact)
    );
    assert_eq!(
        review.artifacts,
        [format!("{expected} (label: sshsig:file:app.tar.gz)")]
    );
    let shown = quorate_participant::control::describe(&review);
    assert!(
        shown.contains(&format!("message: SSHSIG signed data: {expected}")),
        "{shown}"
    );
    quorum_signs(&d, &id).await;
    let out = quorate(
        &d,
        &[
            "signature",
            &id,
            "--format",
            "sshsig",
            "-o",
            &s("app.tar.gz.sig"),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let armored = std::fs::read_to_string(p("app.tar.gz.sig")).unwrap();
    assert!(
        armored.starts_with("-----BEGIN SSH SIGNATURE-----\n")
            && armored.ends_with("-----END SSH SIGNATURE-----\n"),
        "{armored}"
    );

    // The consumer's command accepts it; a tampered artifact is rejected.
    for out in ssh_checks(
        &p("allowed_signers"),
        &p("app.tar.gz.sig"),
        "file",
        &p("app.tar.gz"),
    ) {
        assert!(out.status.success(), "{out:?}");
    }
    let verify = ssh_checks(
        &p("allowed_signers"),
        &p("app.tar.gz.sig"),
        "file",
        &p("app.tar.gz"),
    );
    // OpenSSH prints this on stdout (9.x) or stderr (older).
    let said = format!("{}{}", text(&verify[0].stdout), text(&verify[0].stderr));
    assert!(
        said.contains(&format!("Good \"file\" signature for {PRINCIPAL}")),
        "{:?}",
        verify[0]
    );
    let mut tampered = artifact.clone();
    tampered[artifact.len() / 2] ^= 0x01;
    std::fs::write(p("tampered.tar.gz"), &tampered).unwrap();
    for out in ssh_checks(
        &p("allowed_signers"),
        &p("app.tar.gz.sig"),
        "file",
        &p("tampered.tar.gz"),
    ) {
        assert!(!out.status.success(), "tampered artifact accepted: {out:?}");
    }
    // Bound to its namespace: not a valid `git` signature.
    for out in ssh_checks(
        &p("allowed_signers"),
        &p("app.tar.gz.sig"),
        "git",
        &p("app.tar.gz"),
    ) {
        assert!(!out.status.success(), "other namespace accepted: {out:?}");
    }

    // Automated approvers; `sign --wait -o` writes the SSH signature itself,
    // here in a namespace of its own.
    for who in ["bob", "dave", "erin"] {
        d.set_auto_approve(&ParticipantId::new(who).unwrap(), true)
            .await
            .unwrap();
    }
    let sign = [
        "sign",
        "--key-group",
        "release",
        "--format",
        "sshsig",
        "--namespace",
    ];
    let rest = ["--wait", "--timeout", "30", "-o", "/dev/null"];
    let out = quorate(
        &d,
        &[
            &sign[..],
            &[
                "releases",
                "--artifact",
                &s("app.tar.gz"),
                "--wait",
                "--timeout",
                "30",
            ],
            &["-o", &s("releases.sig")],
        ]
        .concat(),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = quorate(
        &d,
        &[
            "pubkey",
            "--key-group",
            "release",
            "--format",
            "ssh",
            "--principal",
            PRINCIPAL,
            "--allowed-signers",
            &s("releases_signers"),
            "--namespace",
            "releases",
            "-o",
            &s("release.pub"),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(p("release.pub")).unwrap(), line);
    for out in ssh_checks(
        &p("releases_signers"),
        &p("releases.sig"),
        "releases",
        &p("app.tar.gz"),
    ) {
        assert!(out.status.success(), "{out:?}");
    }
    // allowed_signers for `file` does not trust it in `releases`.
    let [out, _] = ssh_checks(
        &p("allowed_signers"),
        &p("releases.sig"),
        "releases",
        &p("app.tar.gz"),
    );
    assert!(!out.status.success(), "{out:?}");

    // What a release manager can get wrong, with errors that say so.
    let raw = [
        "sign",
        "--key-group",
        "release",
        "--message",
        &s("app.tar.gz"),
    ];
    let out = quorate(&d, &[&raw[..], &["--artifact", &s("app.tar.gz")]].concat()).await;
    assert!(
        text(&out.stderr).contains("cannot be used with"),
        "{}",
        text(&out.stderr)
    );
    let out = quorate(&d, &["sign", "--key-group", "release"]).await;
    assert!(
        text(&out.stderr).contains("--message"),
        "{}",
        text(&out.stderr)
    );
    let out = quorate(&d, &[&raw[..], &["--format", "sshsig"]].concat()).await;
    assert!(
        text(&out.stderr).contains("give --artifact FILE"),
        "{}",
        text(&out.stderr)
    );
    let art = [
        "sign",
        "--key-group",
        "release",
        "--artifact",
        &s("app.tar.gz"),
    ];
    let out = quorate(&d, &[&art[..], &["--format", "raw"]].concat()).await;
    assert!(
        text(&out.stderr).contains("use --format sshsig"),
        "{}",
        text(&out.stderr)
    );
    let out = quorate(&d, &[&art[..], &["--namespace", "my file"]].concat()).await;
    assert!(
        text(&out.stderr).contains("without spaces"),
        "{}",
        text(&out.stderr)
    );
    let out = quorate(
        &d,
        &[
            "sign",
            "--key-group",
            "release",
            "--artifact",
            &s("missing"),
        ],
    )
    .await;
    assert!(
        text(&out.stderr).contains("cannot read"),
        "{}",
        text(&out.stderr)
    );
    let out = quorate(
        &d,
        &["pubkey", "--key-group", "release", "--allowed-signers", "x"],
    )
    .await;
    assert!(
        text(&out.stderr).contains("--principal"),
        "{}",
        text(&out.stderr)
    );

    // A raw ceremony has no SSH signature to export.
    std::fs::write(
        p("SHA256SUMS"),
        quorate_formats::manifest::sha256sums_line("a", b"a"),
    )
    .unwrap();
    let out = quorate(
        &d,
        &[
            &[
                "sign",
                "--key-group",
                "release",
                "--message",
                &s("SHA256SUMS"),
            ],
            &rest[..],
        ]
        .concat(),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let raw_id = text(&out.stdout).trim().to_string();
    let out = quorate(
        &d,
        &[
            "signature",
            &raw_id,
            "--format",
            "sshsig",
            "-o",
            "/dev/null",
        ],
    )
    .await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not SSHSIG signed data"),
        "{}",
        text(&out.stderr)
    );
    d.stop().await.unwrap();
}
