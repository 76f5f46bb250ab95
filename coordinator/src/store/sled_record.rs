//! The record in one sled tree, appended in groups.
//!
//! Keys: `e`‖index → entry bytes; and indexes into the log: `k`‖key group,
//! `r`‖ceremony, `c`‖ceremony‖0‖seq → entry index. Only
//! [`SledStore::append`] writes them, and it refuses any key that exists:
//! no entry or index is rewritten or deleted.
//!
//! The tree's stored hashes (Go tlog layout) live in the file `hashes`
//! beside sled's own ([`HashFile`]); `H` holds how many of them were synced
//! to disk, the one key that is rewritten (it only grows). Stores written
//! before kept the hashes under `h`‖stored index; those keys are left as
//! they are and the file is rebuilt from the entries.
//!
//! Group commit: callers queue their entries; whoever takes the writer lock
//! writes everything queued in one atomic batch and one flush, then answers
//! every caller in it.
//!
//! This file holds the store and its reads and proofs; group commit, the
//! indexes and recovery at start are modules of their own.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use quorate_ceremonies::Entry;
use quorate_tlog::{ConsistencyProof, Hash, HashStore, InclusionProof, RecordError};
use quorate_types::{CeremonyId, KeyGroupName, Party};
use tokio::sync::oneshot;

use super::hash_file::HashFile;
use super::{CeremonyStore, EventRecord, StoreError, StoredCeremony, StoredKeyGroup};
use crate::poison::lock;

mod group_commit;
mod index;
mod recovery;

use group_commit::Pending;
use index::{PARTIES, index_of, key_of, lookup, lookup_key};
use recovery::{hash_file_error, rebuild_hashes};

/// The file of stored hashes, in the store's directory.
const HASH_FILE: &str = "hashes";
/// How many stored hashes were synced to the hash file, big-endian.
const SYNCED: &[u8] = b"H";
/// Hashes written between syncs of the hash file (about 8,000 entries):
/// what a crash may leave to recompute at the next start.
const SYNC_EVERY: u64 = 16_384;

pub struct SledStore {
    db: sled::Db,
    tree: sled::Tree,
    hashes: Arc<HashFile>,
    /// Stored hashes synced to the hash file, as `H` records it.
    synced: AtomicU64,
    size: AtomicU64,
    queue: Mutex<Vec<Pending>>,
    writer: tokio::sync::Mutex<()>,
    /// Set when a flush failed: the log's state on disk is unknown.
    broken: AtomicBool,
}

impl SledStore {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = quorate_secrets::store_lock::open(|| sled::open(dir))?;
        let tree = db.open_tree("record")?;
        let size = match tree.scan_prefix(b"e").next_back() {
            Some(kv) => {
                let (k, _) = kv?;
                index_of(&k[1..], "the last entry key")? + 1
            }
            None => 0,
        };
        let hashes = HashFile::open(&dir.join(HASH_FILE)).map_err(hash_file_error)?;
        let synced = rebuild_hashes(&db, &tree, &hashes, size)?;
        Ok(Self {
            db,
            tree,
            hashes: Arc::new(hashes),
            synced: AtomicU64::new(synced),
            size: AtomicU64::new(size),
            queue: Mutex::new(Vec::new()),
            writer: tokio::sync::Mutex::new(()),
            broken: AtomicBool::new(false),
        })
    }

    fn decoded(&self, index: u64) -> Result<Entry, StoreError> {
        let bytes = self.entry(index)?;
        Entry::decode(&bytes).map_err(|e| StoreError::Corrupt {
            key: format!("entry {index}"),
            why: e.to_string(),
        })
    }
}

impl CeremonyStore for SledStore {
    async fn append(&self, entries: Vec<Entry>) -> Result<Vec<u64>, StoreError> {
        let (reply, mut answer) = oneshot::channel();
        lock(&self.queue).push(Pending { entries, reply });
        let went_away = || StoreError::Failed("the record's writer went away".into());
        tokio::select! {
            // Someone else's group took our entries: done, without waiting
            // for the writer (else each caller would flush again in turn).
            biased;
            answered = &mut answer => return answered.map_err(|_| went_away())?,
            _writer = self.writer.lock() => {
                // Whoever held the writer answered all it took; what is
                // queued now, ours included unless answered, is ours to write.
                if let Ok(answered) = answer.try_recv() {
                    return answered;
                }
                let batch = std::mem::take(&mut *lock(&self.queue));
                if !batch.is_empty() {
                    self.write(batch).await;
                }
            }
        }
        answer.await.map_err(|_| went_away())?
    }

    fn size(&self) -> u64 {
        self.size.load(Ordering::SeqCst)
    }

    fn entry(&self, index: u64) -> Result<Vec<u8>, StoreError> {
        if index >= self.size() {
            return Err(StoreError::OutOfRange(format!(
                "entry {index} does not exist; the log has {} entries",
                self.size()
            )));
        }
        match self.tree.get(key_of(b'e', index))? {
            Some(v) => Ok(v.to_vec()),
            None => Err(StoreError::Corrupt {
                key: format!("entry {index}"),
                why: "missing".into(),
            }),
        }
    }

    fn key_groups(&self) -> Result<Vec<StoredKeyGroup>, StoreError> {
        let mut indexes = Vec::new();
        for kv in self.tree.scan_prefix(b"k") {
            let (k, v) = kv?;
            indexes.push(index_of(&v, &String::from_utf8_lossy(&k))?);
        }
        indexes.sort_unstable();
        indexes
            .into_iter()
            .map(|i| match self.decoded(i)? {
                Entry::KeyGroupRegistered { key_group, .. } => {
                    let mut roster_changes = Vec::new();
                    for (version, index) in self.roster_change_indexes(&key_group.name)? {
                        match self.decoded(index)? {
                            Entry::RosterChanged {
                                roster, version: v, ..
                            } if v == version && v == roster_changes.len() as u64 + 1 => {
                                roster_changes.push(roster)
                            }
                            other => {
                                return Err(not_a(index, "the next roster change", &other));
                            }
                        }
                    }
                    Ok(StoredKeyGroup {
                        registered: key_group,
                        roster_changes,
                    })
                }
                other => Err(not_a(i, "key group registration", &other)),
            })
            .collect()
    }

    fn parties(&self) -> Result<Option<Vec<Party>>, StoreError> {
        let Some(index) = self.index_at(PARTIES)? else {
            return Ok(None);
        };
        match self.decoded(index)? {
            Entry::PartiesChanged { parties, .. } => Ok(Some(parties)),
            other => Err(not_a(index, "a change of parties", &other)),
        }
    }

    fn ceremonies(&self) -> Result<Vec<StoredCeremony>, StoreError> {
        let mut out = Vec::new();
        for kv in self.tree.scan_prefix(b"r") {
            let (k, v) = kv?;
            let index = index_of(&v, &String::from_utf8_lossy(&k))?;
            let request = match self.decoded(index)? {
                Entry::CeremonyRequested { request, .. } => request,
                other => return Err(not_a(index, "ceremony request", &other)),
            };
            let mut events = Vec::new();
            for i in self.event_indexes(&request.id)? {
                match self.decoded(i)? {
                    Entry::CeremonyEvent {
                        at,
                        event,
                        seq,
                        decisions,
                        ..
                    } if seq == events.len() as u64 => events.push(EventRecord {
                        at,
                        event,
                        decisions,
                    }),
                    other => return Err(not_a(i, "the next event of the ceremony", &other)),
                }
            }
            out.push(StoredCeremony { request, events });
        }
        Ok(out)
    }

    fn ceremony_entries(&self, id: &CeremonyId) -> Result<Vec<u64>, StoreError> {
        // A group being flushed is in sled already, but not yet part of
        // the log: only entries below the durable size are listed.
        let size = self.size();
        let durable = |index: &u64| *index < size;
        let Some(request_index) = self
            .index_at(&lookup(b'r', id.as_str().as_bytes()))?
            .filter(durable)
        else {
            return Err(StoreError::OutOfRange(format!(
                "no ceremony {id} in the record"
            )));
        };
        let Entry::CeremonyRequested { request, .. } = self.decoded(request_index)? else {
            return Err(StoreError::Corrupt {
                key: format!("entry {request_index}"),
                why: "expected a ceremony request".into(),
            });
        };
        let group = self
            .index_at(&lookup(b'k', request.key_group.as_str().as_bytes()))?
            .ok_or_else(|| StoreError::Corrupt {
                key: format!("key group {}", request.key_group),
                why: "ceremony names a key group the record lacks".into(),
            })?;
        let mut out = vec![group];
        out.extend(
            self.roster_change_indexes(&request.key_group)?
                .into_iter()
                .filter(|(version, _)| *version <= request.key_group_version)
                .map(|(_, index)| index),
        );
        out.push(request_index);
        out.extend(self.event_indexes(id)?.into_iter().filter(durable));
        Ok(out)
    }

    fn root(&self, size: u64) -> Result<Hash, StoreError> {
        self.check_size(size)?;
        Ok(quorate_tlog::root(size, &*self.hashes)?)
    }

    fn prove_inclusion(&self, index: u64, size: u64) -> Result<InclusionProof, StoreError> {
        self.check_size(size)?;
        if index >= size {
            return Err(StoreError::OutOfRange(format!(
                "entry {index} is not in a tree of {size} entries"
            )));
        }
        Ok(quorate_tlog::prove_inclusion(index, size, &*self.hashes)?)
    }

    fn prove_consistency(&self, old: u64, new: u64) -> Result<ConsistencyProof, StoreError> {
        self.check_size(new)?;
        if old > new {
            return Err(StoreError::OutOfRange(format!(
                "old size {old} is larger than new size {new}"
            )));
        }
        Ok(quorate_tlog::prove_consistency(old, new, &*self.hashes)?)
    }
}

impl SledStore {
    fn check_size(&self, size: u64) -> Result<(), StoreError> {
        if size > self.size() {
            return Err(StoreError::OutOfRange(format!(
                "tree size {size} is beyond the log's {} entries",
                self.size()
            )));
        }
        Ok(())
    }
}

fn not_a(index: u64, expected: &str, got: &Entry) -> StoreError {
    StoreError::Corrupt {
        key: format!("entry {index}"),
        why: format!("expected {expected}, found {}", got.kind()),
    }
}

fn broken() -> StoreError {
    StoreError::Failed(
        "an earlier write to the record could not be made durable; restart the coordinator".into(),
    )
}

/// Makes everything written so far durable. sled 0.34's `flush_async`
/// can hang for good when flushes overlap (sled issues #1241 and #1308;
/// the benchmarks hit it), so the blocking flush runs on tokio's blocking
/// pool instead.
async fn flush(db: &sled::Db) -> sled::Result<()> {
    let db = db.clone();
    tokio::task::spawn_blocking(move || db.flush().map(|_| ()))
        .await
        .map_err(|e| sled::Error::ReportableBug(format!("the flush task failed: {e}")))?
}
