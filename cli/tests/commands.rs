//! The `quorate` binary as its users run it, against a local deployment.

use std::process::Output;

use base64::Engine as _;

use quorate::local::{LocalDeployment, sample_roster};
use quorate_secrets::GroupFileIo;
use quorate_types::ParticipantId;

/// The TLS environment of the identity `args` name (`--identity X`), by
/// default the release manager: its certificate says who it is.
fn tls_env(d: &LocalDeployment, args: &[&str]) -> Vec<(&'static str, String)> {
    let identity = args
        .windows(2)
        .find(|w| w[0] == "--identity")
        .map_or(quorate::local::REQUESTER, |w| w[1]);
    let files = d.tls_files(identity).unwrap();
    vec![
        ("QUORATE_TLS_CA", files.ca.display().to_string()),
        ("QUORATE_TLS_CERT", files.cert.display().to_string()),
        ("QUORATE_TLS_KEY", files.key.display().to_string()),
    ]
}

fn quorate(d: &LocalDeployment, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args(["--coordinator", &d.url()])
        .args(args)
        .envs(tls_env(d, args))
        .output()
        .unwrap()
}

/// Runs `quorate` with `args` off the async runtime, for commands that wait
/// on agents running in this process.
async fn quorate_waiting(d: &LocalDeployment, args: Vec<&str>) -> Output {
    let url = d.url();
    let env = tls_env(d, &args);
    let args: Vec<String> = args.into_iter().map(str::to_string).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_quorate"))
            .args(["--coordinator", &url])
            .args(&args)
            .envs(env)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn release_manager_commands_sign_and_openssl_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = LocalDeployment::start(dir.path(), "release", &sample_roster(None), 3)
        .await
        .unwrap();
    // Three automated participants approve whatever they are asked.
    for id in ["bob", "dave", "erin"] {
        d.set_auto_approve(&ParticipantId::new(id).unwrap(), true)
            .await
            .unwrap();
    }
    let manifest = dir.path().join("SHA256SUMS");
    std::fs::write(
        &manifest,
        quorate_formats::manifest::sha256sums_line("app.tar.gz", b"app"),
    )
    .unwrap();
    let sig = dir.path().join("SHA256SUMS.sig");
    let pem = dir.path().join("release.pub.pem");

    let (m, sig_path) = (manifest.display().to_string(), sig.display().to_string());
    let args = ["sign", "--key-group", "release", "--message", &m];
    let wait = ["--wait", "--timeout", "30", "-o", &sig_path];
    let out = quorate_waiting(&d, [&args[..], &wait[..]].concat()).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_string();
    assert_eq!(std::fs::read(&sig).unwrap().len(), 64);

    let status = quorate(&d, &["status", &id]);
    assert!(status.status.success(), "{}", text(&status.stderr));
    let status = text(&status.stdout);
    assert!(status.contains("state:     signed"), "{status}");
    for id in ["bob", "dave", "erin"] {
        assert!(status.contains(&format!("approved by {id}")), "{status}");
    }

    let again = dir.path().join("again.sig");
    let out = quorate(&d, &["signature", &id, "-o", again.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&again).unwrap(), std::fs::read(&sig).unwrap());

    let out = quorate(
        &d,
        &[
            "pubkey",
            "--key-group",
            "release",
            "-o",
            pem.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let verify = std::process::Command::new("openssl")
        .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
        .arg(&pem)
        .arg("-rawin")
        .arg("-in")
        .arg(&manifest)
        .arg("-sigfile")
        .arg(&sig)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", text(&verify.stdout));

    // Clear errors for what a release manager can get wrong.
    let big = dir.path().join("big.iso");
    std::fs::write(&big, vec![0u8; quorate_types::MAX_MESSAGE_BYTES + 1]).unwrap();
    let out = quorate(
        &d,
        &[
            "sign",
            "--key-group",
            "release",
            "--message",
            big.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("sign a manifest"),
        "{}",
        text(&out.stderr)
    );
    let out = quorate(&d, &["signature", "0123456789abcdef", "-o", "/dev/null"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no ceremony 0123456789abcdef"),
        "{}",
        text(&out.stderr)
    );
    let out = quorate(
        &d,
        &[
            "sign",
            "--key-group",
            "nope",
            "--message",
            manifest.to_str().unwrap(),
        ],
    );
    assert!(
        text(&out.stderr).contains("no key group nope"),
        "{}",
        text(&out.stderr)
    );
    d.stop().await.unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args(["--coordinator", "http://127.0.0.1:1", "status", "x"])
        .output()
        .unwrap();
    assert!(
        text(&out.stderr).contains("is it running"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn quickstart_leaves_a_verifiable_signature_and_refuses_a_used_directory() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args(["quickstart", "--dir", demo.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("openssl pkeyutl -verify -pubin -inkey"),
        "{stdout}"
    );
    for file in ["group.pub.pem", "SHA256SUMS", "SHA256SUMS.sig"] {
        assert!(demo.join(file).exists(), "{file} missing");
    }
    // Both signatures verify under the same group key: the first, and the
    // one made after bob left and the others refreshed their shares.
    for sig in ["SHA256SUMS.sig", "SHA256SUMS.refreshed.sig"] {
        let verify = std::process::Command::new("openssl")
            .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
            .arg(demo.join("group.pub.pem"))
            .arg("-rawin")
            .arg("-in")
            .arg(demo.join("SHA256SUMS"))
            .arg("-sigfile")
            .arg(demo.join(sig))
            .output()
            .unwrap();
        assert!(verify.status.success(), "{sig}: {}", text(&verify.stdout));
    }
    assert_ne!(
        std::fs::read(demo.join("SHA256SUMS.sig")).unwrap(),
        std::fs::read(demo.join("SHA256SUMS.refreshed.sig")).unwrap()
    );

    // The auditor's files, and the replay the quickstart ends with, again
    // by hand: it passes, and fails on a transcript changed by one byte.
    for file in ["ceremony.transcript", "checkpoint", "log.vkey"] {
        assert!(demo.join(file).exists(), "{file} missing");
    }
    assert!(
        stdout.contains("replayed ceremony.transcript offline"),
        "{stdout}"
    );
    let vkey = std::fs::read_to_string(demo.join("log.vkey")).unwrap();
    assert!(vkey.starts_with("quorate.localhost/log+"), "{vkey}");
    let replay = |transcript: &std::path::Path, json: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_quorate"));
        cmd.args(["audit", "replay"])
            .arg(transcript)
            .arg("--log-key")
            .arg(demo.join("log.vkey"));
        if json {
            cmd.arg("--json");
        }
        cmd.output().unwrap()
    };
    let out = replay(&demo.join("ceremony.transcript"), false);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(": PASSED"),
        "{}",
        text(&out.stdout)
    );
    let out = replay(&demo.join("ceremony.transcript"), true);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passed"], true);

    let original = std::fs::read_to_string(demo.join("ceremony.transcript")).unwrap();
    // The release manager signed the request, and the record keeps it.
    assert!(
        original.contains(r#"\"signed\":{\"request\":{\"key_group\":\"quickstart\""#),
        "{original}"
    );
    // The request entry, inside the transcript's JSON string.
    let tampered = original.replacen(
        r#"\"requester\":\"release-manager\""#,
        r#"\"requester\":\"release-managed\""#,
        1,
    );
    assert_ne!(tampered, original);
    let path = dir.path().join("tampered.transcript");
    std::fs::write(&path, tampered).unwrap();
    let out = replay(&path, false);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("the first is at entry 1, proof"),
        "{stderr}"
    );
    assert!(
        text(&out.stdout).contains(": FAILED"),
        "{}",
        text(&out.stdout)
    );

    // The key group was made by DKG; its key ceremony replays offline too,
    // and its JSON names the group key group.pub.pem holds.
    assert!(
        stdout.contains("made key group `quickstart` by DKG"),
        "{stdout}"
    );
    let out = replay(&demo.join("key-ceremony.transcript"), true);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(key["outcome"], "registered");
    assert_eq!(key["verifying_shares"], 5);
    let pem = std::fs::read_to_string(demo.join("group.pub.pem")).unwrap();
    let group_key = hex::decode(key["group_key"].as_str().unwrap()).unwrap();
    assert!(
        pem.contains(&base64_of_spki(&group_key)),
        "{pem} does not hold {key}"
    );
    let refresh = replay(&demo.join("refresh.transcript"), true);
    assert!(refresh.status.success(), "{}", text(&refresh.stderr));
    let refresh: serde_json::Value = serde_json::from_slice(&refresh.stdout).unwrap();
    assert_eq!(refresh["verifying_shares"], 4);
    assert_eq!(refresh["group_key"], key["group_key"]);
    let original = std::fs::read_to_string(demo.join("key-ceremony.transcript")).unwrap();
    let cut = original.replacen(r#"\"seq\":2,"#, r#"\"seq\":3,"#, 1);
    assert_ne!(cut, original);
    let path = dir.path().join("cut.transcript");
    std::fs::write(&path, cut).unwrap();
    assert_eq!(replay(&path, false).status.code(), Some(1));

    // The agents are the witnesses; the checkpoints carry at least 3 of
    // their 5 cosignatures, as the key group's policy requires. The
    // replay with their keys says so, and fails with too few or a forged one.
    let witnessed = |transcript: &std::path::Path, quorum: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_quorate"))
            .args(["audit", "replay"])
            .arg(transcript)
            .arg("--log-key")
            .arg(demo.join("log.vkey"))
            .arg("--witness-keys")
            .arg(demo.join("witnesses.vkeys"))
            .args(["--witness-quorum", quorum])
            .output()
            .unwrap()
    };
    let vkeys = std::fs::read_to_string(demo.join("witnesses.vkeys")).unwrap();
    assert_eq!(vkeys.lines().count(), 5, "{vkeys}");
    assert!(
        vkeys.lines().all(|l| l.contains(".agent.quorate+")),
        "{vkeys}"
    );
    for transcript in [
        "ceremony.transcript",
        "key-ceremony.transcript",
        "refresh.transcript",
    ] {
        let out = witnessed(&demo.join(transcript), "3");
        assert!(out.status.success(), "{transcript}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains(".agent.quorate (at "),
            "{}",
            text(&out.stdout)
        );
    }
    let checkpoint = std::fs::read_to_string(demo.join("checkpoint")).unwrap();
    assert!(
        checkpoint.matches(".agent.quorate ").count() >= 3,
        "{checkpoint}"
    );
    // Keep only two cosignatures: fewer than 3, enough for a quorum of 2.
    let lines: Vec<String> = original
        .split("\\n")
        .filter(|l| l.starts_with("— ") && l.contains(".agent.quorate "))
        .map(str::to_owned)
        .collect();
    assert!(lines.len() >= 3, "{lines:?}");
    // Three cosignatures meet the policy, not a quorum of 4 asked for on
    // the command line; two do not meet the policy, whatever is asked.
    let keep = |n: usize| {
        let mut kept = original.clone();
        for line in &lines[n..] {
            kept = kept.replacen(&format!("{line}\\n"), "", 1);
        }
        kept
    };
    let path = dir.path().join("fewer-witnesses.transcript");
    std::fs::write(&path, keep(3)).unwrap();
    assert!(witnessed(&path, "3").status.success());
    let out = witnessed(&path, "4");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("from 3 of the listed witnesses"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("fewer than the 4 required"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(&path, keep(2)).unwrap();
    let out = witnessed(&path, "2");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr)
            .contains("carries 2 of the 3 witness cosignatures the key group's policy requires"),
        "{}",
        text(&out.stderr)
    );
    // A forged cosignature is named.
    let line = &lines[0];
    let name = line.split(' ').nth(1).unwrap();
    let sig = line.rsplit(' ').next().unwrap();
    let mut bytes = base64::engine::general_purpose::STANDARD
        .decode(sig)
        .unwrap();
    bytes[20] ^= 1;
    let forged_line = line.replace(
        sig,
        &base64::engine::general_purpose::STANDARD.encode(bytes),
    );
    std::fs::write(&path, original.replacen(line, &forged_line, 1)).unwrap();
    let out = witnessed(&path, "1");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&format!("signature by {name}+")),
        "{}",
        text(&out.stderr)
    );

    // The key group's policy names the agents' witnesses: the ceremony's
    // replay requires 3 of their cosignatures even without --witness-keys.
    let ceremony = std::fs::read_to_string(demo.join("ceremony.transcript")).unwrap();
    let lines: Vec<String> = ceremony
        .split("\\n")
        .filter(|l| l.starts_with("— ") && l.contains(".agent.quorate "))
        .map(str::to_owned)
        .collect();
    let mut two = ceremony.clone();
    for line in &lines[2..] {
        two = two.replacen(&format!("{line}\\n"), "", 1);
    }
    let path = dir.path().join("two-witnesses-ceremony.transcript");
    std::fs::write(&path, two).unwrap();
    let out = replay(&path, false);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout)
            .contains("carries 2 of the 3 witness cosignatures the key group's policy requires"),
        "{}",
        text(&out.stdout)
    );
    let out = replay(&demo.join("ceremony.transcript"), false);
    assert!(
        text(&out.stdout).contains("witnessed: cosigned by "),
        "{}",
        text(&out.stdout)
    );

    let again = std::process::Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args(["quickstart", "--dir", demo.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("is not empty"),
        "{}",
        text(&again.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn break_glass_review_list_and_cancel_commands() {
    let dir = tempfile::tempdir().unwrap();
    let policy = quorate_types::Policy::from_toml(
        "[required]\nrelease = 1\n[emergency]\ndeclarers = [\"release-manager\"]\nreviewers = [\"auditor\"]\n",
    )
    .unwrap();
    let options = quorate::local::Options {
        policy,
        ..Default::default()
    };
    let mut d =
        LocalDeployment::start_with(dir.path(), "release", &sample_roster(None), 3, options)
            .await
            .unwrap();
    // No release approver is automated: only break-glass can sign.
    for id in ["alice", "bob", "carol"] {
        d.set_auto_approve(&ParticipantId::new(id).unwrap(), true)
            .await
            .unwrap();
    }
    let manifest = dir.path().join("SHA256SUMS");
    std::fs::write(
        &manifest,
        quorate_formats::manifest::sha256sums_line("fix.tar.gz", b"fix"),
    )
    .unwrap();
    let m = manifest.to_str().unwrap().to_string();

    let out = quorate(
        &d,
        &[
            "sign",
            "--key-group",
            "release",
            "--message",
            &m,
            "--break-glass",
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--justification"),
        "{}",
        text(&out.stderr)
    );

    let args = ["sign", "--key-group", "release", "--message", &m];
    let glass = ["--break-glass", "--justification", "CVE-2026-4242 hotfix"];
    let wait = ["--wait", "--timeout", "30"];
    let out = quorate_waiting(&d, [&args[..], &glass[..], &wait[..]].concat()).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_string();

    let status = text(&quorate(&d, &["status", &id]).stdout);
    assert!(
        status.contains("*** BREAK-GLASS ceremony: CVE-2026-4242 hotfix ***"),
        "{status}"
    );
    assert!(status.contains("state:     awaiting-review"), "{status}");
    let unreviewed = text(&quorate(&d, &["ceremonies", "--unreviewed"]).stdout);
    assert!(
        unreviewed.contains(&id) && unreviewed.contains("BREAK-GLASS"),
        "{unreviewed}"
    );

    let out = quorate(&d, &["review", &id, "--notes", "checked"]);
    assert!(!out.status.success(), "release-manager is not a reviewer");
    assert!(
        text(&out.stderr).contains("PermissionDenied"),
        "{}",
        text(&out.stderr)
    );
    let out = quorate(
        &d,
        &[
            "--identity",
            "auditor",
            "review",
            &id,
            "--notes",
            "hotfix matched the advisory",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let unreviewed = text(&quorate(&d, &["ceremonies", "--unreviewed"]).stdout);
    assert!(unreviewed.contains("no ceremonies match"), "{unreviewed}");

    // A normal ceremony waits for release; its requester calls it off.
    let out = quorate(&d, &["sign", "--key-group", "release", "--message", &m]);
    let open = text(&out.stdout).trim().to_string();
    let listed = text(&quorate(&d, &["ceremonies", "--state", "collecting-approvals"]).stdout);
    assert!(listed.contains(&open), "{listed}");
    let out = quorate(
        &d,
        &["--identity", "mallory", "cancel", &open, "--reason", "no"],
    );
    assert!(!out.status.success());
    let out = quorate(&d, &["cancel", &open, "--reason", "superseded"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("cancelled by release-manager: superseded"),
        "{}",
        text(&out.stdout)
    );
    let out = quorate(&d, &["ceremonies", "--state", "bogus"]);
    assert!(
        text(&out.stderr).contains("unknown state \"bogus\""),
        "{}",
        text(&out.stderr)
    );
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_changes_a_roster_from_a_roster_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = LocalDeployment::start(dir.path(), "release", &sample_roster(None), 3)
        .await
        .unwrap();
    // keygen's roster format, without identity keys: the registered ones
    // are kept.
    let mut roster = sample_roster(None);
    roster.participants[0].name = "Alice Liddell".into();
    roster.participants[4].role = "security".into();
    let roster_file = dir.path().join("roster.toml");
    std::fs::write(&roster_file, roster.to_toml()).unwrap();
    let out_file = dir.path().join("group-v1.json");
    let (r, o) = (
        roster_file.display().to_string(),
        out_file.display().to_string(),
    );
    let args = [
        "--identity",
        quorate::local::OPERATOR,
        "change-roster",
        "--key-group",
        "release",
        "--roster",
        &r,
        "--out",
        &o,
    ];
    let out = quorate(&d, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("roster version 1"), "{said}");
    assert!(said.contains("erin (security)"), "{said}");
    let written = quorate_types::KeyGroupFile::load(&out_file).unwrap();
    let registered = &d.group;
    assert_eq!(written.roster.participants[0].name, "Alice Liddell");
    assert_eq!(written.public_key_package, registered.public_key_package);
    for (new, old) in written
        .roster
        .participants
        .iter()
        .zip(&registered.roster.participants)
    {
        assert_eq!(new.identity, old.identity, "{}", new.id);
    }

    // The same file again changes nothing, and says so.
    let out = quorate(&d, &args);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("nothing to change"),
        "{}",
        text(&out.stderr)
    );
    // The release manager may not.
    let out = quorate(&d, &args[2..]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("may not change rosters"),
        "{}",
        text(&out.stderr)
    );
    d.stop().await.unwrap();
}

/// The base64 of an Ed25519 key's SubjectPublicKeyInfo, as a PEM holds it.
fn base64_of_spki(key: &[u8]) -> String {
    use base64::Engine;
    let mut der = hex::decode("302a300506032b6570032100").unwrap();
    der.extend_from_slice(key);
    base64::engine::general_purpose::STANDARD.encode(der)
}

/// `quorate` with `args` and the passphrase in QUORATE_PASSPHRASE, no
/// coordinator.
fn quorate_with_passphrase(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args(args)
        .env("QUORATE_PASSPHRASE", "correct horse battery staple")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_release_manager_signs_requests_with_an_identity_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("release-manager.identity");
    let key_path = key.display().to_string();
    let made = ["identity-key", "new", "--name", "release-manager", "--out"];
    let out = quorate_with_passphrase(&[&made[..], &[key_path.as_str()]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let public = text(&out.stdout).trim().to_string();
    quorate_types::PublicIdentity::parse(&public).unwrap();
    let shown = quorate_with_passphrase(&["identity-key", "show", &key_path]);
    assert_eq!(text(&shown.stdout).trim(), public);
    // Not over an existing key.
    let again = quorate_with_passphrase(&[&made[..], &[key_path.as_str()]].concat());
    assert!(
        text(&again.stderr).contains("exists"),
        "{}",
        text(&again.stderr)
    );

    // A key group whose policy takes only the release manager's signed
    // requests.
    let policy = quorate_types::Policy {
        requester_keys: [(
            quorate::local::REQUESTER.to_string(),
            quorate_types::PublicIdentity::parse(&public).unwrap(),
        )]
        .into(),
        ..Default::default()
    };
    let options = quorate::local::Options {
        policy,
        ..Default::default()
    };
    let d = LocalDeployment::start_with(dir.path(), "release", &sample_roster(None), 3, options)
        .await
        .unwrap();
    let manifest = dir.path().join("SHA256SUMS");
    std::fs::write(&manifest, "abc  app.tar.gz\n").unwrap();
    let m = manifest.display().to_string();
    let args = ["sign", "--key-group", "release", "--message", &m];
    let unsigned = quorate(&d, &args);
    assert!(!unsigned.status.success());
    assert!(
        text(&unsigned.stderr).contains("this one is unsigned"),
        "{}",
        text(&unsigned.stderr)
    );
    let sign_with = |passphrase: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_quorate"))
            .args(["--coordinator", &d.url()])
            .args(args)
            .args(["--identity-key", &key_path])
            .envs(tls_env(&d, &args))
            .env("QUORATE_PASSPHRASE", passphrase)
            .output()
            .unwrap()
    };
    let signed = sign_with("correct horse battery staple");
    assert!(signed.status.success(), "{}", text(&signed.stderr));
    let id = text(&signed.stdout).trim().to_string();
    let review = d
        .wait_pending(
            &ParticipantId::new("alice").unwrap(),
            &id,
            std::time::Duration::from_secs(30),
        )
        .await;
    assert!(review.is_ok(), "{review:?}");
    // A wrong passphrase opens nothing.
    let wrong = sign_with("wrong");
    assert!(!wrong.status.success());
    assert!(
        text(&wrong.stderr).contains("passphrase"),
        "{}",
        text(&wrong.stderr)
    );
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_custodian_verifies_their_piece() {
    let dir = tempfile::tempdir().unwrap();
    let d = LocalDeployment::start(dir.path(), "release", &sample_roster(None), 3)
        .await
        .unwrap();
    let config = d.agent_configs[&ParticipantId::new("alice").unwrap()].clone();
    let custodians: Vec<ParticipantId> = ["c1", "c2", "c3"]
        .iter()
        .map(|c| ParticipantId::new(*c).unwrap())
        .collect();
    let passphrase = config.passphrase.clone().unwrap();
    let custodian_pass = |_: &ParticipantId| {
        Ok(quorate_secrets::Passphrase::new(zeroize::Zeroizing::new(
            "custodian pw".to_string(),
        )))
    };
    let (sealed, printed) = (dir.path().join("sealed"), dir.path().join("printed"));
    use quorate_participant::backup::{Form, backup};
    backup(
        &config,
        &passphrase,
        &custodians,
        2,
        &sealed,
        Form::Sealed(&custodian_pass),
    )
    .unwrap();
    let texts = backup(
        &config,
        &passphrase,
        &custodians,
        2,
        &printed,
        Form::Printable,
    )
    .unwrap()
    .printed;
    // c2 types their printed piece in.
    std::fs::write(printed.join("c2.piece.txt"), texts[1].1.as_bytes()).unwrap();
    let group = config.key_group.display().to_string();
    let verify = |piece: &std::path::Path, pass: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_quorate"))
            .args(["backup", "verify"])
            .arg(piece)
            .args(["--group", &group])
            .env("QUORATE_CUSTODIAN_PASSPHRASE", pass)
            .output()
            .unwrap()
    };
    for piece in [sealed.join("c2.piece"), printed.join("c2.piece.txt")] {
        let out = verify(&piece, "custodian pw");
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout)
                .contains("c2's piece 2 of 3 checks out: any 2 pieces restore alice's share"),
            "{}",
            text(&out.stdout)
        );
    }
    let wrong = verify(&sealed.join("c2.piece"), "not it");
    assert!(!wrong.status.success());
    assert!(
        text(&wrong.stderr).contains("passphrase is wrong"),
        "{}",
        text(&wrong.stderr)
    );
    // A typo in a printed piece is named by its line.
    let typed = std::fs::read_to_string(printed.join("c2.piece.txt")).unwrap();
    let line = typed.lines().position(|l| l.starts_with("02: ")).unwrap();
    let mut lines: Vec<String> = typed.lines().map(str::to_string).collect();
    let digit = if lines[line].as_bytes()[4] == b'a' {
        "b"
    } else {
        "a"
    };
    lines[line].replace_range(4..5, digit);
    let typo_path = dir.path().join("typo.txt");
    std::fs::write(&typo_path, lines.join("\n")).unwrap();
    let out = verify(&typo_path, "");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains(&format!(
            "line {}: data line 2's checksum does not match",
            line + 1
        )),
        "{}",
        text(&out.stderr)
    );
    d.stop().await.unwrap();
}
