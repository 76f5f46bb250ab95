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
//! Over 500 lines, kept whole: sled is replaced next by a crash-safe store
//! (the kill -9 issue), whose code is split into group commit, index and
//! recovery from the start.

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

struct Pending {
    entries: Vec<Entry>,
    reply: oneshot::Sender<Result<Vec<u64>, StoreError>>,
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

    async fn write(&self, batch: Vec<Pending>) {
        if self.broken.load(Ordering::SeqCst) {
            for p in batch {
                let _ = p.reply.send(Err(broken()));
            }
            return;
        }
        let mut size = self.size.load(Ordering::SeqCst);
        let first_hash = quorate_tlog::first_stored_index(size);
        let mut hashes = BTreeMap::new();
        let mut writes = Vec::new();
        let mut claimed = HashSet::new();
        let mut accepted = Vec::new();
        for p in batch {
            match self.stage(
                &p.entries,
                &mut size,
                &mut hashes,
                &mut writes,
                &mut claimed,
            ) {
                Ok(indexes) => accepted.push((p, indexes)),
                Err(e) => {
                    let _ = p.reply.send(Err(e));
                }
            }
        }
        if accepted.is_empty() {
            return;
        }
        let mut batch = sled::Batch::default();
        for (k, v) in writes {
            batch.insert(k, v);
        }
        let done = match self.write_hashes(first_hash, &hashes, &mut batch).await {
            Ok(synced) => match self.tree.apply_batch(batch) {
                Ok(()) => flush(&self.db).await.map(|()| synced).map_err(|e| {
                    self.broken.store(true, Ordering::SeqCst);
                    tracing::error!(error = %e, "the record could not be flushed; refusing appends");
                    e
                }),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match done {
            Ok(synced) => {
                if let Some(synced) = synced {
                    self.synced.store(synced, Ordering::SeqCst);
                }
                self.size.store(size, Ordering::SeqCst);
                for (p, indexes) in accepted {
                    let _ = p.reply.send(Ok(indexes));
                }
            }
            Err(e) => {
                for (p, _) in accepted {
                    let _ = p.reply.send(Err(StoreError::Failed(format!(
                        "the record could not be written: {e}"
                    ))));
                }
            }
        }
    }

    /// Writes a group's new stored hashes (`first` onwards) to the hash
    /// file before its entries go to sled. Every [`SYNC_EVERY`] hashes it
    /// syncs the file, before sled can see the batch, and adds the synced
    /// count to the batch, which it returns.
    async fn write_hashes(
        &self,
        first: u64,
        hashes: &BTreeMap<u64, Hash>,
        batch: &mut sled::Batch,
    ) -> sled::Result<Option<u64>> {
        let new: Vec<Hash> = hashes.range(first..).map(|(_, h)| *h).collect();
        let count = first + new.len() as u64;
        let failed = |e: std::io::Error| {
            self.broken.store(true, Ordering::SeqCst);
            tracing::error!(error = %e, "the record's hash file could not be written; refusing appends");
            sled::Error::Io(e)
        };
        self.hashes.write(first, &new).map_err(failed)?;
        if count.saturating_sub(self.synced.load(Ordering::SeqCst)) < SYNC_EVERY {
            return Ok(None);
        }
        let file = Arc::clone(&self.hashes);
        tokio::task::spawn_blocking(move || file.sync())
            .await
            .map_err(|e| std::io::Error::other(format!("the sync task failed: {e}")))
            .and_then(|synced| synced)
            .map_err(failed)?;
        batch.insert(SYNCED, &count.to_be_bytes());
        Ok(Some(count))
    }

    /// Adds one caller's entries to the batch, or refuses them all.
    fn stage(
        &self,
        entries: &[Entry],
        size: &mut u64,
        hashes: &mut BTreeMap<u64, Hash>,
        writes: &mut Vec<(Vec<u8>, Vec<u8>)>,
        claimed: &mut HashSet<Vec<u8>>,
    ) -> Result<Vec<u64>, StoreError> {
        let keys: Vec<Option<(Vec<u8>, String)>> = entries.iter().map(lookup_key).collect();
        for (key, name) in keys.iter().flatten() {
            if claimed.contains(key) || self.tree.contains_key(key)? {
                return Err(StoreError::Exists(name.clone()));
            }
        }
        let mut n = *size;
        let mut indexes = Vec::with_capacity(entries.len());
        let mut local = Vec::new();
        for (entry, key) in entries.iter().zip(&keys) {
            let bytes = entry.encode();
            let overlay = Overlay {
                file: &self.hashes,
                pending: hashes,
            };
            let new = match quorate_tlog::hashes_to_append(n, &bytes, &overlay) {
                Ok(new) => new,
                Err(e) => {
                    // Take back this caller's hashes; the group goes on.
                    hashes.split_off(&quorate_tlog::first_stored_index(*size));
                    return Err(e.into());
                }
            };
            let first = quorate_tlog::first_stored_index(n);
            for (i, h) in (first..).zip(new) {
                hashes.insert(i, h);
            }
            local.push((key_of(b'e', n), bytes));
            if let Some((key, _)) = key {
                local.push((key.clone(), n.to_be_bytes().to_vec()));
            }
            if let Entry::PartiesChanged { .. } = entry {
                // The latest list of parties replaces the one before.
                local.push((PARTIES.to_vec(), n.to_be_bytes().to_vec()));
            }
            indexes.push(n);
            n += 1;
        }
        // Nothing failed: merge into the group's batch.
        for (key, _) in keys.into_iter().flatten() {
            claimed.insert(key);
        }
        *size = n;
        writes.extend(local);
        Ok(indexes)
    }

    fn index_at(&self, key: &[u8]) -> Result<Option<u64>, StoreError> {
        match self.tree.get(key)? {
            Some(v) => Ok(Some(index_of(&v, &String::from_utf8_lossy(key))?)),
            None => Ok(None),
        }
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
    /// (version, index) of each roster change of the key group, in order.
    fn roster_change_indexes(&self, group: &KeyGroupName) -> Result<Vec<(u64, u64)>, StoreError> {
        self.numbered(b'v', group.as_str())
    }

    fn event_indexes(&self, id: &CeremonyId) -> Result<Vec<u64>, StoreError> {
        let events = self.numbered(b'c', id.as_str())?;
        Ok(events.into_iter().map(|(_, index)| index).collect())
    }

    /// (n, log index) of every [`numbered`] key of `name`, in order of n.
    fn numbered(&self, tag: u8, name: &str) -> Result<Vec<(u64, u64)>, StoreError> {
        let prefix = numbered_prefix(tag, name);
        self.tree
            .scan_prefix(&prefix)
            .map(|kv| {
                let (k, v) = kv?;
                let what = String::from_utf8_lossy(&k).to_string();
                let n = k
                    .get(prefix.len()..)
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map(u64::from_be_bytes)
                    .ok_or_else(|| StoreError::Corrupt {
                        key: what.clone(),
                        why: "does not end in an 8-byte number".into(),
                    })?;
                Ok((n, index_of(&v, &what)?))
            })
            .collect()
    }

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

/// Index of the latest [`Entry::PartiesChanged`].
const PARTIES: &[u8] = b"p";

/// Stored hashes: those of the batch being written, then those on disk.
struct Overlay<'a> {
    file: &'a HashFile,
    pending: &'a BTreeMap<u64, Hash>,
}

impl HashStore for Overlay<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, RecordError> {
        indexes
            .iter()
            .map(|&i| match self.pending.get(&i) {
                Some(h) => Ok(*h),
                None => self.file.read(i).map_err(|_| RecordError::MissingHash(i)),
            })
            .collect()
    }
}

/// Makes the hash file hold the stored hashes of the log's `size` entries,
/// and returns how many are synced (all of them, afterwards). Hashes beyond
/// what `H` says was synced may be missing or torn by a crash: they are
/// dropped and recomputed from the entries, as are all of them in a store
/// that kept its hashes in sled.
fn rebuild_hashes(
    db: &sled::Db,
    tree: &sled::Tree,
    file: &HashFile,
    size: u64,
) -> Result<u64, StoreError> {
    let need = quorate_tlog::stored_hash_count(size);
    let synced = match tree.get(SYNCED)? {
        Some(v) => index_of(&v, "the synced hash count")?,
        None => 0,
    };
    let on_file = file.len().map_err(hash_file_error)?;
    if synced == need && on_file == need {
        return Ok(need);
    }
    let trusted = synced.min(on_file).min(need);
    // The most entries whose stored hashes all lie within the trusted ones.
    let (mut kept, mut beyond) = (0, size + 1);
    while beyond - kept > 1 {
        let mid = kept + (beyond - kept) / 2;
        if quorate_tlog::stored_hash_count(mid) <= trusted {
            kept = mid;
        } else {
            beyond = mid;
        }
    }
    tracing::info!(
        entries = size - kept,
        "recomputing the record's hashes that were not synced"
    );
    file.truncate(quorate_tlog::stored_hash_count(kept))
        .map_err(hash_file_error)?;
    for n in kept..size {
        let entry = tree
            .get(key_of(b'e', n))?
            .ok_or_else(|| StoreError::Corrupt {
                key: format!("entry {n}"),
                why: "missing".into(),
            })?;
        let new = quorate_tlog::hashes_to_append(n, &entry, file)?;
        file.write(quorate_tlog::first_stored_index(n), &new)
            .map_err(hash_file_error)?;
    }
    file.sync().map_err(hash_file_error)?;
    tree.insert(SYNCED, &need.to_be_bytes())?;
    db.flush()?;
    Ok(need)
}

fn hash_file_error(e: std::io::Error) -> StoreError {
    StoreError::Failed(format!("the record's hash file ({HASH_FILE}): {e}"))
}

/// The lookup key an entry claims, and what to call it if it is taken.
fn lookup_key(entry: &Entry) -> Option<(Vec<u8>, String)> {
    Some(match entry {
        Entry::Refused { .. } | Entry::PartiesChanged { .. } => return None,
        Entry::RosterChanged {
            key_group, version, ..
        } => {
            let mut key = lookup(b'v', key_group.as_str().as_bytes());
            key.push(0);
            key.extend_from_slice(&version.to_be_bytes());
            (
                key,
                format!("roster change {version} of key group {key_group}"),
            )
        }
        Entry::KeyGroupRegistered { key_group, .. } => (
            lookup(b'k', key_group.name.as_str().as_bytes()),
            format!("key group {}", key_group.name),
        ),
        Entry::CeremonyRequested { request, .. } => (
            lookup(b'r', request.id.as_str().as_bytes()),
            format!("ceremony {}", request.id),
        ),
        Entry::CeremonyEvent { ceremony, seq, .. } => (
            numbered(b'c', ceremony.as_str(), *seq),
            format!("event {seq} of ceremony {ceremony}"),
        ),
    })
}

fn lookup(tag: u8, name: &[u8]) -> Vec<u8> {
    let mut key = vec![tag];
    key.extend_from_slice(name);
    key
}

/// The key of item `n` of `name` (event n of a ceremony, roster change n of
/// a key group): tag, name, 0, n big-endian, so that a prefix scan lists
/// a name's items in order.
fn numbered(tag: u8, name: &str, n: u64) -> Vec<u8> {
    let mut key = numbered_prefix(tag, name);
    key.extend_from_slice(&n.to_be_bytes());
    key
}

fn numbered_prefix(tag: u8, name: &str) -> Vec<u8> {
    let mut key = lookup(tag, name.as_bytes());
    key.push(0);
    key
}

fn key_of(tag: u8, index: u64) -> Vec<u8> {
    let mut key = vec![tag];
    key.extend_from_slice(&index.to_be_bytes());
    key
}

fn index_of(bytes: &[u8], what: &str) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = bytes.try_into().map_err(|_| StoreError::Corrupt {
        key: what.to_string(),
        why: "not an 8-byte index".into(),
    })?;
    Ok(u64::from_be_bytes(bytes))
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
