//! Witnesses over real HTTP on loopback: a `quorate witness` process
//! killed with SIGKILL and started again, in-process witnesses across a
//! coordinator restart, and a forked record that no witness will cosign.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use quorate::client::{Clients, Target};
use quorate::local::{AUDITOR, LocalDeployment, Options, REQUESTER, sample_roster};
use quorate_coordinator::witnessing::WitnessConfig;
use quorate_tlog::{LogVerifier, WitnessVerifier, verify_cosignatures};

const T: Duration = Duration::from_secs(30);

/// The latest checkpoint and the latest cosigned one of the coordinator at
/// `url`, as an auditor reads them.
async fn checkpoints(d: &LocalDeployment, url: &str) -> (String, String) {
    let mut clients = Clients::connect(&Target {
        url: url.to_owned(),
        ..d.target(AUDITOR).unwrap()
    })
    .await
    .unwrap();
    let reply = clients
        .audit
        .checkpoint(quorate_wire::CheckpointRequest {})
        .await
        .unwrap()
        .into_inner();
    (reply.note, reply.cosigned_note)
}

fn size_of(note: &str) -> u64 {
    note.lines().nth(1).unwrap().parse().unwrap()
}

/// Waits until the cosigned checkpoint is of the latest tree and carries
/// a valid cosignature from each of `witnesses`; returns it.
async fn wait_cosigned(d: &LocalDeployment, url: &str, witnesses: &[WitnessVerifier]) -> String {
    let log = LogVerifier::parse(&d.log_verifier_key).unwrap();
    let start = Instant::now();
    loop {
        let (note, cosigned) = checkpoints(d, url).await;
        if !cosigned.is_empty() && size_of(&cosigned) == size_of(&note) {
            log.verify_checkpoint(&cosigned).unwrap();
            let found = verify_cosignatures(&cosigned, witnesses).unwrap();
            if found.len() == witnesses.len() {
                return cosigned;
            }
        }
        assert!(
            start.elapsed() < T,
            "not cosigned in time: {note:?} {cosigned:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asks for a signature over `n`, which adds an entry to the record.
async fn grow(d: &LocalDeployment, url: &str, n: u64) {
    let mut clients = Clients::connect(&Target {
        url: url.to_owned(),
        ..d.target(REQUESTER).unwrap()
    })
    .await
    .unwrap();
    clients
        .ceremonies
        .create(quorate_wire::CreateCeremonyRequest {
            key_group: "release".into(),
            message: format!("{n}  quorate-{n}.tar.gz\n").into_bytes(),
            label: format!("v{n}"),
            ..Default::default()
        })
        .await
        .unwrap();
}

/// A `quorate witness serve` process, killed when dropped.
struct WitnessProcess(Child);

impl WitnessProcess {
    /// Starts it and returns it with its add-checkpoint URL.
    fn start(dir: &Path, listen: &str, log_vkey: &str) -> (Self, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_quorate"))
            .args(["witness", "serve", "--dir"])
            .arg(dir)
            .args(["--listen", listen, "--log", log_vkey])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().rsplit(' ').next().unwrap().to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{line:?}");
        (WitnessProcess(child), url)
    }

    fn kill(mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_witness_process_cosigns_the_record_and_catches_up_after_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = LocalDeployment::start(dir.path(), "release", &sample_roster(None), 3)
        .await
        .unwrap();
    let witness_dir = dir.path().join("witness");
    let init = Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args(["witness", "init", "--dir"])
        .arg(&witness_dir)
        .args(["--name", "witness.test/process"])
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    let vkey = String::from_utf8(init.stdout).unwrap().trim().to_owned();
    assert_eq!(
        std::fs::read_to_string(witness_dir.join("witness.vkey"))
            .unwrap()
            .trim(),
        vkey
    );
    let verifier = WitnessVerifier::parse(&vkey).unwrap();

    let (witness, url) = WitnessProcess::start(&witness_dir, "127.0.0.1:0", &d.log_verifier_key);
    d.stop_coordinator().await.unwrap();
    d.coordinator_config.witnesses = vec![WitnessConfig {
        url: url.clone(),
        vkey: vkey.clone(),
    }];
    d.start_coordinator().await.unwrap();
    let coordinator = d.url();
    grow(&d, &coordinator, 1).await;
    grow(&d, &coordinator, 2).await;
    let first = wait_cosigned(&d, &coordinator, std::slice::from_ref(&verifier)).await;

    // SIGKILL the witness; the record grows without it.
    witness.kill();
    grow(&d, &coordinator, 3).await;
    let (note, cosigned) = checkpoints(&d, &coordinator).await;
    assert!(size_of(&note) > size_of(&first));
    assert_eq!(
        size_of(&cosigned),
        size_of(&first),
        "nobody could cosign the new tree"
    );

    // Started again on its port, from its state on disk, it catches up.
    let listen = url
        .trim_start_matches("http://")
        .trim_end_matches("/add-checkpoint")
        .to_owned();
    let (_witness, again) = WitnessProcess::start(&witness_dir, &listen, &d.log_verifier_key);
    assert_eq!(again, url);
    let caught_up = wait_cosigned(&d, &coordinator, std::slice::from_ref(&verifier)).await;
    assert!(size_of(&caught_up) > size_of(&first));
    d.stop().await.unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The split view the witnesses exist to stop: a second coordinator with
/// the same log key and a copy of the record, grown apart. Its checkpoints
/// are signed by the log key, but no witness cosigns them, while the
/// honest coordinator's go on being cosigned, across its own restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn witnesses_cosign_one_history_and_refuse_a_fork() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        witnesses: 2,
        ..Default::default()
    };
    let mut d =
        LocalDeployment::start_with(dir.path(), "release", &sample_roster(None), 3, options)
            .await
            .unwrap();
    let vkeys = std::fs::read_to_string(dir.path().join("witnesses.vkeys")).unwrap();
    let witnesses: Vec<WitnessVerifier> = vkeys
        .lines()
        .map(|l| WitnessVerifier::parse(l).unwrap())
        .collect();
    assert_eq!(witnesses.len(), 2);
    let honest = d.url();
    grow(&d, &honest, 1).await;
    wait_cosigned(&d, &honest, &witnesses).await;

    // Copy the record as it is, then let the honest log grow.
    d.stop_coordinator().await.unwrap();
    let fork_dir = dir.path().join("fork");
    copy_dir(&d.coordinator_config.data_dir, &fork_dir);
    // A restart forgets what each witness last cosigned; they say (409).
    d.start_coordinator().await.unwrap();
    grow(&d, &honest, 2).await;
    grow(&d, &honest, 3).await;
    let before_fork = wait_cosigned(&d, &honest, &witnesses).await;

    let fork = quorate_coordinator::start(&quorate_coordinator::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: fork_dir,
        metrics_listen: None,
        page_listen: None,
        ..d.coordinator_config.clone()
    })
    .await
    .unwrap();
    assert_eq!(fork.log_verifier_key, d.log_verifier_key);
    let forked = format!("https://{}", fork.addr);
    // First a shorter fork (the witnesses hold a larger tree: 409), then
    // a longer one (no consistency proof from what they cosigned: 422).
    for n in 10..16 {
        grow(&d, &forked, n).await;
    }
    let (fork_note, _) = checkpoints(&d, &forked).await;
    assert!(size_of(&fork_note) > size_of(&before_fork));
    // Give the fork's witnessing a few rounds.
    let start = Instant::now();
    let mut evidence = 0;
    while start.elapsed() < T && evidence < 2 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        evidence = (1..=2)
            .map(|i| {
                std::fs::read_dir(dir.path().join(format!("witnesses/w{i}/evidence")))
                    .unwrap()
                    .count()
            })
            .filter(|&n| n > 0)
            .count();
    }
    assert_eq!(
        evidence, 2,
        "each witness keeps the fork's checkpoint as evidence"
    );
    let (_, fork_cosigned) = checkpoints(&d, &forked).await;
    assert_eq!(fork_cosigned, "", "no witness cosigned the fork");
    fork.stop().await.unwrap();

    // The honest log is still cosigned as it grows.
    grow(&d, &honest, 4).await;
    let after = wait_cosigned(&d, &honest, &witnesses).await;
    assert!(size_of(&after) > size_of(&before_fork));
    d.stop().await.unwrap();
}
