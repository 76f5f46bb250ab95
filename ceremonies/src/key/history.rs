//! An auditor's offline replay of a key group's history: its registration,
//! every roster and key group change, and every backup note of its
//! participants, each proven in one signed checkpoint. [`replay`] walks
//! them in log order, holding the group as it stood at each entry, and
//! checks each backup note against that group
//! ([`crate::backup_note::check`]): signed by the approver's identity key
//! then, about the approver's verifying share then; and a retirement,
//! which must be signed by the group's own key.

use quorate_tlog::LogVerifier;
use quorate_types::{KeyGroupName, ParticipantId, Sha256Digest};
use serde::{Deserialize, Serialize};

use super::transcript::{KeyReplayError, proven_entries};
use crate::replay::TranscriptEntry;
use crate::{Entry, KeyGroup};

pub const HISTORY_FORMAT: &str = "quorate-key-group-history/v1";

/// A key group's history from the record, offline-checkable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyGroupHistory {
    pub format: String,
    pub key_group: KeyGroupName,
    /// The signed checkpoint every proof is against.
    pub checkpoint: String,
    pub entries: Vec<TranscriptEntry>,
}

/// A backup the history notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Backup {
    pub participant: ParticipantId,
    pub commitments_sha256: Sha256Digest,
    pub threshold: u16,
    pub custodians: usize,
    /// The key group version whose share it backs up.
    pub version: u64,
}

/// What a replay found, when everything checked out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryReplayed {
    pub key_group: KeyGroupName,
    /// The group's version at the checkpoint (0 as registered).
    pub version: u64,
    pub backups: Vec<Backup>,
    /// Once retired by a statement the group signed: its successor, if
    /// it names one.
    pub retired: Option<Option<KeyGroupName>>,
    /// The key group it handed over to, by a link both groups signed.
    pub handed_over: Option<String>,
    pub checkpoint_size: u64,
}

fn fail(entry: usize, why: impl Into<String>) -> KeyReplayError {
    KeyReplayError {
        entry: Some(entry),
        why: why.into(),
    }
}

/// Replays `history` against the log key `log`.
pub fn replay(
    history: &KeyGroupHistory,
    log: &LogVerifier,
) -> Result<HistoryReplayed, KeyReplayError> {
    if history.format != HISTORY_FORMAT {
        return Err(KeyReplayError {
            entry: None,
            why: format!(
                "format is {:?}, expected {HISTORY_FORMAT:?}",
                history.format
            ),
        });
    }
    let (checkpoint, entries) = proven_entries(&history.checkpoint, &history.entries, log)?;
    let name = &history.key_group;
    let mut group: Option<KeyGroup> = None;
    let mut backups = Vec::new();
    let mut retired = None;
    let mut handed_over = None;
    for (i, entry) in entries.iter().enumerate() {
        group = Some(match (entry, group.take()) {
            (Entry::KeyGroupRegistered { key_group, .. }, None) if &key_group.name == name => {
                KeyGroup::from_file(key_group).map_err(|why| fail(i, why))?
            }
            (_, None) => {
                return Err(fail(
                    i,
                    format!("the history must start with key group {name}'s registration"),
                ));
            }
            (
                Entry::RosterChanged {
                    key_group,
                    version,
                    roster,
                    ..
                },
                Some(g),
            ) if key_group == name => {
                let next = g
                    .with_recorded_roster(roster.clone())
                    .map_err(|why| fail(i, why))?;
                if *version != next.version {
                    return Err(fail(
                        i,
                        format!("roster change {version} where {} was next", next.version),
                    ));
                }
                next
            }
            (
                Entry::KeyGroupChanged {
                    version, key_group, ..
                },
                Some(g),
            ) if &key_group.name == name => {
                let next = g.with_refresh(key_group).map_err(|why| fail(i, why))?;
                if *version != next.version {
                    return Err(fail(
                        i,
                        format!("key group change {version} where {} was next", next.version),
                    ));
                }
                next
            }
            (Entry::ShareBackedUp { note, .. }, Some(g)) => {
                crate::backup_note::check(&g, note).map_err(|why| {
                    fail(i, format!("{}'s backup note: {why}", note.note.participant))
                })?;
                backups.push(Backup {
                    participant: note.note.participant.clone(),
                    commitments_sha256: note.note.commitments_sha256,
                    threshold: note.note.threshold,
                    custodians: note.note.custodians.len(),
                    version: g.version,
                });
                g
            }
            (
                Entry::KeyGroupRetired {
                    key_group,
                    statement,
                    signature,
                    ..
                },
                Some(g),
            ) if key_group == name => {
                let key = hex::encode(g.group_key());
                let r = quorate_types::retirement::check(statement, &signature.0, name, &key)
                    .map_err(|why| fail(i, why))?;
                retired = Some(r.successor);
                g
            }
            (
                Entry::KeyGroupHandedOver {
                    key_group, link, ..
                },
                Some(g),
            ) if key_group == name => {
                let h = link.check().map_err(|why| fail(i, why))?;
                if h.old_key != g.group_key() || h.old_key_group != name.as_str() {
                    return Err(fail(
                        i,
                        format!("the hand-over is of another key than key group {name}'s"),
                    ));
                }
                handed_over = Some(h.new_key_group);
                g
            }
            (other, Some(_)) => {
                return Err(fail(
                    i,
                    format!(
                        "a {} is not part of key group {name}'s history",
                        other.kind()
                    ),
                ));
            }
        });
    }
    let group = group.ok_or_else(|| KeyReplayError {
        entry: None,
        why: "it holds no entries".into(),
    })?;
    Ok(HistoryReplayed {
        key_group: name.clone(),
        version: group.version,
        backups,
        retired,
        handed_over,
        checkpoint_size: checkpoint.size,
    })
}
