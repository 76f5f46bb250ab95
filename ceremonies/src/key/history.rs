//! An auditor's offline replay of a key group's history: its registration,
//! every roster and key group change, and every backup note of its
//! participants, each proven in one signed checkpoint. [`replay`] walks
//! them in log order, holding the group as it stood at each entry, and
//! checks each backup note against that group
//! ([`crate::backup_note::check`]): signed by the approver's identity key
//! then, about the approver's verifying share then; and a retirement,
//! which must be signed by the group's own key.
//!
//! A [`HISTORY_FORMAT`] (v2) history also holds the entries of every key
//! ceremony that made or changed the group: its registration by a DKG, and
//! each refresh, repair and enrolment. Each such registration or
//! `key_group_changed` is taken only as its key ceremony's engine, rebuilt
//! from those entries, computes it (every message signed by its
//! participant's identity key), from the group as it stood: a log-key
//! holder cannot write a key group change that no key ceremony made.
//! Two kinds of entry remain taken as recorded, and the replay says which
//! it met so that an auditor can check them another way: a registration by
//! an operator (a trusted dealer's group), and an operator's roster change,
//! which may replace identity keys ([`HistoryReplayed::identity_changes`]).
//! A [`HISTORY_FORMAT_V1`] history (before key ceremonies were carried)
//! still replays as it always did, taking changes as recorded, and says so
//! ([`HistoryReplayed::changes_checked`]).

use quorate_tlog::LogVerifier;
use quorate_types::{KeyGroupName, ParticipantId, Sha256Digest};
use serde::{Deserialize, Serialize};

use super::KeyPhase;
use super::rebuild::{check_registration, rebuild, registered_by, registering_ceremony};
use super::transcript::{KeyReplayError, proven_entries};
use crate::replay::TranscriptEntry;
use crate::{Entry, KeyGroup};
use quorate_types::KeyGroupFile;

pub const HISTORY_FORMAT: &str = "quorate-key-group-history/v2";
/// Histories exported before they carried key ceremonies.
pub const HISTORY_FORMAT_V1: &str = "quorate-key-group-history/v1";

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

/// An identity key replaced by an operator's roster change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityChange {
    pub participant: ParticipantId,
    /// The key group version the change made.
    pub version: u64,
}

/// What a replay found, when everything checked out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryReplayed {
    /// The history's format.
    pub format: String,
    /// Whether every key group change was checked against the key
    /// ceremony that made it (v2), or taken as recorded (v1).
    pub changes_checked: bool,
    /// Who registered the group: `key ceremony <id>` (checked against that
    /// DKG in a v2 history) or an operator's name (a trusted dealer's
    /// group, taken as recorded).
    pub registered_by: String,
    /// Each identity key an operator's roster change replaced, taken as
    /// recorded: check these against the operators' own records.
    pub identity_changes: Vec<IdentityChange>,
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
    let v2 = match history.format.as_str() {
        HISTORY_FORMAT => true,
        HISTORY_FORMAT_V1 => false,
        other => {
            return Err(KeyReplayError {
                entry: None,
                why: format!("format is {other:?}, expected {HISTORY_FORMAT:?}"),
            });
        }
    };
    let (checkpoint, entries) = proven_entries(&history.checkpoint, &history.entries, log)?;
    let name = &history.key_group;
    let mut group: Option<KeyGroup> = None;
    let mut backups = Vec::new();
    let mut retired = None;
    let mut handed_over = None;
    let mut keys = KeyCeremonies::default();
    let mut registration = String::new();
    let mut identity_changes = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if v2 && keys.take(i, entry)? {
            continue;
        }
        group = Some(match (entry, group.take()) {
            (Entry::KeyGroupRegistered { key_group, by, .. }, None) if &key_group.name == name => {
                if v2 {
                    keys.made(i, by, key_group, None)?;
                }
                registration = by.clone();
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
                for p in &next.roster.participants {
                    let before = g.roster.get(&p.id).and_then(|b| b.identity.as_ref());
                    if p.identity.as_ref() != before {
                        identity_changes.push(IdentityChange {
                            participant: p.id.clone(),
                            version: next.version,
                        });
                    }
                }
                next
            }
            (
                Entry::KeyGroupChanged {
                    version,
                    key_group,
                    by,
                    ..
                },
                Some(g),
            ) if &key_group.name == name => {
                if v2 {
                    keys.made(i, by, key_group, Some(&g))?;
                }
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
    // A v2 history carries only the key ceremonies that made or changed
    // the group: one that did neither was relabelled or is out of place.
    if let Some(by) = keys.open.keys().next() {
        return Err(KeyReplayError {
            entry: None,
            why: format!("{by} is in the history but registered or changed nothing of it"),
        });
    }
    Ok(HistoryReplayed {
        format: history.format.clone(),
        changes_checked: v2,
        registered_by: registration,
        identity_changes,
        key_group: name.clone(),
        version: group.version,
        backups,
        retired,
        handed_over,
        checkpoint_size: checkpoint.size,
    })
}

/// The key ceremonies a v2 history carries, each as its entries so far
/// (the proposal, then its events), by the name they register under; and
/// those whose group the history has met already, whose ids are spent.
#[derive(Default)]
struct KeyCeremonies {
    open: std::collections::BTreeMap<String, Vec<Entry>>,
    spent: std::collections::BTreeSet<String>,
}

impl KeyCeremonies {
    /// Keeps `entry` if it is a key ceremony's (returning true): a proposal
    /// starts one, an event must follow its ceremony's proposal.
    fn take(&mut self, i: usize, entry: &Entry) -> Result<bool, KeyReplayError> {
        match entry {
            Entry::KeyCeremonyProposed { ceremony, .. } => {
                let by = registered_by(ceremony);
                if self.open.contains_key(&by) || self.spent.contains(&by) {
                    return Err(fail(
                        i,
                        format!("key ceremony {ceremony} is proposed twice"),
                    ));
                }
                self.open.insert(by, vec![entry.clone()]);
                Ok(true)
            }
            Entry::KeyCeremonyEvent { ceremony, .. } => {
                let Some(entries) = self.open.get_mut(&registered_by(ceremony)) else {
                    return Err(fail(
                        i,
                        format!("an event of key ceremony {ceremony} comes before its proposal"),
                    ));
                };
                entries.push(entry.clone());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Checks that the group `file`, registered or changed `by` someone at
    /// entry `i`, is what a key ceremony the history holds made, from the
    /// group as it stood (`before`; none for a registration). A group an
    /// operator registered (a trusted dealer's) is taken as recorded; a
    /// change is only ever a key ceremony's.
    fn made(
        &mut self,
        i: usize,
        by: &str,
        file: &KeyGroupFile,
        before: Option<&KeyGroup>,
    ) -> Result<(), KeyReplayError> {
        let Some(entries) = self.open.remove(by) else {
            if before.is_none() && registering_ceremony(by).is_none() {
                return Ok(());
            }
            return Err(fail(
                i,
                format!(
                    "the group is {} by {by:?}, but the history holds no such key ceremony",
                    if before.is_some() {
                        "changed"
                    } else {
                        "registered"
                    }
                ),
            ));
        };
        self.spent.insert(by.to_string());
        let (proposed, events) = entries
            .split_first()
            .ok_or_else(|| fail(i, format!("{by} has no proposal")))?;
        let key = rebuild(proposed, events).map_err(|e| fail(i, e.to_string()))?;
        if key.phase() != KeyPhase::Registered {
            return Err(fail(
                i,
                format!("{by} is {}, and made no group", key.phase().name()),
            ));
        }
        check_registration(&key, file).map_err(|e| fail(i, e.to_string()))?;
        match (key.proposal().changes(), before) {
            (None, None) => Ok(()),
            (Some((from, version)), Some(g)) => {
                let from = KeyGroup::from_file(from).map_err(|why| fail(i, why))?;
                if version != g.version || (KeyGroup { version, ..from }) != *g {
                    return Err(fail(
                        i,
                        format!(
                            "{by} started from another group than version {} of key group {}",
                            g.version, g.name
                        ),
                    ));
                }
                Ok(())
            }
            (None, Some(_)) => Err(fail(
                i,
                format!("{by} made a new key group, not a change of one"),
            )),
            (Some(_), None) => Err(fail(
                i,
                format!("{by} changed a key group, but registers one"),
            )),
        }
    }
}
