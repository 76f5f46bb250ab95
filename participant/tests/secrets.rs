//! The agent's sealed key files: it opens them with the passphrase it is
//! handed (never one from its configuration file), names a wrong or missing
//! passphrase, refuses files others may read, and forgets the passphrase
//! once the files are open.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use frost_ed25519::keys::{IdentifierList, KeyPackage};
use quorate_participant::{Agent, AgentConfig};
use quorate_secrets::GroupFileIo;
use quorate_secrets::keyfile::KeyShareFile;
use quorate_secrets::sealed::KdfParams;
use quorate_secrets::{IdentityKey, Passphrase};
use quorate_types::KeyGroupFile;
use quorate_types::{KeyGroupName, ParticipantId, Policy, Roster, RosterEntry};
use rand_core::OsRng;

const PASSPHRASE: &str = "alice's own passphrase";

fn pid(s: &str) -> ParticipantId {
    ParticipantId::new(s).unwrap()
}

fn pass(s: &str) -> Passphrase {
    Passphrase::new(s.to_string().into())
}

/// Deals a 2-of-2 group of alice and bob into `dir` and returns alice's
/// configuration, without a passphrase.
fn alice(dir: &Path) -> AgentConfig {
    let ids = [pid("alice"), pid("bob")];
    let (shares, public) = frost_ed25519::keys::generate_with_dealer(
        2,
        2,
        IdentifierList::Custom(&ids.iter().map(|i| i.identifier()).collect::<Vec<_>>()),
        OsRng,
    )
    .unwrap();
    let keys: Vec<_> = ids
        .iter()
        .map(|id| IdentityKey::generate(id.clone(), &mut OsRng))
        .collect();
    let roster = Roster {
        participants: ids
            .iter()
            .zip(&keys)
            .map(|(id, key)| RosterEntry {
                id: id.clone(),
                name: id.to_string(),
                role: "engineering".into(),
                coordinator: None,
                identity: Some(key.public()),
            })
            .collect(),
    };
    let name = KeyGroupName::new("release").unwrap();
    KeyGroupFile::new(name.clone(), 2, &public, roster, Policy::default())
        .unwrap()
        .save(&dir.join("group.json"))
        .unwrap();
    let package = KeyPackage::try_from(shares[&ids[0].identifier()].clone()).unwrap();
    let cheap = KdfParams::for_random_passphrase();
    KeyShareFile::new(name, ids[0].clone(), &package)
        .unwrap()
        .save(&dir.join("alice.share.json"), &pass(PASSPHRASE), &cheap)
        .unwrap();
    keys[0]
        .save(&dir.join("alice.identity.json"), &pass(PASSPHRASE), &cheap)
        .unwrap();
    AgentConfig {
        id: ids[0].clone(),
        coordinator: "http://127.0.0.1:1".into(),
        tls: None,
        key_share: dir.join("alice.share.json"),
        identity_key: dir.join("alice.identity.json"),
        passphrase: None,
        key_group: dir.join("group.json"),
        state_dir: dir.join("state"),
        socket: None,
        auto_approve: false,
        network: Default::default(),
        page: None,
        alert_webhook_ca: None,
        witnesses: Vec::new(),
        witness_quorum: None,
        witness_listen: None,
        alert_command: None,
        alert_webhook: None,
        log_key: Some(
            quorate_tlog::LogKey::generate(&mut rand_core::OsRng, "test.localhost/log")
                .unwrap()
                .verifier_key(),
        ),
    }
}

fn open_error(config: AgentConfig) -> String {
    match Agent::open(config) {
        Ok(_) => panic!("the agent opened"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn the_agent_opens_its_files_and_forgets_the_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = alice(dir.path());
    config.passphrase = Some(pass(PASSPHRASE));
    let agent = Agent::open(config).unwrap();
    assert!(agent.config.passphrase.is_none());
}

#[test]
fn an_agent_without_the_log_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = alice(dir.path());
    config.passphrase = Some(pass(PASSPHRASE));
    config.log_key = None;
    let why = open_error(config);
    assert!(why.contains("log_key is missing"), "{why}");
}

#[test]
fn a_wrong_or_missing_passphrase_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = alice(dir.path());
    let e = open_error(config.clone());
    assert!(e.contains("no passphrase to open"), "{e}");
    assert!(e.contains("QUORATE_PASSPHRASE"), "{e}");

    let e = open_error(AgentConfig {
        passphrase: Some(pass("not it")),
        ..config
    });
    assert!(e.contains("alice.share.json"), "{e}");
    assert!(e.contains("the passphrase is wrong"), "{e}");
}

#[test]
fn an_https_alert_webhook_without_its_ca_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let e = open_error(AgentConfig {
        passphrase: Some(pass(PASSPHRASE)),
        alert_webhook: Some("https://alerts.example/quorate".into()),
        ..alice(dir.path())
    });
    assert!(e.contains("alert_webhook"), "{e}");
    assert!(
        e.contains("is https://: give the CA file") && e.contains("alert_webhook_ca"),
        "{e}"
    );
}

#[cfg(unix)]
#[test]
fn a_share_or_identity_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let config = AgentConfig {
        passphrase: Some(pass(PASSPHRASE)),
        ..alice(dir.path())
    };
    for file in [&config.key_share, &config.identity_key] {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = open_error(config.clone());
        assert!(
            e.contains(&format!(
                "refusing to load {}: it is readable by others (mode 0644); chmod 600 it",
                file.display()
            )),
            "{e}"
        );
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

#[test]
fn the_configuration_file_cannot_carry_a_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.toml");
    std::fs::write(
        &path,
        "id = \"alice\"\ncoordinator = \"http://127.0.0.1:1\"\nkey_share = \"s\"\n\
         identity_key = \"i\"\nkey_group = \"g\"\nstate_dir = \"d\"\npassphrase = \"hunter2\"\n",
    )
    .unwrap();
    let e = AgentConfig::load(&path).unwrap_err().to_string();
    assert!(e.contains("passphrase"), "{e}");

    let config = AgentConfig {
        passphrase: Some(pass("hunter2")),
        ..alice(dir.path())
    };
    assert!(!format!("{config:?}").contains("hunter2"));
    assert!(!toml::to_string(&config).unwrap().contains("hunter2"));
}

/// `quorate-participant run` as an approver starts it, with `passphrase`
/// handed over as `how`: the running process once it listens on its
/// control socket, or what it printed if it exited.
fn spawn_agent(dir: &Path, how: &str, passphrase: &str) -> Result<std::process::Child, String> {
    let mut config = alice(dir);
    config.socket = Some(dir.join("agent.sock"));
    std::fs::write(dir.join("agent.toml"), toml::to_string(&config).unwrap()).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_quorate-participant"));
    command
        .arg("--config")
        .arg(dir.join("agent.toml"))
        .arg("run")
        .env_remove("QUORATE_PASSPHRASE")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    match how {
        "fd" => {
            command.args(["--passphrase-fd", "0"]);
        }
        _ => {
            command.env("QUORATE_PASSPHRASE", passphrase);
        }
    }
    let mut child = command.spawn().unwrap();
    if how == "fd" {
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{passphrase}").unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(_status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return Err(err);
        }
        if dir.join("agent.sock").exists() {
            return Ok(child);
        }
        assert!(
            Instant::now() < deadline,
            "the agent neither ran nor failed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// As [`spawn_agent`], killing the agent once it is up: `None` if it came
/// up, else what it printed.
fn run_agent(dir: &Path, how: &str, passphrase: &str) -> Option<String> {
    match spawn_agent(dir, how, passphrase) {
        Ok(mut child) => {
            child.kill().unwrap();
            child.wait().unwrap();
            None
        }
        Err(printed) => Some(printed),
    }
}

#[test]
fn sigterm_stops_the_agent_cleanly_and_releases_its_journal() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_agent(dir.path(), "env", PASSPHRASE).expect("the agent runs");
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the agent did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    // Its journal is closed: another agent opens it at once.
    quorate_participant::journal::Journal::open(&dir.path().join("state")).unwrap();
}

#[test]
fn the_agent_binary_reads_its_passphrase_from_a_descriptor_or_the_environment() {
    for how in ["fd", "env"] {
        let dir = tempfile::tempdir().unwrap();
        let out = run_agent(dir.path(), how, PASSPHRASE);
        assert!(out.is_none(), "{how}: {out:?}");

        let dir = tempfile::tempdir().unwrap();
        let err = run_agent(dir.path(), how, "not it").expect("the agent ran");
        assert!(err.contains("the passphrase is wrong"), "{how}: {err}");
        assert!(!err.contains("not it"), "{how}: {err}");
    }
}

#[test]
fn the_witness_key_is_sealed_and_one_kept_in_the_clear_is_sealed_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = AgentConfig {
        witness_listen: Some("127.0.0.1:0".parse().unwrap()),
        ..alice(dir.path())
    };
    let witness_dir = config.witness_dir();
    // As an earlier release kept it: in the clear.
    let clear = quorate_witness::key_file::create(&witness_dir, "alice.agent.quorate").unwrap();
    let key = quorate_participant::witness::key(&config, &pass(PASSPHRASE)).unwrap();
    assert_eq!(key.verifier_key(), clear.verifier_key());
    assert!(
        !witness_dir
            .join(quorate_witness::key_file::FILE_NAME)
            .exists()
    );
    let sealed = witness_dir.join(quorate_witness::key_file::SEALED_FILE_NAME);
    assert!(sealed.exists());
    // From now on it opens only with the agent's passphrase.
    let again = quorate_participant::witness::key(&config, &pass(PASSPHRASE)).unwrap();
    assert_eq!(again.verifier_key(), clear.verifier_key());
    let e = quorate_participant::witness::key(&config, &pass("not it")).unwrap_err();
    assert!(e.to_string().contains("passphrase is wrong"), "{e}");
    // A clear key beside the sealed one is refused, not silently kept.
    std::fs::write(
        witness_dir.join(quorate_witness::key_file::FILE_NAME),
        b"{}",
    )
    .unwrap();
    let e = quorate_participant::witness::key(&config, &pass(PASSPHRASE)).unwrap_err();
    assert!(
        e.to_string().contains("both sealed and in the clear"),
        "{e}"
    );
}

/// `quorate-participant --config DIR/agent.toml args`, with the agent's
/// passphrase and the custodians' in the environment.
fn participant(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_quorate-participant"))
        .arg("--config")
        .arg(dir.join("agent.toml"))
        .args(args)
        .env("QUORATE_PASSPHRASE", PASSPHRASE)
        .env("QUORATE_CUSTODIAN_PASSPHRASE", "the custodians' passphrase")
        .output()
        .unwrap()
}

#[test]
fn the_backup_and_restore_commands_bring_a_lost_share_back() {
    let dir = tempfile::tempdir().unwrap();
    let config = alice(dir.path());
    std::fs::write(
        dir.path().join("agent.toml"),
        toml::to_string(&config).unwrap(),
    )
    .unwrap();
    let out = dir.path().join("backup");
    let out_arg = out.display().to_string();
    let mut args = vec!["backup", "--threshold", "2", "--out", &out_arg];
    for c in ["c1", "c2", "c3"] {
        args.extend(["--custodian", c]);
    }
    let made = participant(dir.path(), &args);
    let said = String::from_utf8_lossy(&made.stdout).into_owned();
    assert!(
        said.contains("as 3 pieces, any 2 of which restore it"),
        "{said}"
    );
    // No coordinator listens here: the backup is made, and the command
    // says how to have the record note it later.
    let err = String::from_utf8_lossy(&made.stderr).into_owned();
    assert!(!made.status.success());
    assert!(
        err.contains("the backup is made, but the record does not note it yet"),
        "{err}"
    );
    assert!(err.contains("note-backup"), "{err}");
    assert!(out.join("backup-note.json").exists());
    // Into a directory that holds a backup, never.
    let again = participant(dir.path(), &args);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));

    let share = std::fs::read(&config.key_share).unwrap();
    let c1 = out.join("c1.piece").display().to_string();
    let c3 = out.join("c3.piece").display().to_string();
    // Not over a share that is there.
    let over = participant(dir.path(), &["restore", "--piece", &c1, "--piece", &c3]);
    assert!(String::from_utf8_lossy(&over.stderr).contains("never over one"));
    std::fs::remove_file(&config.key_share).unwrap();
    // One piece is too few.
    let one = participant(dir.path(), &["restore", "--piece", &c1]);
    assert!(
        String::from_utf8_lossy(&one.stderr)
            .contains("1 distinct piece(s) given; this backup needs 2"),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    let restored = participant(dir.path(), &["restore", "--piece", &c1, "--piece", &c3]);
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert_ne!(std::fs::read(&config.key_share).unwrap(), share);
    // The agent opens the restored share.
    Agent::open(AgentConfig {
        passphrase: Some(pass(PASSPHRASE)),
        ..config
    })
    .unwrap();
}
