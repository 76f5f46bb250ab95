//! An auditor's offline replay of a key ceremony.
//!
//! A [`KeyTranscript`] is a key ceremony's entries from the record (its
//! proposal, every event and, once it registered its group, that
//! registration), each with an inclusion proof against one signed
//! checkpoint. [`replay`] checks, with nothing but the log's verifier key:
//! the checkpoint's signature; each entry's inclusion and canonical
//! encoding; then it runs the engine over the events, which checks every
//! participant's signature under the proposal's roster, every proof of
//! knowledge and every complaint, and recomputes the group key and every
//! verifying share from the round-1 commitments. The decisions must be the
//! ones recorded, and the registered group must be the one computed and
//! confirmed by every participant.

use quorate_tlog::{Hash, InclusionProof, LogVerifier};
use quorate_types::{KeyCeremonyId, ParticipantId};
use serde::{Deserialize, Serialize};

use super::KeyPhase;
use super::rebuild::{check_registration, rebuild, registered_by};
use crate::Entry;
use crate::replay::TranscriptEntry;

pub const KEY_TRANSCRIPT_FORMAT: &str = "quorate-key-transcript/v1";

/// A self-contained, offline-checkable account of one key ceremony.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyTranscript {
    pub format: String,
    pub ceremony: KeyCeremonyId,
    /// The signed checkpoint every proof is against.
    pub checkpoint: String,
    /// The proposal, every event, then the registration if there is one.
    pub entries: Vec<TranscriptEntry>,
}

/// What a replay found, when everything checked out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyReplayed {
    pub ceremony: KeyCeremonyId,
    pub key_group: String,
    pub proposed_by: String,
    pub threshold: u16,
    /// `registered` or `failed` (with `failure`), or where it stands.
    pub outcome: &'static str,
    pub failure: Option<String>,
    /// Hex of the group key, recomputed from the commitments.
    pub group_key: Option<String>,
    pub verifying_shares: usize,
    pub joined: Vec<ParticipantId>,
    pub confirmed: Vec<ParticipantId>,
    pub checkpoint_size: u64,
    /// The witnesses the registered group's policy names whose valid
    /// cosignatures the checkpoint carries (none when it names none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub witnessed_by: Vec<String>,
}

/// Where a key transcript fails to check, naming the entry (by position
/// in the transcript) when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{why}", entry.map(|i| format!("entry {i}: ")).unwrap_or_default())]
pub struct KeyReplayError {
    pub entry: Option<usize>,
    pub why: String,
}

fn fail(entry: Option<usize>, why: impl Into<String>) -> KeyReplayError {
    KeyReplayError {
        entry,
        why: why.into(),
    }
}

/// Replays `transcript` against the log key `log`.
pub fn replay(
    transcript: &KeyTranscript,
    log: &LogVerifier,
) -> Result<KeyReplayed, KeyReplayError> {
    if transcript.format != KEY_TRANSCRIPT_FORMAT {
        return Err(fail(
            None,
            format!(
                "format is {:?}, expected {KEY_TRANSCRIPT_FORMAT:?}",
                transcript.format
            ),
        ));
    }
    let (checkpoint, entries) = proven_entries(&transcript.checkpoint, &transcript.entries, log)?;
    let Some((proposed, rest)) = entries.split_first() else {
        return Err(fail(None, "it holds no entries"));
    };
    match proposed {
        Entry::KeyCeremonyProposed { ceremony, .. } if ceremony == &transcript.ceremony => {}
        _ => {
            return Err(fail(
                Some(0),
                format!(
                    "the first entry must be key ceremony {}'s proposal",
                    transcript.ceremony
                ),
            ));
        }
    }
    let (events, registration) = match rest.split_last() {
        Some((Entry::KeyGroupRegistered { by, key_group, .. }, events))
        | Some((Entry::KeyGroupChanged { by, key_group, .. }, events)) => {
            (events, Some((by, key_group)))
        }
        _ => (rest, None),
    };
    let key = rebuild(proposed, events).map_err(|e| fail(None, e.why))?;
    match (registration, key.phase()) {
        (Some((by, file)), KeyPhase::Registered) => {
            if by != &registered_by(key.id()) {
                return Err(fail(
                    Some(entries.len() - 1),
                    format!("the group is registered by {by:?}, not by its key ceremony"),
                ));
            }
            check_registration(&key, file).map_err(|e| fail(Some(entries.len() - 1), e.why))?;
        }
        (None, KeyPhase::Registered) => {
            return Err(fail(
                None,
                "the ceremony registered its group, but the transcript lacks the registration",
            ));
        }
        (Some(_), _) => {
            return Err(fail(
                Some(entries.len() - 1),
                "a key group is registered that the ceremony never made",
            ));
        }
        (None, phase) if !phase.is_finished() => {
            return Err(fail(
                None,
                format!(
                    "the transcript ends while the key ceremony is {}: it was cut short, or \
                     exported before the ceremony ended",
                    phase.name()
                ),
            ));
        }
        (None, _) => {}
    }
    // A group whose policy names witnesses is known only by a checkpoint
    // they cosigned.
    let witnessed_by = match key.registered().and_then(|f| f.policy.witnesses.as_ref()) {
        Some(witnesses) => crate::replay::witnessed(&transcript.checkpoint, witnesses)
            .map_err(|why| fail(None, format!("checkpoint {why}")))?,
        None => Vec::new(),
    };
    let package = key
        .registered()
        .and_then(|file| file.public_key_package().ok());
    Ok(KeyReplayed {
        ceremony: key.id().clone(),
        key_group: key.proposal().key_group.to_string(),
        proposed_by: key.proposed_by().to_string(),
        threshold: key.proposal().threshold,
        outcome: key.phase().name(),
        failure: key.failure().map(|(culprit, fault)| match culprit {
            Some(c) => format!("{c}: {fault}"),
            None => fault.to_string(),
        }),
        group_key: key.registered().map(|f| f.group_key.clone()),
        verifying_shares: package.map(|p| p.verifying_shares().len()).unwrap_or(0),
        joined: key.joined().keys().cloned().collect(),
        confirmed: key.confirmed().cloned().collect(),
        checkpoint_size: checkpoint.size,
        witnessed_by,
    })
}

/// The entries of a transcript, each checked in order against the signed
/// checkpoint `note` (signature, origin, inclusion, canonical encoding),
/// with the checkpoint.
pub(crate) fn proven_entries(
    note: &str,
    listed: &[TranscriptEntry],
    log: &LogVerifier,
) -> Result<(quorate_tlog::Checkpoint, Vec<Entry>), KeyReplayError> {
    let checkpoint = log
        .verify_checkpoint(note)
        .map_err(|e| fail(None, format!("checkpoint: {e}")))?;
    if checkpoint.origin != log.name() {
        return Err(fail(
            None,
            format!(
                "checkpoint is of log {:?}, but the log key is {:?}'s",
                checkpoint.origin,
                log.name()
            ),
        ));
    }
    let mut entries = Vec::with_capacity(listed.len());
    let mut previous = None;
    for (i, e) in listed.iter().enumerate() {
        if previous.is_some_and(|p| e.index <= p) {
            return Err(fail(Some(i), "entries are out of order or repeated"));
        }
        previous = Some(e.index);
        let proof = InclusionProof {
            index: e.index,
            tree_size: checkpoint.size,
            hashes: e.proof.clone(),
        };
        let leaf: Hash = quorate_tlog::leaf_hash(e.entry.as_bytes());
        quorate_tlog::check_inclusion(&proof, leaf, checkpoint.root).map_err(|why| {
            fail(
                Some(i),
                format!("entry {} is not in the checkpointed log: {why}", e.index),
            )
        })?;
        entries
            .push(Entry::decode(e.entry.as_bytes()).map_err(|why| fail(Some(i), why.to_string()))?);
    }
    Ok((checkpoint, entries))
}
