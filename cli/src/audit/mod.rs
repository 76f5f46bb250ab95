//! The auditor's commands: export a ceremony's transcript from the
//! coordinator, replay a transcript offline, and check that two checkpoints
//! belong to one unforked log.

use std::path::Path;

use quorate_ceremonies::key::history::{
    HISTORY_FORMAT, HISTORY_FORMAT_V1, HistoryReplayed, KeyGroupHistory,
};
use quorate_ceremonies::key::transcript::{KEY_TRANSCRIPT_FORMAT, KeyTranscript};
use quorate_ceremonies::replay::{self, Report, TRANSCRIPT_FORMAT, Transcript, TranscriptEntry};
use quorate_tlog::{Checkpoint, ConsistencyProof, Hash, LogVerifier};
use quorate_types::{CeremonyId, KeyCeremonyId, KeyGroupName};
use quorate_wire as proto;

use crate::client::Audit;

mod command;
pub mod witnesses;
pub use command::{AuditCommand, run};
pub use witnesses::{WitnessArgs, Witnesses};

/// Reads a verifier key given inline (`name+id+key`) or as a file holding it.
pub fn log_verifier(key_or_file: &str) -> anyhow::Result<LogVerifier> {
    let text = if Path::new(key_or_file).is_file() {
        std::fs::read_to_string(key_or_file)
            .map_err(|e| anyhow::anyhow!("cannot read the log key {key_or_file}: {e}"))?
    } else {
        key_or_file.to_string()
    };
    LogVerifier::parse(text.trim()).map_err(|e| {
        anyhow::anyhow!(
            "--log-key: {e}; give the log's verifier key (name+id+key) or a file holding it"
        )
    })
}

/// The latest signed checkpoint note.
pub async fn checkpoint(audit: &mut Audit) -> anyhow::Result<String> {
    Ok(checkpoints(audit).await?.0)
}

/// The latest signed checkpoint, and the latest one the coordinator's
/// witnesses cosigned (empty if none).
pub async fn checkpoints(audit: &mut Audit) -> anyhow::Result<(String, String)> {
    let reply = audit
        .checkpoint(proto::CheckpointRequest {})
        .await?
        .into_inner();
    Ok((reply.note, reply.cosigned_note))
}

/// Waits up to `within` for a cosigned checkpoint of at least `size`
/// entries, and returns it.
pub async fn wait_cosigned(
    audit: &mut Audit,
    size: u64,
    within: std::time::Duration,
) -> anyhow::Result<String> {
    let start = std::time::Instant::now();
    loop {
        let (_, cosigned) = checkpoints(audit).await?;
        if witnesses::size_of(&cosigned).is_some_and(|s| s >= size) {
            return Ok(cosigned);
        }
        if start.elapsed() > within {
            anyhow::bail!(
                "no checkpoint of {size} entries or more was cosigned within {within:?}: \
                 are the coordinator's witnesses running?"
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The checkpoint to prove `listed` against: the witnessed one if it holds
/// them all (so the transcript carries the cosignatures), else the latest.
async fn proving_checkpoint(
    audit: &mut Audit,
    listed: &[proto::LogEntry],
) -> anyhow::Result<String> {
    let (note, cosigned) = checkpoints(audit).await?;
    let needed = listed.iter().map(|e| e.index + 1).max().unwrap_or(0);
    Ok(match witnesses::size_of(&cosigned) {
        Some(size) if size >= needed => cosigned,
        _ => note,
    })
}

/// Gathers a ceremony's entries with an inclusion proof of each against the
/// latest checkpoint the witnesses cosigned if it holds them all (else the
/// latest). The coordinator is not trusted here: `replay` checks
/// everything.
pub async fn export(audit: &mut Audit, ceremony: &CeremonyId) -> anyhow::Result<Transcript> {
    let listed = all_pages(|from| {
        let (mut audit, ceremony) = (audit.clone(), ceremony.to_string());
        async move {
            audit
                .ceremony_entries(proto::CeremonyEntriesRequest { ceremony, from })
                .await
        }
    })
    .await?;
    let note = proving_checkpoint(audit, &listed).await?;
    let entries = prove_all(audit, &note, listed).await?;
    Ok(Transcript {
        format: TRANSCRIPT_FORMAT.into(),
        ceremony: ceremony.clone(),
        checkpoint: note,
        entries,
    })
}

/// As [`export`], for a key ceremony: its proposal, events and the
/// registration of the key group it made.
pub async fn export_key(
    audit: &mut Audit,
    ceremony: &KeyCeremonyId,
) -> anyhow::Result<KeyTranscript> {
    let listed = all_pages(|from| {
        let (mut audit, ceremony) = (audit.clone(), ceremony.to_string());
        async move {
            audit
                .key_ceremony_entries(proto::KeyCeremonyEntriesRequest { ceremony, from })
                .await
        }
    })
    .await?;
    let note = proving_checkpoint(audit, &listed).await?;
    let entries = prove_all(audit, &note, listed).await?;
    Ok(KeyTranscript {
        format: KEY_TRANSCRIPT_FORMAT.into(),
        ceremony: ceremony.clone(),
        checkpoint: note,
        entries,
    })
}

/// Each listed entry with its inclusion proof in the tree of `note`.
async fn prove_all(
    audit: &mut Audit,
    note: &str,
    listed: Vec<proto::LogEntry>,
) -> anyhow::Result<Vec<TranscriptEntry>> {
    let size = witnesses::unverified_checkpoint(note)
        .map_err(|e| anyhow::anyhow!("the coordinator's checkpoint: {e}"))?
        .size;
    let mut entries = Vec::with_capacity(listed.len());
    for proto::LogEntry { index, entry } in listed {
        let entry = String::from_utf8(entry)
            .map_err(|_| anyhow::anyhow!("entry {index} is not UTF-8 text"))?;
        let proof = proof_hashes(
            audit
                .inclusion_proof(proto::InclusionProofRequest {
                    index,
                    tree_size: size,
                })
                .await?
                .into_inner(),
        )?;
        entries.push(TranscriptEntry {
            index,
            entry,
            proof,
        });
    }
    Ok(entries)
}

fn proof_hashes(reply: proto::ProofReply) -> anyhow::Result<Vec<Hash>> {
    reply
        .hashes
        .into_iter()
        .map(|h| {
            Hash::from_slice(&h).ok_or_else(|| anyhow::anyhow!("a proof hash is not 32 bytes"))
        })
        .collect()
}

pub fn load_transcript(path: &Path) -> anyhow::Result<Transcript> {
    let bytes = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("cannot read transcript {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("{} is not a quorate transcript: {e}", path.display()))
}

pub fn save_transcript(transcript: &Transcript, path: &Path) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(transcript)?;
    std::fs::write(path, json).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

/// Replays a transcript file offline.
pub fn replay_file(path: &Path, log: &LogVerifier) -> anyhow::Result<Report> {
    Ok(replay::replay(&load_transcript(path)?, log))
}

/// Whether the file at `path` is a key ceremony's transcript (by its
/// `format`).
pub fn is_key_transcript(path: &Path) -> anyhow::Result<bool> {
    Ok(format_of(path)? == KEY_TRANSCRIPT_FORMAT)
}

/// Whether the file at `path` is a key group's history.
pub fn is_key_group_history(path: &Path) -> anyhow::Result<bool> {
    Ok(matches!(
        format_of(path)?.as_str(),
        HISTORY_FORMAT | HISTORY_FORMAT_V1
    ))
}

/// The `format` a transcript file names.
fn format_of(path: &Path) -> anyhow::Result<String> {
    #[derive(serde::Deserialize)]
    struct Format {
        format: String,
    }
    let bytes = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("cannot read transcript {}: {e}", path.display()))?;
    let format: Format = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("{} is not a quorate transcript: {e}", path.display()))?;
    Ok(format.format)
}

/// Exports key group `name`'s history with the key ceremonies that made
/// and changed it, each entry proven in the coordinator's checkpoint.
pub async fn export_key_group(
    audit: &mut Audit,
    name: &KeyGroupName,
) -> anyhow::Result<KeyGroupHistory> {
    // Every page in one tree: a key ceremony that registers meanwhile is
    // left out whole, never in part.
    let (now, _) = checkpoints(audit).await?;
    let size = witnesses::size_of(&now)
        .ok_or_else(|| anyhow::anyhow!("the coordinator's checkpoint has no size: {now:?}"))?;
    let listed = all_pages(|from| {
        let (mut audit, key_group) = (audit.clone(), name.to_string());
        async move {
            audit
                .key_group_entries(proto::KeyGroupEntriesRequest {
                    key_group,
                    from,
                    with_key_ceremonies: true,
                    size,
                })
                .await
        }
    })
    .await?;
    carries_its_key_ceremonies(name, &listed)?;
    let note = proving_checkpoint(audit, &listed).await?;
    let entries = prove_all(audit, &note, listed).await?;
    Ok(KeyGroupHistory {
        format: HISTORY_FORMAT.into(),
        key_group: name.clone(),
        checkpoint: note,
        entries,
    })
}

/// Checks that the history `listed` holds the proposal of every key
/// ceremony that registered or changed the group: a v2 history without one
/// would fail its replay as if forged.
fn carries_its_key_ceremonies(
    name: &KeyGroupName,
    listed: &[proto::LogEntry],
) -> anyhow::Result<()> {
    use quorate_ceremonies::Entry;
    let entries: Vec<Entry> = listed
        .iter()
        .map(|e| {
            Entry::decode(&e.entry)
                .map_err(|why| anyhow::anyhow!("entry {} does not decode: {why}", e.index))
        })
        .collect::<anyhow::Result<_>>()?;
    let proposed: std::collections::BTreeSet<_> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::KeyCeremonyProposed { ceremony, .. } => Some(ceremony.clone()),
            _ => None,
        })
        .collect();
    for e in &entries {
        if let Entry::KeyGroupRegistered { by, .. } | Entry::KeyGroupChanged { by, .. } = e
            && let Some(id) = quorate_ceremonies::key::rebuild::registering_ceremony(by)
            && !proposed.contains(&id)
        {
            anyhow::bail!(
                "the coordinator sent key group {name}'s history without the entries of key \
                 ceremony {id}, which made or changed it: it is older than this quorate, or you \
                 may not read that key ceremony (an auditor may)"
            );
        }
    }
    Ok(())
}

/// Replays the key group history at `path` against `log`.
pub fn replay_history_file(path: &Path, log: &LogVerifier) -> anyhow::Result<HistoryReplayed> {
    let bytes =
        std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let history: KeyGroupHistory = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("{} is not a key group history: {e}", path.display()))?;
    quorate_ceremonies::key::history::replay(&history, log)
        .map_err(|e| anyhow::anyhow!("key group {}: {e}", history.key_group))
}

/// The checkpoint of the key transcript at `path`.
pub fn key_transcript_checkpoint(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("cannot read transcript {}: {e}", path.display()))?;
    let transcript: KeyTranscript = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("{} is not a key transcript: {e}", path.display()))?;
    Ok(transcript.checkpoint)
}

/// Replays the key transcript at `path`.
pub fn replay_key_file(
    path: &Path,
    log: &LogVerifier,
) -> anyhow::Result<quorate_ceremonies::key::transcript::KeyReplayed> {
    let bytes = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("cannot read transcript {}: {e}", path.display()))?;
    let transcript: KeyTranscript = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("{} is not a key transcript: {e}", path.display()))?;
    quorate_ceremonies::key::transcript::replay(&transcript, log)
        .map_err(|e| anyhow::anyhow!("key ceremony {}: {e}", transcript.ceremony))
}

/// The index of the entry of the receipted ceremony holding exactly the
/// statement `receipt` promises, if the record has one.
pub async fn receipted_entry(
    audit: &mut Audit,
    receipt: &quorate_tlog::Receipt,
) -> anyhow::Result<Option<u64>> {
    let listed = all_pages(|from| {
        let (mut audit, ceremony) = (audit.clone(), receipt.ceremony.clone());
        async move {
            audit
                .ceremony_entries(proto::CeremonyEntriesRequest { ceremony, from })
                .await
        }
    })
    .await?;
    Ok(listed.iter().find_map(|e| {
        quorate_ceremonies::Entry::statement_in(&e.entry)
            .filter(|(_, statement)| receipt.covers(&statement.to_bytes()))
            .map(|_| e.index)
    }))
}

/// What `verify-log` established.
#[derive(Debug)]
pub struct Consistent {
    pub old: Checkpoint,
    pub new: Checkpoint,
}

/// Checks that the log at `new_note` extends the log at `old_note`, with a
/// consistency proof from the coordinator.
pub async fn verify_log(
    audit: &mut Audit,
    log: &LogVerifier,
    old_note: &str,
    new_note: &str,
) -> anyhow::Result<Consistent> {
    let old = log
        .verify_checkpoint(old_note)
        .map_err(|e| anyhow::anyhow!("the old checkpoint: {e}"))?;
    let new = log
        .verify_checkpoint(new_note)
        .map_err(|e| anyhow::anyhow!("the new checkpoint: {e}"))?;
    if old.origin != new.origin {
        anyhow::bail!(
            "the checkpoints are of different logs: {:?} and {:?}",
            old.origin,
            new.origin
        );
    }
    if old.size > new.size {
        anyhow::bail!(
            "the old checkpoint (size {}) is larger than the new one (size {}); swap --old and --new",
            old.size,
            new.size
        );
    }
    let hashes = proof_hashes(
        audit
            .consistency_proof(proto::ConsistencyProofRequest {
                old_size: old.size,
                new_size: new.size,
            })
            .await?
            .into_inner(),
    )?;
    let proof = ConsistencyProof {
        old_size: old.size,
        new_size: new.size,
        hashes,
    };
    quorate_tlog::check_consistency(&proof, old.root, new.root).map_err(|e| {
        anyhow::anyhow!(
            "the log at size {} does not extend the log at size {}: {e}; \
             the coordinator rewrote or forked its history",
            new.size,
            old.size
        )
    })?;
    Ok(Consistent { old, new })
}

/// Every entry of a paged entries call (`CeremonyEntries` and the like):
/// `ask(from)` again from the last index + 1 while a reply says more
/// follow.
pub async fn all_pages<F, Fut>(mut ask: F) -> anyhow::Result<Vec<proto::LogEntry>>
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<
            Output = Result<tonic::Response<proto::CeremonyEntriesReply>, tonic::Status>,
        >,
{
    let mut entries = Vec::new();
    let mut from = 0;
    loop {
        let reply = ask(from).await?.into_inner();
        let last = reply.entries.last().map(|e| e.index);
        entries.extend(reply.entries);
        match (reply.more, last) {
            (true, Some(last)) => from = last + 1,
            _ => return Ok(entries),
        }
    }
}
