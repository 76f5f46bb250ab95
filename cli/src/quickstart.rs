//! `quorate quickstart --dir DIR`: a whole deployment on loopback, from key
//! generation to a signature a consumer checks with openssl. With
//! `--keep-running`, the deployment then stays up, with one more request
//! pending, for a newcomer to decide on from the agents' pages.

use std::path::Path;
use std::time::{Duration, Instant};

use quorate_formats::manifest::sha256sums_line;
use quorate_formats::pem::ed25519_public_key_pem;
use quorate_types::{ParticipantId, Roster};
use quorate_wire::{self as proto, CeremonyState};

use crate::local::{AUDITOR, LocalDeployment, Options, REQUESTER, sample_roster};

const STEP_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn run(dir: &Path, keep_running: bool) -> anyhow::Result<()> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        anyhow::bail!(
            "{} is not empty; give quickstart a new or empty directory",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir)?;
    let started = Instant::now();
    let step = |text: &str| println!("[{:>6.3}s] {text}", started.elapsed().as_secs_f64());

    let roster = sample_roster(None);
    std::fs::write(dir.join("roster.toml"), roster.to_toml())?;
    step(
        "roster: alice, bob (engineering), carol, dave (security), erin (release); threshold 3 of 5",
    );
    let options = Options {
        dkg: true,
        agent_witnesses: true,
        signed_requests: true,
        pages: true,
        ..Options::default()
    };
    let deployment = LocalDeployment::start_with(dir, "quickstart", &roster, 3, options).await?;
    step(&format!(
        "coordinator on {} (mutual TLS: a throwaway CA in tls/ issued every party's certificate) with its store in {}",
        deployment.url(),
        deployment.coordinator_config.data_dir.display()
    ));
    step(&format!(
        "the 5 agents made key group `quickstart` by DKG through the coordinator (key ceremony {}): \
         each made its own identity key, joined, and sealed its round-2 packages to each other agent; \
         no machine ever held the group key. Group key {}",
        deployment
            .key_ceremony
            .as_ref()
            .map(|k| k.as_str())
            .unwrap_or_default(),
        deployment.group.group_key,
    ));
    step(&format!(
        "started the 5 agents; each holds only its own share, sealed with its passphrase, in {}",
        dir.join("agents").join("<id>").display()
    ));
    step(
        "each agent is also a witness of the coordinator's record (C2SP tlog-witness): it cosigns \
         a checkpoint only if it extends the last one it cosigned; the key group's policy requires \
         3 of the 5 agents' cosignatures before any share is released; their keys are in \
         witnesses.vkeys",
    );

    step(&format!(
        "each agent serves its approver's page on loopback; the login links:\n{}\n           \
         and the coordinator serves the auditors' page at {} (to client certificates of tls/ca.crt)",
        page_links(&deployment)?,
        deployment.page_url().unwrap_or_default()
    ));

    let mut deployment = deployment;
    let result = async {
        let id = ceremony(dir, &deployment, &roster, &step).await?;
        refresh(dir, &mut deployment, &step).await?;
        if keep_running {
            stay_up(&deployment, &step).await?;
        }
        Ok::<_, anyhow::Error>(id)
    }
    .await;
    deployment.stop().await?;
    let id = result?;
    step("stopped the coordinator and the agents");
    audit(dir, &id, &step)?;
    println!();
    for (intro, sig) in [
        (
            "A consumer checks the release manifest with stock openssl:",
            "SHA256SUMS.sig",
        ),
        (
            "and the signature made after bob was removed, under the same key:",
            "SHA256SUMS.refreshed.sig",
        ),
    ] {
        println!("{intro}");
        println!(
            "  openssl pkeyutl -verify -pubin -inkey {} -rawin -in {} -sigfile {}",
            dir.join("group.pub.pem").display(),
            dir.join("SHA256SUMS").display(),
            dir.join(sig).display()
        );
    }
    println!("An auditor replays the ceremony offline, with only the log's and witnesses' keys:");
    println!(
        "  quorate audit replay {} --log-key {} --witness-keys {} --witness-quorum 3",
        dir.join("ceremony.transcript").display(),
        dir.join("log.vkey").display(),
        dir.join(crate::local::witnesses::VKEYS_FILE).display()
    );
    Ok(())
}

/// Each running agent's page login link, one line each.
fn page_links(deployment: &LocalDeployment) -> anyhow::Result<String> {
    let mut lines = Vec::new();
    for id in deployment.agents.keys() {
        lines.push(format!(
            "           {:<6} {}",
            id.as_str(),
            deployment.page_login(id)?
        ));
    }
    Ok(lines.join("\n"))
}

/// The release manager's signed request for a signature over `manifest`.
async fn request_signature(
    deployment: &LocalDeployment,
    manifest: String,
) -> anyhow::Result<proto::CeremonyStatus> {
    let mut request = proto::CreateCeremonyRequest {
        key_group: "quickstart".into(),
        message: manifest.into_bytes(),
        label: "SHA256SUMS".into(),
        ..Default::default()
    };
    deployment.sign_request(REQUESTER, &mut request)?;
    let mut clients = deployment.clients(REQUESTER).await?;
    Ok(clients.ceremonies.create(request).await?.into_inner())
}

/// With `--keep-running`: one more request, left pending, and the pages'
/// links; then waits for Ctrl-C.
async fn stay_up(deployment: &LocalDeployment, step: &impl Fn(&str)) -> anyhow::Result<()> {
    let manifest = sha256sums_line("quorate-0.2.0-x86_64-linux.tar.gz", b"quorate 0.2.0");
    let id = request_signature(deployment, manifest).await?.id;
    step(&format!(
        "--keep-running: ceremony {id} (quorate 0.2.0) waits for 3 approvals. Open an approver's \
         page to read and decide on it (the agents restarted with their new shares, so the links \
         are new):\n{}\n           The coordinator's page for auditors and release managers is at {} \
         and asks for a client certificate: import one into your browser, e.g. the auditor's, \
         made with `openssl pkcs12 -export -in {dir}/tls/auditor.crt -inkey \
         {dir}/tls/auditor.key -out auditor.p12`, and trust {dir}/tls/ca.crt for websites.\n\
         \x20          The deployment stays up until Ctrl-C.",
        page_links(deployment)?,
        deployment.page_url().unwrap_or_default(),
        dir = deployment.dir.display(),
    ));
    tokio::signal::ctrl_c().await?;
    step("Ctrl-C: stopping");
    Ok(())
}

/// bob leaves: the others refresh their shares without him, and sign the
/// manifest again under the same group key.
async fn refresh(
    dir: &Path,
    deployment: &mut LocalDeployment,
    step: &impl Fn(&str),
) -> anyhow::Result<()> {
    let bob = ParticipantId::new("bob")?;
    let key = deployment.refresh(std::slice::from_ref(&bob)).await?;
    step(&format!(
        "bob left: alice, carol, dave and erin refreshed their shares without him (key ceremony {key}); \
         his old share no longer combines with theirs, and the group key is unchanged ({}…)",
        &deployment.group.group_key[..16]
    ));
    let mut auditor = deployment.clients(AUDITOR).await?;
    witnessed(dir, &mut auditor.audit).await?;
    let transcript = crate::audit::export_key(&mut auditor.audit, &key).await?;
    std::fs::write(
        dir.join("refresh.transcript"),
        serde_json::to_vec_pretty(&transcript)?,
    )?;
    let manifest = std::fs::read(dir.join("SHA256SUMS"))?;
    let mut request = proto::CreateCeremonyRequest {
        key_group: "quickstart".into(),
        message: manifest,
        label: "SHA256SUMS".into(),
        ..Default::default()
    };
    deployment.sign_request(REQUESTER, &mut request)?;
    let mut clients = deployment.clients(REQUESTER).await?;
    let id = clients.ceremonies.create(request).await?.into_inner().id;
    for approver in ["alice", "carol", "erin"] {
        deployment
            .approve(&ParticipantId::new(approver)?, &id, STEP_TIMEOUT)
            .await?;
    }
    let status = signed(deployment, &id).await?;
    std::fs::write(dir.join("SHA256SUMS.refreshed.sig"), &status.signature)?;
    step(&format!(
        "alice, carol and erin approved ceremony {id} with their new shares: wrote SHA256SUMS.refreshed.sig \
         and refresh.transcript"
    ));
    Ok(())
}

/// Waits until a quorum of the witnesses (witnesses.vkeys) has cosigned
/// the record as it is now.
async fn witnessed(dir: &Path, audit: &mut crate::client::Audit) -> anyhow::Result<()> {
    let witnesses = quorum_of_witnesses(dir)?;
    let (latest, _) = crate::audit::checkpoints(audit).await?;
    let size = crate::audit::witnesses::size_of(&latest)
        .ok_or_else(|| anyhow::anyhow!("the coordinator's checkpoint does not parse"))?;
    let started = Instant::now();
    loop {
        let note = crate::audit::wait_cosigned(audit, size, STEP_TIMEOUT).await?;
        if witnesses.check(&note).is_ok() {
            return Ok(());
        }
        if started.elapsed() > STEP_TIMEOUT {
            witnesses.check(&note)?;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The quickstart's witnesses: its agents, 3 of which must cosign.
fn quorum_of_witnesses(dir: &Path) -> anyhow::Result<crate::audit::Witnesses> {
    crate::audit::WitnessArgs {
        witness_keys: Some(dir.join(crate::local::witnesses::VKEYS_FILE)),
        witness_quorum: Some(3),
    }
    .load()?
    .ok_or_else(|| anyhow::anyhow!("no witness keys"))
}

/// The auditor's part, offline: nothing is running any more.
fn audit(dir: &Path, id: &str, step: &impl Fn(&str)) -> anyhow::Result<()> {
    let log = crate::audit::log_verifier(&dir.join("log.vkey").display().to_string())?;
    let witnesses = quorum_of_witnesses(dir)?;
    for transcript in [
        "ceremony.transcript",
        "key-ceremony.transcript",
        "refresh.transcript",
    ] {
        let text = std::fs::read_to_string(dir.join(transcript))?;
        let checkpoint: serde_json::Value = serde_json::from_str(&text)?;
        let note = checkpoint["checkpoint"].as_str().unwrap_or_default();
        witnesses
            .check(note)
            .map_err(|e| anyhow::anyhow!("{transcript}: {e}"))?;
    }
    step(
        "each transcript's checkpoint carries the cosignatures of at least 3 of the 5 agents' witnesses (witnesses.vkeys)",
    );
    let key = crate::audit::replay_key_file(&dir.join("key-ceremony.transcript"), &log)?;
    step(&format!(
        "replayed key-ceremony.transcript offline: {} agents' signed messages and proofs; \
         group key and {} verifying shares recomputed from the commitments ({})",
        key.joined.len(),
        key.verifying_shares,
        key.outcome
    ));
    let refresh = crate::audit::replay_key_file(&dir.join("refresh.transcript"), &log)?;
    if refresh.group_key != key.group_key {
        anyhow::bail!("the refresh registered another group key");
    }
    step(&format!(
        "replayed refresh.transcript offline: the same group key, {} new verifying shares ({})",
        refresh.verifying_shares, refresh.outcome
    ));
    let report = crate::audit::replay_file(&dir.join("ceremony.transcript"), &log)?;
    if let Some(first) = report.first_finding() {
        print!("{report}");
        anyhow::bail!("the replay of ceremony {id} found a discrepancy at {first}");
    }
    step(&format!(
        "replayed ceremony.transcript offline: checkpoint signature, {} inclusion proofs, \
         every signed approval, the policy, each share and the signature check out ({})",
        report.steps.len() + 2,
        report.state
    ));
    Ok(())
}

async fn ceremony(
    dir: &Path,
    deployment: &LocalDeployment,
    roster: &Roster,
    step: &impl Fn(&str),
) -> anyhow::Result<String> {
    let artifacts = dir.join("artifacts");
    std::fs::create_dir_all(&artifacts)?;
    let mut manifest = String::new();
    for (name, size) in [
        ("quorate-0.1.0-x86_64-linux.tar.gz", 4096),
        ("quorate-0.1.0-aarch64-linux.tar.gz", 3072),
        ("quorate-0.1.0.sbom.json", 512),
    ] {
        let bytes: Vec<u8> = (0..size)
            .map(|i| (i * 31 % 251) as u8 ^ name.len() as u8)
            .collect();
        std::fs::write(artifacts.join(name), &bytes)?;
        manifest.push_str(&sha256sums_line(name, &bytes));
    }
    std::fs::write(dir.join("SHA256SUMS"), &manifest)?;
    step("wrote 3 sample artifacts and their SHA256SUMS manifest");

    let status = request_signature(deployment, manifest).await?;
    let id = status.id.clone();
    step(&format!(
        "{REQUESTER} requested ceremony {id} over SHA256SUMS, signed with its identity key \
         (the policy's requester_keys); each agent checked that signature before showing it"
    ));

    for approver in ["alice", "carol", "erin"] {
        let pid = ParticipantId::new(approver)?;
        let role = roster
            .get(&pid)
            .map(|p| p.role.as_str())
            .unwrap_or_default();
        let review = deployment.approve(&pid, &id, STEP_TIMEOUT).await?;
        let c = review.ceremony.unwrap_or_default();
        step(&format!(
            "{approver} ({role}) reviewed {} artifact(s), message SHA-256 {}…, and approved: {}",
            review.artifacts.len(),
            &hex::encode(&c.message_sha256)[..16],
            c.summary
        ));
    }
    let status = signed(deployment, &id).await?;
    step(&format!(
        "agents ran FROST round 2; the coordinator aggregated and verified the signature (signers: {})",
        status
            .approvals
            .iter()
            .map(|a| a.participant.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));

    let key: [u8; 32] = hex::decode(&deployment.group.group_key)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("group key is not 32 bytes"))?;
    std::fs::write(dir.join("SHA256SUMS.sig"), &status.signature)?;
    std::fs::write(dir.join("group.pub.pem"), ed25519_public_key_pem(&key))?;
    step("wrote group.pub.pem (PEM SubjectPublicKeyInfo) and SHA256SUMS.sig (raw 64-byte Ed25519)");

    let ceremony_id = quorate_types::CeremonyId::new(&id)?;
    let mut auditor = deployment.clients(AUDITOR).await?;
    witnessed(dir, &mut auditor.audit).await?;
    let transcript = crate::audit::export(&mut auditor.audit, &ceremony_id).await?;
    crate::audit::save_transcript(&transcript, &dir.join("ceremony.transcript"))?;
    std::fs::write(dir.join("checkpoint"), &transcript.checkpoint)?;
    std::fs::write(
        dir.join("log.vkey"),
        format!("{}\n", deployment.log_verifier_key),
    )?;
    let key_ceremony = deployment
        .key_ceremony
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the quickstart's key group was not made by DKG"))?;
    let key_transcript = crate::audit::export_key(&mut auditor.audit, key_ceremony).await?;
    std::fs::write(
        dir.join("key-ceremony.transcript"),
        serde_json::to_vec_pretty(&key_transcript)?,
    )?;
    step(&format!(
        "exported ceremony.transcript ({} record entries with inclusion proofs), key-ceremony.transcript ({}), \
         the checkpoint the witnesses cosigned, and log.vkey",
        transcript.entries.len(),
        key_transcript.entries.len()
    ));
    Ok(id)
}

/// Waits for ceremony `id` to end signed.
async fn signed(deployment: &LocalDeployment, id: &str) -> anyhow::Result<proto::CeremonyStatus> {
    let status = deployment.wait_finished(id, STEP_TIMEOUT).await?;
    if status.state() != CeremonyState::Signed {
        anyhow::bail!(
            "ceremony {id} ended {:?}: {}",
            status.state(),
            status.summary
        );
    }
    Ok(status)
}
