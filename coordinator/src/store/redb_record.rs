//! The record in one redb database, appended in groups.
//!
//! Tables: [`ENTRIES`] maps each index to its entry's canonical bytes;
//! [`LOOKUPS`] indexes the log: `k`‖key group, `r`‖ceremony,
//! `c`‖ceremony‖0‖seq, `v`‖key group‖0‖version and `p` (the latest
//! parties) → entry index. Only a group commit writes them, and it refuses
//! any lookup key that exists: no entry or lookup is rewritten or deleted,
//! except `p`, which moves to the latest change of parties. [`META`] holds
//! how many stored hashes were synced to the hash file, which only grows.
//!
//! The tree's stored hashes (Go tlog layout) live in the file `hashes`
//! beside the database ([`HashFile`]).
//!
//! Each group is one write transaction committed with redb's default
//! durability: checksummed and fsync'd before `commit` returns, so an
//! entry is acknowledged only once it survives a crash. The commit runs on
//! tokio's blocking pool.
//!
//! Group commit: callers queue their entries; whoever takes the writer lock
//! writes everything queued in one transaction, then answers every caller
//! in it.
//!
//! This file holds the store and its reads and proofs; group commit, the
//! indexes and recovery at start are modules of their own.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use quorate_ceremonies::Entry;
use quorate_tlog::{ConsistencyProof, Hash, HashStore, InclusionProof, RecordError};
use quorate_types::{CeremonyId, KeyCeremonyId, KeyGroupName, Party};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use tokio::sync::{oneshot, watch};

use super::hash_file::HashFile;
use super::{
    CeremonyStore, EndedCount, EventRecord, KeyGroupChange, StoreError, StoredCeremony,
    StoredKeyCeremony, StoredKeyGroup,
};
use crate::poison::{lock, read, write};

mod group_commit;
mod index;
mod live;
mod recovery;

use group_commit::Pending;
use index::{PARTIES, lookup, lookup_key};
use live::{ENDED, LIVE, REQUESTS};
use recovery::{hash_file_error, rebuild_hashes};

/// The database file, in the store's directory.
pub const DATABASE_FILE: &str = "record.redb";
/// The file of stored hashes, in the store's directory.
pub const HASH_FILE: &str = "hashes";
/// Entry index → the entry's canonical bytes.
const ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("entries");
/// Lookup key → the index of the entry it names.
const LOOKUPS: TableDefinition<&[u8], u64> = TableDefinition::new("lookups");
/// Counters of the store itself.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// How many stored hashes were synced to the hash file.
const SYNCED: &str = "synced hashes";
/// Hashes written between syncs of the hash file (about 8,000 entries):
/// what a crash may leave to recompute at the next start.
const SYNC_EVERY: u64 = 16_384;

/// Entries with their canonical bytes.
pub(in crate::store) type Encoded = Vec<(Entry, Vec<u8>)>;

pub struct RedbStore {
    inner: Arc<Inner>,
    queue: Mutex<Vec<Pending>>,
    writer: Arc<tokio::sync::Mutex<()>>,
}

/// Opens the store's database.
pub type Opener = Arc<dyn Fn() -> Result<Database, redb::DatabaseError> + Send + Sync>;

/// What the blocking writer shares with the readers.
struct Inner {
    /// `None` only while it is reopened after a failed write.
    db: RwLock<Option<Database>>,
    opener: Opener,
    hashes: HashFile,
    /// Stored hashes synced to the hash file, as [`META`] records it.
    synced: AtomicU64,
    size: AtomicU64,
    /// Set when a write failed: the log's state on disk is unknown until
    /// the database is opened again.
    broken: AtomicBool,
    /// Why the store halted, once it has.
    halt: watch::Sender<Option<String>>,
    /// Refused writes, from a failed write until one succeeds.
    refusing: watch::Sender<super::Refusals>,
    /// Held while the database is opened again after a failed write.
    recovering: Mutex<()>,
}

impl Inner {
    /// (Re)opens the database, then reads the log's size and makes the
    /// hash file match the entries: at start, and after a failed write,
    /// which redb requires before it writes again (a full disk that has
    /// room again, say). After a failed write the log must hold exactly
    /// the `acknowledged` entries; if it holds more (an fsync that failed
    /// after the write reached the file) or fewer, this process's state
    /// and the record may disagree, and the store halts.
    fn load(&self, acknowledged: Option<u64>) -> Result<(), StoreError> {
        let mut slot = write(&self.db);
        // The file's lock goes with the old handle, before the new one.
        drop(slot.take());
        let db = (self.opener)().map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Held,
            other => storage(other),
        })?;
        // Create the tables once, so that readers find them.
        let txn = db.begin_write().map_err(storage)?;
        txn.open_table(ENTRIES).map_err(storage)?;
        txn.open_table(LOOKUPS).map_err(storage)?;
        txn.open_table(META).map_err(storage)?;
        txn.open_table(LIVE).map_err(storage)?;
        txn.open_table(ENDED).map_err(storage)?;
        txn.open_table(REQUESTS).map_err(storage)?;
        txn.commit().map_err(storage)?;
        let size = {
            let read = db.begin_read().map_err(storage)?;
            let entries = read.open_table(ENTRIES).map_err(storage)?;
            match entries.last().map_err(storage)? {
                Some((k, _)) => k.value() + 1,
                None => 0,
            }
        };
        if let Some(acknowledged) = acknowledged.filter(|a| *a != size) {
            let why = format!(
                "after a failed write the record holds {size} entries, not the {acknowledged} \
                 acknowledged: that write's outcome is unknown, so this coordinator stops; start \
                 it again and it rebuilds its state from the record"
            );
            self.halt.send_replace(Some(why.clone()));
            return Err(StoreError::Failed(why));
        }
        let synced = rebuild_hashes(&db, &self.hashes, size)?;
        self.synced.store(synced, Ordering::SeqCst);
        self.size.store(size, Ordering::SeqCst);
        *slot = Some(db);
        Ok(())
    }

    /// A read transaction on the database, opened again first if a
    /// failed write closed it.
    fn reader(&self) -> Result<redb::ReadTransaction, StoreError> {
        if let Some(db) = &*read(&self.db) {
            return db.begin_read().map_err(storage);
        }
        self.recover()?;
        match &*read(&self.db) {
            Some(db) => db.begin_read().map_err(storage),
            None => Err(StoreError::Failed(
                "the record is being opened again after a failed write; try again".into(),
            )),
        }
    }

    /// After a failed write: opens the database again (redb requires it
    /// before it writes again) and recomputes the hashes the failed write
    /// left, or says why it cannot yet. One caller at a time; the others
    /// find it done.
    fn recover(&self) -> Result<(), StoreError> {
        let _one = lock(&self.recovering);
        if !self.broken.load(Ordering::SeqCst) {
            return Ok(());
        }
        if let Some(why) = self.halt.borrow().clone() {
            return Err(StoreError::Failed(why));
        }
        match self.load(Some(self.size.load(Ordering::SeqCst))) {
            Ok(()) => {
                self.broken.store(false, Ordering::SeqCst);
                tracing::info!("the record was opened again after a failed write");
                Ok(())
            }
            Err(e) => match self.halt.borrow().clone() {
                Some(why) => Err(StoreError::Failed(why)),
                None => Err(broken(&e)),
            },
        }
    }
}

impl RedbStore {
    /// Opens the store in `dir`, creating it if it holds none.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        if quorate_secrets::sled_export::is_sled_store(dir) && !dir.join(DATABASE_FILE).exists() {
            // A new record beside the old one would hide its history.
            return Err(StoreError::OldFormat(dir.display().to_string()));
        }
        let path = dir.join(DATABASE_FILE);
        Self::open_with(dir, Arc::new(move || Database::create(&path)))
    }

    /// Opens the store in `dir` with its database opened by `opener`
    /// (tests of disk faults give a redb backend of their own).
    pub fn open_with(dir: &Path, opener: Opener) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Failed(format!("cannot create the store's directory: {e}")))?;
        let hashes = HashFile::open(&dir.join(HASH_FILE)).map_err(hash_file_error)?;
        let inner = Inner {
            db: RwLock::new(None),
            opener,
            hashes,
            synced: AtomicU64::new(0),
            size: AtomicU64::new(0),
            broken: AtomicBool::new(false),
            halt: watch::Sender::new(None),
            refusing: watch::Sender::new(super::Refusals::default()),
            recovering: Mutex::new(()),
        };
        inner.load(None)?;
        Ok(Self {
            inner: Arc::new(inner),
            queue: Mutex::new(Vec::new()),
            writer: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// Appends entries given as their canonical bytes, kept as they are:
    /// for copying a record from another store (`migrate`), where entries
    /// of an earlier format must keep their bytes, and so the root.
    pub async fn import(&self, encoded: Vec<Vec<u8>>) -> Result<Vec<u64>, StoreError> {
        let mut entries = Vec::with_capacity(encoded.len());
        for (n, bytes) in encoded.into_iter().enumerate() {
            let entry = Entry::decode(&bytes).map_err(|e| StoreError::Corrupt {
                key: format!("entry {n} of those imported"),
                why: e.to_string(),
            })?;
            entries.push((entry, bytes));
        }
        self.append_encoded(entries).await
    }

    /// Whether each caller's entries (with their canonical bytes) would
    /// be appended now, in order, as one group: a verdict per caller,
    /// writing nothing. The caller must keep others from appending until
    /// it has appended them (a replica's writer does).
    pub(in crate::store) async fn check(
        &self,
        callers: Vec<Encoded>,
    ) -> Result<(Vec<Encoded>, Vec<Result<(), StoreError>>), StoreError> {
        let writer = Arc::clone(&self.writer).lock_owned().await;
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let _writer = writer;
            inner.check(&callers).map(|verdicts| (callers, verdicts))
        })
        .await
        .map_err(|e| StoreError::Failed(format!("the record's check went away: {e}")))?
    }

    pub(in crate::store) async fn append_encoded(
        &self,
        entries: Vec<(Entry, Vec<u8>)>,
    ) -> Result<Vec<u64>, StoreError> {
        let (reply, mut answer) = oneshot::channel();
        lock(&self.queue).push(Pending { entries, reply });
        let went_away = || StoreError::Failed("the record's writer went away".into());
        tokio::select! {
            // Someone else's group took our entries: done, without waiting
            // for the writer (else each caller would commit again in turn).
            biased;
            answered = &mut answer => return answered.map_err(|_| went_away())?,
            writer = Arc::clone(&self.writer).lock_owned() => {
                // Whoever held the writer answered all it took; what is
                // queued now, ours included unless answered, is ours to write.
                if let Ok(answered) = answer.try_recv() {
                    return answered;
                }
                let batch = std::mem::take(&mut *lock(&self.queue));
                if !batch.is_empty() {
                    let inner = Arc::clone(&self.inner);
                    // The write holds the writer until it is done, even if
                    // this caller goes away meanwhile (a cancelled call):
                    // the next group must start where this one ends. A
                    // failed task drops the batch's reply senders: every
                    // caller in it hears that the writer went away.
                    let _ = tokio::task::spawn_blocking(move || {
                        let _writer = writer;
                        inner.write(batch)
                    })
                    .await;
                }
            }
        }
        answer.await.map_err(|_| went_away())?
    }

    fn decoded(&self, index: u64) -> Result<Entry, StoreError> {
        let bytes = self.entry(index)?;
        Entry::decode(&bytes).map_err(|e| StoreError::Corrupt {
            key: format!("entry {index}"),
            why: e.to_string(),
        })
    }
}

impl CeremonyStore for RedbStore {
    async fn append(&self, entries: Vec<Entry>) -> Result<Vec<u64>, StoreError> {
        let encoded = entries
            .into_iter()
            .map(|e| {
                let bytes = e.encode();
                (e, bytes)
            })
            .collect();
        self.append_encoded(encoded).await
    }

    fn size(&self) -> u64 {
        self.inner.size.load(Ordering::SeqCst)
    }

    fn halted(&self) -> impl Future<Output = String> + Send + 'static {
        super::halt_of(self.inner.halt.subscribe())
    }

    fn refusing(&self) -> watch::Receiver<super::Refusals> {
        self.inner.refusing.subscribe()
    }

    fn entry(&self, index: u64) -> Result<Vec<u8>, StoreError> {
        if index >= self.size() {
            return Err(StoreError::OutOfRange(format!(
                "entry {index} does not exist; the log has {} entries",
                self.size()
            )));
        }
        let read = self.inner.reader()?;
        let entries = read.open_table(ENTRIES).map_err(storage)?;
        match entries.get(index).map_err(storage)? {
            Some(v) => Ok(v.value().to_vec()),
            None => Err(StoreError::Corrupt {
                key: format!("entry {index}"),
                why: "missing".into(),
            }),
        }
    }

    fn key_ceremonies(&self) -> Result<Vec<StoredKeyCeremony>, StoreError> {
        let mut proposals: Vec<(Vec<u8>, u64)> = self.scan(b"K")?;
        proposals.sort_unstable_by_key(|(_, index)| *index);
        proposals
            .into_iter()
            .map(|(_, index)| {
                let proposed = self.decoded(index)?;
                let Entry::KeyCeremonyProposed { ceremony, .. } = &proposed else {
                    return Err(not_a(index, "key ceremony proposal", &proposed));
                };
                let events = self
                    .key_event_indexes(ceremony)?
                    .into_iter()
                    .map(|i| self.decoded(i))
                    .collect::<Result<_, _>>()?;
                Ok(StoredKeyCeremony { proposed, events })
            })
            .collect()
    }

    fn key_groups(&self) -> Result<Vec<StoredKeyGroup>, StoreError> {
        let mut indexes: Vec<u64> = self.scan(b"k")?.into_iter().map(|(_, i)| i).collect();
        indexes.sort_unstable();
        indexes
            .into_iter()
            .map(|i| match self.decoded(i)? {
                Entry::KeyGroupRegistered { key_group, .. } => {
                    let mut changes = Vec::new();
                    for (version, index) in self.roster_change_indexes(&key_group.name)? {
                        let next = changes.len() as u64 + 1;
                        match self.decoded(index)? {
                            Entry::RosterChanged {
                                roster, version: v, ..
                            } if v == version && v == next => {
                                changes.push(KeyGroupChange::Roster(roster))
                            }
                            Entry::KeyGroupChanged {
                                key_group: refreshed,
                                version: v,
                                ..
                            } if v == version && v == next => {
                                changes.push(KeyGroupChange::Refreshed(Box::new(refreshed)))
                            }
                            other => {
                                return Err(not_a(
                                    index,
                                    "the next change of the key group",
                                    &other,
                                ));
                            }
                        }
                    }
                    let retirement = lookup(b'R', key_group.name.as_str().as_bytes());
                    let retired = match self.index_at(&retirement)? {
                        None => None,
                        Some(index) => match self.decoded(index)? {
                            Entry::KeyGroupRetired { statement, .. } => Some(
                                quorate_types::retirement::Retirement::from_bytes(
                                    statement.as_bytes(),
                                )
                                .map_err(|why| {
                                    StoreError::Corrupt {
                                        key: format!("entry {index}"),
                                        why,
                                    }
                                })?,
                            ),
                            other => return Err(not_a(index, "a retirement", &other)),
                        },
                    };
                    Ok(StoredKeyGroup {
                        registered: key_group,
                        changes,
                        retired,
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
        self.scan(b"r")?
            .into_iter()
            .map(|(_, index)| self.stored(index))
            .collect()
    }

    fn live_ceremonies(&self) -> Result<Vec<StoredCeremony>, StoreError> {
        let read = self.inner.reader()?;
        let live = read.open_table(LIVE).map_err(storage)?;
        let mut requests = Vec::new();
        for kv in live.range(..).map_err(storage)? {
            let (_, v) = kv.map_err(storage)?;
            requests.push(v.value().0);
        }
        requests.sort_unstable();
        requests.into_iter().map(|i| self.stored(i)).collect()
    }

    fn ceremony(&self, id: &CeremonyId) -> Result<Option<StoredCeremony>, StoreError> {
        let size = self.size();
        match self
            .index_at(&lookup(b'r', id.as_str().as_bytes()))?
            .filter(|i| *i < size)
        {
            Some(index) => Ok(Some(self.stored(index)?)),
            None => Ok(None),
        }
    }

    fn ended_counts(&self) -> Result<Vec<EndedCount>, StoreError> {
        let read = self.inner.reader()?;
        let ended = read.open_table(ENDED).map_err(storage)?;
        let mut out = Vec::new();
        for kv in ended.range(..).map_err(storage)? {
            let (k, v) = kv.map_err(storage)?;
            let (key_group, state) = k.value();
            out.push(EndedCount {
                key_group: key_group.to_string(),
                state: state.to_string(),
                count: v.value(),
            });
        }
        Ok(out)
    }

    fn requests_after(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, CeremonyId)>, StoreError> {
        let read = self.inner.reader()?;
        let requests = read.open_table(REQUESTS).map_err(storage)?;
        let from = after.map_or(0, |a| a.saturating_add(1));
        let size = self.size();
        let mut out = Vec::new();
        for kv in requests.range(from..size).map_err(storage)? {
            if out.len() >= limit {
                break;
            }
            let (k, v) = kv.map_err(storage)?;
            let id = CeremonyId::new(v.value()).map_err(|e| StoreError::Corrupt {
                key: format!("request {}", k.value()),
                why: e.to_string(),
            })?;
            out.push((k.value(), id));
        }
        Ok(out)
    }

    fn key_group_entries(&self, name: &KeyGroupName) -> Result<Vec<u64>, StoreError> {
        let size = self.size();
        let Some(registered) = self
            .index_at(&lookup(b'k', name.as_str().as_bytes()))?
            .filter(|i| *i < size)
        else {
            return Err(StoreError::OutOfRange(format!(
                "no key group {name} in the record"
            )));
        };
        let mut out = vec![registered];
        out.extend(
            self.roster_change_indexes(name)?
                .into_iter()
                .map(|(_, i)| i),
        );
        out.extend(self.backup_note_indexes(name)?);
        out.extend(self.index_at(&lookup(b'R', name.as_str().as_bytes()))?);
        out.extend(self.index_at(&lookup(b'H', name.as_str().as_bytes()))?);
        out.retain(|i| *i < size);
        out.sort_unstable();
        Ok(out)
    }

    fn backup_notes_of(
        &self,
        name: &KeyGroupName,
        participant: &quorate_types::ParticipantId,
    ) -> Result<usize, StoreError> {
        let prefix = lookup(b'b', format!("{name}\0{participant}\0").as_bytes());
        Ok(self.scan(&prefix)?.len())
    }

    fn key_ceremony_entries(&self, id: &KeyCeremonyId) -> Result<Vec<u64>, StoreError> {
        let size = self.size();
        let Some(proposal) = self
            .index_at(&lookup(b'K', id.as_str().as_bytes()))?
            .filter(|i| *i < size)
        else {
            return Err(StoreError::OutOfRange(format!(
                "no key ceremony {id} in the record"
            )));
        };
        let Entry::KeyCeremonyProposed { proposal: p, .. } = self.decoded(proposal)? else {
            // (a refresh registers its group as the key group's next version)
            return Err(StoreError::Corrupt {
                key: format!("entry {proposal}"),
                why: "expected a key ceremony proposal".into(),
            });
        };
        let mut out = vec![proposal];
        out.extend(
            self.key_event_indexes(id)?
                .into_iter()
                .filter(|i| *i < size),
        );
        let by = quorate_ceremonies::key::rebuild::registered_by(id);
        let registration = match p.changes() {
            None => lookup(b'k', p.key_group.as_str().as_bytes()),
            Some((_, version)) => index::numbered(b'v', p.key_group.as_str(), version + 1),
        };
        if let Some(registered) = self.index_at(&registration)?.filter(|i| *i < size)
            && matches!(self.decoded(registered)?,
                Entry::KeyGroupRegistered { by: b, .. } | Entry::KeyGroupChanged { by: b, .. } if b == by)
        {
            out.push(registered);
        }
        Ok(out)
    }

    fn ceremony_entries(&self, id: &CeremonyId) -> Result<Vec<u64>, StoreError> {
        // A group just committed is in the database a moment before the
        // log's size counts it: only entries below that size are listed.
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
        Ok(quorate_tlog::root(size, &self.inner.hashes)?)
    }

    fn prove_inclusion(&self, index: u64, size: u64) -> Result<InclusionProof, StoreError> {
        self.check_size(size)?;
        if index >= size {
            return Err(StoreError::OutOfRange(format!(
                "entry {index} is not in a tree of {size} entries"
            )));
        }
        Ok(quorate_tlog::prove_inclusion(
            index,
            size,
            &self.inner.hashes,
        )?)
    }

    fn prove_consistency(&self, old: u64, new: u64) -> Result<ConsistencyProof, StoreError> {
        self.check_size(new)?;
        if old > new {
            return Err(StoreError::OutOfRange(format!(
                "old size {old} is larger than new size {new}"
            )));
        }
        Ok(quorate_tlog::prove_consistency(
            old,
            new,
            &self.inner.hashes,
        )?)
    }
}

impl RedbStore {
    /// The ceremony whose request is entry `index`, with its events.
    fn stored(&self, index: u64) -> Result<StoredCeremony, StoreError> {
        // One read transaction for the request and every event.
        let read = self.inner.reader()?;
        let entries = read.open_table(ENTRIES).map_err(storage)?;
        let decoded = |i: u64| -> Result<Entry, StoreError> {
            let corrupt = |why: String| StoreError::Corrupt {
                key: format!("entry {i}"),
                why,
            };
            let bytes = entries
                .get(i)
                .map_err(storage)?
                .ok_or_else(|| corrupt("missing".into()))?;
            Entry::decode(bytes.value()).map_err(|e| corrupt(e.to_string()))
        };
        let request = match decoded(index)? {
            Entry::CeremonyRequested { request, .. } => request,
            other => return Err(not_a(index, "ceremony request", &other)),
        };
        let size = self.size();
        let mut events = Vec::new();
        for i in self.event_indexes(&request.id)? {
            if i >= size {
                // Committed a moment ago, not yet counted in the log.
                break;
            }
            match decoded(i)? {
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
        Ok(StoredCeremony {
            index,
            request,
            events,
        })
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

fn not_a(index: u64, expected: &str, got: &Entry) -> StoreError {
    StoreError::Corrupt {
        key: format!("entry {index}"),
        why: format!("expected {expected}, found {}", got.kind()),
    }
}

fn broken(e: &StoreError) -> StoreError {
    StoreError::Failed(format!(
        "an earlier write to the record failed and the record cannot be opened again yet \
         ({e}); free disk space or fix the disk, and the next write tries again"
    ))
}

/// Any of redb's errors, as the store reports it.
fn storage(e: impl Into<redb::Error>) -> StoreError {
    StoreError::Storage(e.into())
}
