//! DSSE envelopes end to end: `quorate sign --format dsse` runs a ceremony
//! over loopback TLS in which approvers see the statement's subjects, and a
//! maintained DSSE verifier (Python securesystemslib, through
//! `docs/verify_dsse.py`) accepts the envelope and rejects a tampered
//! payload or artifact.

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};

use base64::Engine as _;
use quorate::local::{LocalDeployment, sample_roster};
use quorate_types::ParticipantId;
use support::{quorate, quorate_offline, quorate_ok, quorum_signs, said, text};

/// The Python with securesystemslib that `.ci/run` installs
/// (QUORATE_DSSE_PYTHON, else target/ci-venv). Fails, never skips.
fn python() -> PathBuf {
    let path = std::env::var_os("QUORATE_DSSE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/ci-venv/bin/python")
        });
    let ok = Command::new(&path)
        .args(["-c", "import securesystemslib.dsse, cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "no Python with securesystemslib at {} (set QUORATE_DSSE_PYTHON): run .ci/run's install step: \
         python3 -m venv target/ci-venv && target/ci-venv/bin/pip install 'securesystemslib[crypto]'",
        path.display()
    );
    path
}

fn dsse_verify(python: &PathBuf, envelope: &str, pem: &str, artifacts: &[&str]) -> Output {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/verify_dsse.py");
    Command::new(python)
        .arg(script)
        .args([envelope, pem])
        .args(artifacts)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dsse_envelope_verifies_with_securesystemslib_and_tampering_does_not() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let s = |name: &str| dir.path().join(name).display().to_string();
    let mut d = LocalDeployment::start(dir.path(), "release", &sample_roster(None), 3)
        .await
        .unwrap();
    std::fs::write(s("app-1.0.tar.gz"), vec![7u8; 300_000]).unwrap();
    std::fs::write(s("app-1.0.sbom.json"), b"{\"sbom\": true}\n").unwrap();
    let sha = |name: &str| {
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            std::fs::read(s(name)).unwrap(),
        ))
    };

    let out = quorate_ok(
        &d,
        &[
            "sign",
            "--key-group",
            "release",
            "--format",
            "dsse",
            "--artifact",
            &s("app-1.0.tar.gz"),
            "--artifact",
            &s("app-1.0.sbom.json"),
        ],
    )
    .await;
    let id = text(&out.stdout).trim().to_string();
    let review = support::review(&d, "alice", &id).await;
    assert_eq!(
        review.artifacts,
        [
            "in-toto statement (DSSE), predicate type https://quorate.dev/release-approval/v1"
                .to_string(),
            format!("subject app-1.0.tar.gz sha256 {}", sha("app-1.0.tar.gz")),
            format!(
                "subject app-1.0.sbom.json sha256 {}",
                sha("app-1.0.sbom.json")
            ),
        ]
    );
    assert_eq!(
        review.ceremony.as_ref().unwrap().label,
        "dsse:app-1.0.tar.gz+1 more"
    );
    quorum_signs(&d, &id).await;
    quorate_ok(
        &d,
        &[
            "signature",
            &id,
            "--format",
            "dsse",
            "-o",
            &s("app.intoto.json"),
        ],
    )
    .await;
    quorate_ok(
        &d,
        &[
            "pubkey",
            "--key-group",
            "release",
            "-o",
            &s("group.pub.pem"),
        ],
    )
    .await;

    let both = [s("app-1.0.tar.gz"), s("app-1.0.sbom.json")];
    let both: Vec<&str> = both.iter().map(String::as_str).collect();
    let out = dsse_verify(&python, &s("app.intoto.json"), &s("group.pub.pem"), &both);
    assert!(out.status.success(), "{}", said(&out));
    assert!(
        text(&out.stdout).contains("verified: 2 artifact(s)"),
        "{}",
        said(&out)
    );

    // A tampered payload: the statement names another digest.
    let envelope: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s("app.intoto.json")).unwrap()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let payload =
        String::from_utf8(b64.decode(envelope["payload"].as_str().unwrap()).unwrap()).unwrap();
    let mut forged = envelope.clone();
    forged["payload"] = b64
        .encode(payload.replace(&sha("app-1.0.tar.gz"), &"0".repeat(64)))
        .into();
    std::fs::write(s("forged.json"), forged.to_string()).unwrap();
    let out = dsse_verify(&python, &s("forged.json"), &s("group.pub.pem"), &[]);
    assert!(
        !out.status.success(),
        "forged payload accepted: {}",
        said(&out)
    );
    assert!(said(&out).contains("VerificationError"), "{}", said(&out));
    // A tampered artifact under the genuine envelope.
    std::fs::create_dir(s("bad")).unwrap();
    std::fs::write(s("bad/app-1.0.tar.gz"), vec![8u8; 300_000]).unwrap();
    let out = dsse_verify(
        &python,
        &s("app.intoto.json"),
        &s("group.pub.pem"),
        &[&s("bad/app-1.0.tar.gz")],
    );
    assert!(
        !out.status.success(),
        "tampered artifact accepted: {}",
        said(&out)
    );

    // quorate verify agrees.
    let pem = std::fs::read_to_string(s("group.pub.pem")).unwrap();
    std::fs::write(
        s("trust.toml"),
        format!("[[key_group]]\nname = \"release\"\npublic_key = \"\"\"\n{pem}\"\"\"\nformats = [\"dsse\"]\nartifacts = [\"app-*\"]\n"),
    )
    .unwrap();
    let gate = |sig: &str, artifact: &str| {
        quorate_offline(&[
            "verify",
            "--policy",
            &s("trust.toml"),
            "--format",
            "dsse",
            "--signature",
            sig,
            "--artifact",
            artifact,
        ])
    };
    let out = gate(&s("app.intoto.json"), &s("app-1.0.tar.gz"));
    assert!(out.status.success(), "{}", said(&out));
    let out = gate(&s("app.intoto.json"), &s("bad/app-1.0.tar.gz"));
    assert!(
        text(&out.stdout).contains(
            "check \"artifact matches what was signed\" failed: app-1.0.tar.gz has SHA-256"
        ),
        "{}",
        said(&out)
    );
    let out = gate(&s("forged.json"), &s("app-1.0.tar.gz"));
    assert!(
        text(&out.stdout).contains(
            "check \"signature valid\" failed: the signature by key group release does not verify"
        ),
        "{}",
        said(&out)
    );

    // With a predicate, automated approvers and `sign --wait -o`.
    for who in ["bob", "dave", "erin"] {
        d.set_auto_approve(&ParticipantId::new(who).unwrap(), true)
            .await
            .unwrap();
    }
    std::fs::write(
        s("provenance.json"),
        br#"{"buildDefinition": {"buildType": "https://example.com/make"}}"#,
    )
    .unwrap();
    quorate_ok(
        &d,
        &[
            "sign",
            "--key-group",
            "release",
            "--format",
            "dsse",
            "--artifact",
            &s("app-1.0.tar.gz"),
            "--predicate",
            &s("provenance.json"),
            "--wait",
            "--timeout",
            "30",
            "-o",
            &s("prov.intoto.json"),
        ],
    )
    .await;
    let out = dsse_verify(
        &python,
        &s("prov.intoto.json"),
        &s("group.pub.pem"),
        &[&s("app-1.0.tar.gz")],
    );
    assert!(out.status.success(), "{}", said(&out));
    assert!(
        text(&out.stdout).contains("https://slsa.dev/provenance/v1"),
        "{}",
        said(&out)
    );

    // What a release manager can get wrong.
    let base = [
        "sign",
        "--key-group",
        "release",
        "--artifact",
        &s("app-1.0.tar.gz"),
    ];
    let out = quorate(
        &d,
        &[&base[..], &["--artifact", &s("app-1.0.sbom.json")]].concat(),
    )
    .await;
    assert!(
        said(&out).contains("use --format dsse to sign several"),
        "{}",
        said(&out)
    );
    let out = quorate(
        &d,
        &[&base[..], &["--predicate", &s("provenance.json")]].concat(),
    )
    .await;
    assert!(
        said(&out).contains("go with --format dsse"),
        "{}",
        said(&out)
    );
    let out = quorate(
        &d,
        &[
            &base[..],
            &["--format", "dsse", "--predicate", &s("app-1.0.tar.gz")],
        ]
        .concat(),
    )
    .await;
    assert!(said(&out).contains("not JSON"), "{}", said(&out));
    let out = quorate(
        &d,
        &["signature", &id, "--format", "sshsig", "-o", "/dev/null"],
    )
    .await;
    assert!(
        said(&out).contains("not SSHSIG signed data"),
        "{}",
        said(&out)
    );
    d.stop().await.unwrap();
}
