//! A coordinator replica's store: the record's log in PostgreSQL
//! ([`super::postgres`]) is the source of truth, and a mirror of it in the
//! replica's `data_dir` (an embedded store filled only with what the
//! database took, byte for byte) answers every read at local-disk speed.
//!
//! At start the replica proves that its mirror is the start of the log in
//! the database (equal roots) and catches it up. It then follows the log
//! ([`CeremonyStore::follow`], every [`FOLLOW_EVERY`]): each call imports
//! what other replicas appended, for the hub to apply, and tries to take
//! the sequencing lease. While another replica holds it, appends are
//! refused with [`StoreError::Follower`], naming the holder and the
//! address it advertised. Once this replica takes it (the holder stopped
//! renewing it: stopped, died, or cut off), it imports the last entries
//! and, told that they took effect ([`CeremonyStore::start_writing`]),
//! appends: each caller's entries are checked against the mirror first (a
//! request id or claim recorded already is refused before the database
//! sees it), then appended to PostgreSQL under the lease, then imported
//! into the mirror, which must number them as the database did. The lease
//! is renewed every second; a replica that cannot renew it stops taking
//! writes before it can end by the database's clock, and the database
//! fences it anyway.
//!
//! Any doubt halts the store, and so the coordinator, for a restart that
//! catches up from the database: an append whose outcome is unknown (its
//! connection failed), a lost lease, a mirror that disagrees with the log.

mod name;

use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use quorate_ceremonies::Entry;
use quorate_tlog::{ConsistencyProof, Hash, InclusionProof};
use quorate_types::{CeremonyId, KeyCeremonyId, KeyGroupName, ParticipantId, Party};
use tokio::sync::watch;

use super::postgres::{Database, Holder, Lease, PgError, PgLog};
use super::redb_record::Encoded;
use super::{
    CeremonyStore, EndedCount, Followed, RedbStore, Refusals, StoreError, StoredCeremony,
    StoredKeyCeremony, StoredKeyGroup,
};
use crate::poison::lock;

pub use name::replica_name;

/// How long a taken or renewed lease lasts, by the database's clock.
pub const LEASE: Duration = Duration::from_secs(5);
/// How often the holder renews it.
const RENEW_EVERY: Duration = Duration::from_secs(1);
/// How long one renewal may take before it counts as failed.
const RENEW_TIMEOUT: Duration = Duration::from_secs(2);
/// Entries read from the database per query when catching up.
const CATCH_UP: u32 = 1024;
/// The most entries one [`CeremonyStore::follow`] imports: a follower far
/// behind (cut off for a while) catches up over several, each taking
/// effect before the next, with a stop possible between them. (The
/// catching up before a replica serves takes the whole log at once.)
pub const FOLLOW_AT_MOST: u64 = 16 * CATCH_UP as u64;
/// How often a follower reads new entries and tries to take the lease.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(100);
/// How often a follower says that it is one.
const FOLLOWING_NOTE: Duration = Duration::from_secs(30);

/// A replica's store: the log in PostgreSQL, mirrored in `data_dir`.
pub struct ReplicaStore {
    shared: Arc<Shared>,
    /// Renews the lease, from when this replica takes it.
    renewal: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

struct Shared {
    replica: String,
    /// Where this replica serves, put in the lease when it takes it.
    address: String,
    db: Database,
    mirror: RedbStore,
    /// The connection appends (and, while following, reads of the log)
    /// go through; held for a whole group.
    writer: Arc<tokio::sync::Mutex<PgLog>>,
    /// Callers waiting for the writer: whoever takes it appends them all.
    queue: Mutex<Vec<Pending>>,
    /// The lease, once this replica took it.
    held: Mutex<Option<Held>>,
    /// Whether appends are taken: from when what was followed up to the
    /// lease's taking has taken effect ([`CeremonyStore::start_writing`]).
    writing: AtomicBool,
    /// While following: who holds the lease, as last read.
    holder: Mutex<Option<Holder>>,
    /// While following: when it last said so in the log.
    said: Mutex<Option<Instant>>,
    /// Whether the tree's hashes in the database are complete (checked
    /// once this replica takes the lease).
    tree_complete: AtomicBool,
    /// Whether the writer's connection failed while following: the next
    /// follow makes another.
    stale: AtomicBool,
    /// Notifications of appends, on the writer's connection (it listens).
    news: Mutex<watch::Receiver<u64>>,
    /// The connection proofs are read through (made at the first).
    reader: tokio::sync::Mutex<Option<PgLog>>,
    /// Entries imported by a follow that failed afterwards, for the next.
    unapplied: Mutex<Vec<(u64, Entry)>>,
    /// Why the store halted, once it has.
    halt: watch::Sender<Option<String>>,
}

/// One caller's entries, waiting for the writer.
struct Pending {
    entries: Encoded,
    reply: tokio::sync::oneshot::Sender<Result<Vec<u64>, StoreError>>,
}

/// The lease this replica holds.
#[derive(Clone, Copy)]
struct Held {
    lease: Lease,
    /// By this process's monotonic clock: when it stops taking writes
    /// unless renewed (a renewal's start plus the lease's length, so
    /// never after the lease ends by the database's clock).
    writable_until: Instant,
}

impl Drop for ReplicaStore {
    fn drop(&mut self) {
        if let Some(renewal) = lock(&self.renewal).take() {
            renewal.abort();
        }
    }
}

impl ReplicaStore {
    /// Opens replica `replica`'s store: connects to the database at
    /// `db`, opens the mirror in `dir` and catches it up, then takes the
    /// sequencing lease, waiting as a standby (following the log) for as
    /// long as another replica renews it. It takes writes at once.
    pub async fn open(dir: &Path, db: impl Into<Database>, replica: &str) -> anyhow::Result<Self> {
        let store = Self::following(dir, db, replica, "", |_| Ok(None)).await?;
        loop {
            if store.follow().await?.holding {
                store.start_writing();
                return Ok(store);
            }
            tokio::time::sleep(FOLLOW_EVERY).await;
        }
    }

    /// Opens replica `replica`'s store as a follower: connects to the
    /// database at `db`, opens the mirror in `dir`, proves it the start of
    /// the log and catches it up, then calls `ready` with the log's size
    /// (what this replica needs to serve, its log key, is checked then)
    /// and tries once to take the lease, advertising `address`. `ready`
    /// returns the log key's verifier key, which must be the one the
    /// database records (the first replica's to start records its own), or
    /// `None` where nothing is signed (tests). It takes
    /// no writes until [`CeremonyStore::follow`] says it holds the lease
    /// and [`CeremonyStore::start_writing`] is called.
    pub async fn following(
        dir: &Path,
        db: impl Into<Database>,
        replica: &str,
        address: &str,
        ready: impl FnOnce(u64) -> anyhow::Result<Option<String>>,
    ) -> anyhow::Result<Self> {
        let mirror = RedbStore::open(dir).map_err(|e| match e {
            StoreError::Held => anyhow::anyhow!(
                "another coordinator holds {} (its store is locked): stop that one, or give \
                 this replica another data_dir",
                dir.display()
            ),
            other => anyhow::anyhow!("cannot open the mirror in {}: {other}", dir.display()),
        })?;
        let db: Database = db.into();
        let log = PgLog::connect(db.clone(), replica)
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to the store's database: {e}"))?
            .advertising(address);
        log.listen()
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen for appends in the database: {e}"))?;
        // Before anything is followed: the mirror must be this log's.
        catch_up(&log, &mirror, dir).await?;
        if let Some(vkey) = ready(mirror.size())? {
            agree_on_log_key(&log, &vkey, replica, dir, mirror.size()).await?;
        }
        let news = log.news();
        let store = Self {
            shared: Arc::new(Shared {
                replica: replica.to_string(),
                address: address.to_string(),
                db,
                mirror,
                writer: Arc::new(tokio::sync::Mutex::new(log)),
                queue: Mutex::new(Vec::new()),
                held: Mutex::new(None),
                writing: AtomicBool::new(false),
                holder: Mutex::new(None),
                said: Mutex::new(None),
                news: Mutex::new(news),
                stale: AtomicBool::new(false),
                tree_complete: AtomicBool::new(false),
                reader: tokio::sync::Mutex::new(None),
                unapplied: Mutex::new(Vec::new()),
                halt: watch::Sender::new(None),
            }),
            renewal: Mutex::new(None),
        };
        // What it imports now is in the mirror before anyone reads it.
        store.follow().await?;
        Ok(store)
    }

    /// The epoch of the lease this replica holds (0 while it follows).
    pub fn epoch(&self) -> i64 {
        lock(&self.shared.held).map_or(0, |h| h.lease.epoch)
    }

    /// Whether this replica takes writes.
    pub fn writing(&self) -> bool {
        self.shared.writing.load(Ordering::Acquire)
    }

    /// Follows the log once: imports what it gained, then tries to take
    /// the lease, and if it did, imports what was appended before.
    async fn follow_log(&self) -> Result<Followed, StoreError> {
        let shared = &self.shared;
        let held = *lock(&shared.held);
        if let Some(held) = held {
            // Taken, and its tree completed before it appends.
            if !shared.tree_complete.load(Ordering::Acquire) {
                let mut log = shared.writer.lock().await;
                self.complete_tree(&mut log, held.lease).await?;
            }
            return Ok(Followed {
                entries: std::mem::take(&mut *lock(&shared.unapplied)),
                holding: true,
            });
        }
        let mut log = shared.writer.lock().await;
        // What was imported by a call that failed later is handed on now.
        let mut entries = std::mem::take(&mut *lock(&shared.unapplied));
        match self.follow_once(&mut log, &mut entries).await {
            Ok(holding) => Ok(Followed { entries, holding }),
            Err(e) => {
                *lock(&shared.unapplied) = entries;
                // A connection that failed or went silent is made afresh.
                shared.stale.store(true, Ordering::Release);
                Err(e)
            }
        }
    }

    /// Learns who holds the lease, for the refusals that name it: this
    /// replica does not.
    async fn note_holder(&self, log: &PgLog) -> Result<bool, StoreError> {
        let holder = bounded(log.holder())
            .await
            .map_err(|e| StoreError::Failed(e.to_string()))?;
        self.note_following(holder.as_ref());
        *lock(&self.shared.holder) = holder;
        Ok(false)
    }

    /// [`Self::follow_log`] with the writer's connection: whether it took
    /// the lease, adding what it imported to `entries`.
    async fn follow_once(
        &self,
        log: &mut PgLog,
        entries: &mut Vec<(u64, Entry)>,
    ) -> Result<bool, StoreError> {
        let shared = &self.shared;
        let failed = |e: &dyn std::fmt::Display| StoreError::Failed(e.to_string());
        let followed = |e: FollowError| match e {
            FollowError::Database(e) => failed(&e),
            e @ FollowError::Mirror(_) => StoreError::Failed(shared.stop(e.to_string())),
        };
        if log.is_closed() || shared.stale.swap(false, Ordering::AcqRel) {
            *log = bounded(PgLog::connect(shared.db.clone(), &shared.replica))
                .await
                .map_err(|e| failed(&e))?
                .advertising(&shared.address);
            bounded(log.listen()).await.map_err(|e| failed(&e))?;
            *lock(&shared.news) = log.news();
        }
        // What was notified so far is read now.
        lock(&shared.news).borrow_and_update();
        let caught_up = follow_into(log, &shared.mirror, entries, Some(FOLLOW_AT_MOST))
            .await
            .map_err(followed)?;
        if !caught_up {
            // More to follow: the next call comes at once (its news is
            // here), and the lease waits until this replica has caught up.
            lock(&shared.news).mark_changed();
            return self.note_holder(log).await;
        }
        let start = Instant::now();
        let Some(lease) = bounded(log.acquire(LEASE)).await.map_err(|e| failed(&e))? else {
            return self.note_holder(log).await;
        };
        // Appended before the lease was taken: the last to follow.
        follow_into(log, &shared.mirror, entries, None)
            .await
            .map_err(followed)?;
        let renewals = bounded(PgLog::connect(shared.db.clone(), &shared.replica))
            .await
            .map_err(|e| failed(&e))?;
        *lock(&shared.held) = Some(Held {
            lease,
            writable_until: start + LEASE,
        });
        *lock(&shared.holder) = None;
        let renewal = tokio::spawn(renew(
            Arc::downgrade(&self.shared),
            renewals,
            shared.db.clone(),
        ));
        if let Some(old) = lock(&self.renewal).replace(renewal) {
            old.abort();
        }
        tracing::info!(
            replica = %shared.replica,
            epoch = lease.epoch,
            entries = shared.mirror.size(),
            "took the sequencing lease; the mirror holds the whole log"
        );
        self.complete_tree(log, lease).await?;
        Ok(true)
    }

    /// Completes the tree's hashes in the database, if a log of an
    /// earlier release lacks some, in bounded transactions while the
    /// lease is renewed: before this replica appends.
    async fn complete_tree(&self, log: &mut PgLog, lease: Lease) -> Result<(), StoreError> {
        loop {
            match bounded(log.complete_tree(lease)).await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e @ PgError::LeaseLost { .. }) => {
                    return Err(StoreError::Failed(self.shared.stop(e.to_string())));
                }
                Err(e) => {
                    return Err(StoreError::Failed(format!(
                        "completing the log's tree in PostgreSQL: {e}"
                    )));
                }
            }
        }
        self.shared.tree_complete.store(true, Ordering::Release);
        Ok(())
    }

    /// Says now and then that this replica follows, and whom.
    fn note_following(&self, holder: Option<&Holder>) {
        let mut said = lock(&self.shared.said);
        if said.is_some_and(|at| at.elapsed() < FOLLOWING_NOTE) {
            return;
        }
        *said = Some(Instant::now());
        tracing::info!(
            replica = %self.shared.replica,
            holder = holder.map_or("", |h| h.replica.as_str()),
            address = holder.map_or("", |h| h.address.as_str()),
            epoch = holder.map_or(0, |h| h.epoch),
            entries = self.shared.mirror.size(),
            "following: another replica holds the sequencing lease and takes the writes"
        );
    }
}

/// Refuses a log key other than the one the database records: two
/// replicas signing with different keys would each make the other's
/// checkpoints unverifiable to everyone holding one verifier key. A
/// database with entries that records no key yet (made by an earlier
/// release) takes this replica's only if it signed the checkpoint the
/// witnesses cosigned there, when there is one.
async fn agree_on_log_key(
    log: &PgLog,
    vkey: &str,
    replica: &str,
    dir: &Path,
    size: u64,
) -> anyhow::Result<()> {
    let unreadable =
        |e: PgError| anyhow::anyhow!("cannot read the log key the database records: {e}");
    let file = dir.join(crate::log_key::FILE_NAME);
    if size > 0
        && log.log_key().await.map_err(unreadable)?.is_none()
        && let Some((_, note)) = log.cosigned().await.map_err(unreadable)?
    {
        let ours = quorate_tlog::LogVerifier::parse(vkey)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        if ours.verify_checkpoint(&note).is_err() {
            anyhow::bail!(
                "this replica's log key ({vkey}, in {}) did not sign the checkpoint of the \
                     log the witnesses cosigned, which the database keeps: it is not this log's \
                     key. Copy {} from the data directory of the replica that signed it",
                file.display(),
                crate::log_key::FILE_NAME
            );
        }
    }
    let (recorded, by) = log
        .record_log_key(vkey, replica)
        .await
        .map_err(unreadable)?;
    if recorded != vkey {
        anyhow::bail!(
            "this replica's log key ({vkey}, in {}) is not the one replica {by:?} recorded in \
             the database ({recorded}): every replica signs checkpoints with the same key. Copy \
             {} from {by}'s data directory over this one's",
            file.display(),
            crate::log_key::FILE_NAME
        );
    }
    Ok(())
}

/// Proves that the mirror in `dir` holds the start of the database's log
/// (equal roots at its size), then imports what it lacks.
async fn catch_up(log: &PgLog, mirror: &RedbStore, dir: &Path) -> anyhow::Result<()> {
    let size = log.size().await?;
    let mirrored = mirror.size();
    if mirrored > size {
        anyhow::bail!(
            "the record in {} holds {mirrored} entries, more than the {size} of the log in \
             PostgreSQL: it is not a mirror of that log. Copy it there first \
             (quorate-coordinator migrate --to-postgres), or give this replica an empty data_dir",
            dir.display()
        );
    }
    if mirrored > 0 {
        let theirs = log.root(mirrored).await?;
        let ours = mirror.root(mirrored)?;
        if theirs != ours {
            anyhow::bail!(
                "the record in {} is not the start of the log in PostgreSQL (at {mirrored} \
                 entries its root is {ours}, the database's {theirs}): give this replica an \
                 empty data_dir",
                dir.display()
            );
        }
    }
    follow(log, mirror).await
}

/// Imports into `mirror` every entry of the log it lacks (all of them,
/// into an empty store).
pub(crate) async fn follow(log: &PgLog, mirror: &RedbStore) -> anyhow::Result<()> {
    follow_into(log, mirror, &mut Vec::new(), None)
        .await
        .map(drop)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Why following the log stopped: the database did not answer (try
/// again), or the mirror did not take what it said (halt).
#[derive(Debug, thiserror::Error)]
enum FollowError {
    #[error("reading the log in PostgreSQL: {0}")]
    Database(#[from] PgError),
    #[error("the mirror did not take the log's entries as they are: {0}")]
    Mirror(StoreError),
}

/// As [`follow`], adding what it imported to `imported`: stops once it
/// has imported `at_most` entries if that is given. Whether it reached
/// the end of the log.
async fn follow_into(
    log: &PgLog,
    mirror: &RedbStore,
    imported: &mut Vec<(u64, Entry)>,
    at_most: Option<u64>,
) -> Result<bool, FollowError> {
    let start = mirror.size();
    loop {
        let next = mirror.size();
        if at_most.is_some_and(|most| next - start >= most) {
            return Ok(false);
        }
        let stored = match bounded(log.read(next, CATCH_UP)).await {
            Ok(stored) => stored,
            // An entry whose stored leaf hash is not its bytes' (what the
            // mirror's tree and proofs are made of): no retry mends it.
            Err(e @ PgError::Corrupt { .. }) => {
                return Err(FollowError::Mirror(StoreError::Failed(e.to_string())));
            }
            Err(e) => return Err(e.into()),
        };
        if stored.is_empty() {
            return Ok(true);
        }
        let mut entries = Vec::with_capacity(stored.len());
        for s in stored {
            let entry = Entry::decode(&s.bytes).map_err(|e| {
                FollowError::Mirror(StoreError::Corrupt {
                    key: format!("entry {} of the log in PostgreSQL", s.index),
                    why: e.to_string(),
                })
            })?;
            entries.push((entry, s.bytes));
        }
        let followed: Vec<Entry> = entries.iter().map(|(e, _)| e.clone()).collect();
        let indexes = mirror
            .append_encoded(entries)
            .await
            .map_err(FollowError::Mirror)?;
        if indexes.first() != Some(&next) {
            return Err(FollowError::Mirror(StoreError::Failed(format!(
                "it numbered entry {next} of the log {indexes:?}"
            ))));
        }
        imported.extend(indexes.into_iter().zip(followed));
    }
}

/// Renews the lease every [`RENEW_EVERY`] until the store goes away or
/// halts; halts the store once the lease is lost, or once it could not be
/// renewed in time (reconnecting meanwhile).
async fn renew(shared: Weak<Shared>, conn: PgLog, db: Database) {
    let mut conn = Some(conn);
    // The first at once: catching up after the lease was taken used part
    // of it.
    let mut first = true;
    loop {
        if !std::mem::take(&mut first) {
            tokio::time::sleep(RENEW_EVERY).await;
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.halt.borrow().is_some() {
            return;
        }
        let Some(held) = *lock(&shared.held) else {
            return;
        };
        let start = Instant::now();
        // Connecting again, if need be, and renewing, within the timeout:
        // a database cut off answers neither.
        let attempt = async {
            if conn.is_none() {
                conn = Some(PgLog::connect(&db, &shared.replica).await?);
            }
            match &conn {
                Some(c) => c.renew(held.lease, LEASE).await,
                None => Err(timed_out()),
            }
        };
        let outcome = tokio::time::timeout(RENEW_TIMEOUT, attempt)
            .await
            .unwrap_or_else(|_| Err(timed_out()));
        match outcome {
            Ok(lease) => {
                *lock(&shared.held) = Some(Held {
                    lease,
                    writable_until: start + LEASE,
                });
            }
            Err(e @ PgError::LeaseLost { .. }) => {
                shared.stop(e.to_string());
                return;
            }
            Err(e) => {
                conn = None;
                if Instant::now() >= held.writable_until {
                    shared.stop(format!(
                        "replica {} could not renew its sequencing lease before it ended \
                         ({e}); it stops appending",
                        shared.replica
                    ));
                    return;
                }
                tracing::warn!(replica = %shared.replica, error = %e, "could not renew the lease; trying again");
            }
        }
    }
}

/// `query`, given at most [`RENEW_TIMEOUT`]: a database cut off answers
/// nothing, and a follower must not wait on it forever.
async fn bounded<T>(query: impl Future<Output = Result<T, PgError>>) -> Result<T, PgError> {
    tokio::time::timeout(RENEW_TIMEOUT, query)
        .await
        .unwrap_or_else(|_| Err(timed_out()))
}

fn unreadable(e: PgError) -> StoreError {
    StoreError::Failed(format!("the log in PostgreSQL cannot be read now: {e}"))
}

fn timed_out() -> PgError {
    PgError::Timeout(RENEW_TIMEOUT)
}

impl Shared {
    /// Asks the database through the proofs' connection (made, again if
    /// need be), for at most [`RENEW_TIMEOUT`]: a database cut off would
    /// otherwise hold the call, and a graceful stop waits for calls. A
    /// connection that failed or did not answer is dropped.
    async fn ask<T>(
        &self,
        query: impl FnOnce(
            &PgLog,
        )
            -> std::pin::Pin<Box<dyn Future<Output = Result<T, PgError>> + Send + '_>>,
    ) -> Result<T, StoreError> {
        // Waiting behind another caller counts too.
        let Ok(mut reader) = tokio::time::timeout(RENEW_TIMEOUT, self.reader.lock()).await else {
            return Err(unreadable(timed_out()));
        };
        let asked = bounded(async {
            if reader.as_ref().is_none_or(PgLog::is_closed) {
                *reader = Some(PgLog::connect(self.db.clone(), &self.replica).await?);
            }
            match reader.as_ref() {
                Some(log) => query(log).await,
                None => Err(PgError::Source("no connection".into())),
            }
        })
        .await;
        if asked.is_err() {
            *reader = None;
        }
        asked.map_err(unreadable)
    }

    /// The proof to serve: the database's (`asked`), which must be the
    /// mirror's, made from the same bytes (else the replica halts); the
    /// mirror's if the database could not give one now (cut off, or a log
    /// whose tree it is still completing).
    fn served_proof<P: PartialEq + std::fmt::Debug>(
        &self,
        asked: Result<P, StoreError>,
        mirrored: P,
    ) -> Result<P, StoreError> {
        match asked {
            Ok(proved) if proved == mirrored => Ok(proved),
            Ok(proved) => Err(StoreError::Failed(self.stop(format!(
                "a proof from PostgreSQL is not the mirror's, so they hold different trees: \
                 {proved:?} against {mirrored:?}"
            )))),
            Err(e) => {
                tracing::warn!(replica = %self.replica, error = %e, "a proof from the mirror: the database gave none");
                Ok(mirrored)
            }
        }
    }

    /// The refusal of an append while following: who takes writes.
    fn follower(&self) -> StoreError {
        if let Some(why) = self.halt.borrow().clone() {
            return StoreError::Failed(why);
        }
        let holder = lock(&self.holder).clone();
        StoreError::Follower {
            address: holder
                .as_ref()
                .map(|h| h.address.clone())
                .filter(|a| !a.is_empty()),
            holder: holder.map(|h| h.replica),
        }
    }

    /// Halts the store with `why`, which it returns (the callers' error).
    fn stop(&self, why: String) -> String {
        tracing::error!(replica = %self.replica, %why, "the replica's store halts");
        self.halt.send_if_modified(|h| {
            if h.is_some() {
                return false;
            }
            *h = Some(why.clone());
            true
        });
        why
    }

    /// Appends a group of callers' entries, answering each: checked
    /// against the mirror in order (a caller refused there is answered
    /// so, and the database never sees it), then appended to PostgreSQL
    /// in one transaction, then imported into the mirror in one commit,
    /// which must number them as PostgreSQL did. Holds the writer
    /// throughout (a task of its own, so that a caller that goes away
    /// cannot leave the database and the mirror apart).
    async fn write(&self, log: &mut PgLog, batch: Vec<Pending>) {
        let (replies, callers): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|p| (p.reply, p.entries)).unzip();
        // Refusals (a request recorded already, say) happen here, before
        // the database sees anything.
        let checked = match self.writable() {
            Ok(()) => self.mirror.check(callers).await.map_err(|e| e.to_string()),
            Err(why) => Err(why),
        };
        let (callers, verdicts) = match checked {
            Ok(checked) => checked,
            Err(why) => {
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Failed(why.clone())));
                }
                return;
            }
        };
        let mut accepted = Vec::new();
        let mut group: Encoded = Vec::new();
        for ((reply, entries), verdict) in replies.into_iter().zip(callers).zip(verdicts) {
            match verdict {
                Ok(()) => {
                    accepted.push((reply, entries.len()));
                    group.extend(entries);
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            }
        }
        if accepted.is_empty() {
            return;
        }
        let mut appended = self.append_group(log, group).await.map(Vec::into_iter);
        for (reply, n) in accepted {
            let _ = reply.send(match &mut appended {
                Ok(indexes) => Ok(indexes.by_ref().take(n).collect()),
                Err(why) => Err(StoreError::Failed(why.clone())),
            });
        }
    }

    /// Why this replica takes no writes now, if it does not.
    fn writable(&self) -> Result<(), String> {
        if let Some(why) = self.halt.borrow().clone() {
            return Err(why);
        }
        if !lock(&self.held).is_some_and(|h| Instant::now() < h.writable_until) {
            return Err(format!(
                "replica {} has not renewed its sequencing lease in time: it takes no writes",
                self.replica
            ));
        }
        Ok(())
    }

    /// Appends checked entries to PostgreSQL, then to the mirror; their
    /// indexes, or why not (and the store halted).
    async fn append_group(&self, log: &mut PgLog, group: Encoded) -> Result<Vec<u64>, String> {
        let Some(held) = *lock(&self.held) else {
            return Err(format!(
                "replica {} holds no sequencing lease",
                self.replica
            ));
        };
        let bytes: Vec<&[u8]> = group.iter().map(|(_, b)| b.as_slice()).collect();
        // No later than the lease may have ended: an append still waiting
        // then has an unknown outcome.
        let append =
            tokio::time::timeout_at(held.writable_until.into(), log.append(held.lease, &bytes));
        let indexes = match append.await.unwrap_or_else(|_| Err(PgError::Silent)) {
            Ok(indexes) => indexes,
            Err(e @ PgError::LeaseLost { .. }) => return Err(self.stop(e.to_string())),
            Err(e) => {
                return Err(self.stop(format!(
                    "an append to PostgreSQL failed and its outcome is unknown ({e}): this \
                     coordinator stops; start it again and it catches up from the database"
                )));
            }
        };
        drop(bytes);
        match self.mirror.append_encoded(group).await {
            Ok(mirrored) if mirrored == indexes => Ok(indexes),
            Ok(mirrored) => Err(self.stop(format!(
                "PostgreSQL took entries {indexes:?} but the mirror numbered them {mirrored:?}"
            ))),
            Err(e) => Err(self.stop(format!(
                "PostgreSQL took entries {indexes:?} but the mirror did not ({e}): this \
                 coordinator stops; start it again and it catches up from the database"
            ))),
        }
    }
}

impl CeremonyStore for ReplicaStore {
    async fn append(&self, entries: Vec<Entry>) -> Result<Vec<u64>, StoreError> {
        if !self.writing() {
            return Err(self.shared.follower());
        }
        let entries: Encoded = entries
            .into_iter()
            .map(|e| {
                let bytes = e.encode();
                (e, bytes)
            })
            .collect();
        let (reply, mut answer) = tokio::sync::oneshot::channel();
        lock(&self.shared.queue).push(Pending { entries, reply });
        let went_away = || StoreError::Failed("the replica's writer went away".into());
        tokio::select! {
            // Someone else's group took ours: done, without waiting for
            // the writer (else each caller would append again in turn).
            biased;
            answered = &mut answer => return answered.map_err(|_| went_away())?,
            writer = Arc::clone(&self.shared.writer).lock_owned() => {
                if let Ok(answered) = answer.try_recv() {
                    return answered;
                }
                let batch = std::mem::take(&mut *lock(&self.shared.queue));
                if !batch.is_empty() {
                    let shared = Arc::clone(&self.shared);
                    // The group holds the writer until it is done, even if
                    // this caller goes away meanwhile (a cancelled call).
                    let _ = tokio::spawn(async move {
                        let mut log = writer;
                        shared.write(&mut log, batch).await
                    })
                    .await;
                }
            }
        }
        answer.await.map_err(|_| went_away())?
    }

    fn size(&self) -> u64 {
        self.shared.mirror.size()
    }

    async fn follow(&self) -> Result<Followed, StoreError> {
        self.follow_log().await
    }

    fn news(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut news = lock(&self.shared.news).clone();
        async move {
            if news.changed().await.is_err() {
                // The connection went; the next follow makes another.
                std::future::pending::<()>().await;
            }
        }
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        if self.writing() {
            Ok(())
        } else {
            Err(self.shared.follower())
        }
    }

    fn start_writing(&self) {
        if lock(&self.shared.held).is_some() {
            self.shared.writing.store(true, Ordering::Release);
        }
    }

    fn halted(&self) -> impl Future<Output = String> + Send + 'static {
        let mine = super::halt_of(self.shared.halt.subscribe());
        let mirror = self.shared.mirror.halted();
        async move {
            tokio::select! {
                why = mine => why,
                why = mirror => why,
            }
        }
    }

    fn refusing(&self) -> watch::Receiver<Refusals> {
        self.shared.mirror.refusing()
    }

    async fn close(&self) {
        if let Some(renewal) = lock(&self.renewal).take() {
            renewal.abort();
        }
        // An append in flight ends by the lease's end at the latest.
        let Ok(log) = tokio::time::timeout(LEASE, self.shared.writer.lock()).await else {
            return;
        };
        let why = format!("replica {} closed its store", self.shared.replica);
        if self.shared.halt.send_replace(Some(why)).is_some() {
            return;
        }
        let Some(Held { lease, .. }) = *lock(&self.shared.held) else {
            return;
        };
        match tokio::time::timeout(RENEW_TIMEOUT, log.release(lease))
            .await
            .unwrap_or_else(|_| Err(timed_out()))
        {
            Ok(()) => {
                tracing::info!(replica = %self.shared.replica, "handed the sequencing lease back")
            }
            Err(e) => {
                tracing::warn!(replica = %self.shared.replica, error = %e, "could not hand the lease back; it ends by itself")
            }
        }
    }

    fn entry(&self, index: u64) -> Result<Vec<u8>, StoreError> {
        self.shared.mirror.entry(index)
    }

    fn key_groups(&self) -> Result<Vec<StoredKeyGroup>, StoreError> {
        self.shared.mirror.key_groups()
    }

    fn parties(&self) -> Result<Option<Vec<Party>>, StoreError> {
        self.shared.mirror.parties()
    }

    fn ceremonies(&self) -> Result<Vec<StoredCeremony>, StoreError> {
        self.shared.mirror.ceremonies()
    }

    fn key_ceremonies(&self) -> Result<Vec<StoredKeyCeremony>, StoreError> {
        self.shared.mirror.key_ceremonies()
    }

    fn live_ceremonies(&self) -> Result<Vec<StoredCeremony>, StoreError> {
        self.shared.mirror.live_ceremonies()
    }

    fn ceremony(&self, id: &CeremonyId) -> Result<Option<StoredCeremony>, StoreError> {
        self.shared.mirror.ceremony(id)
    }

    fn ended_counts(&self) -> Result<Vec<EndedCount>, StoreError> {
        self.shared.mirror.ended_counts()
    }

    fn requests_after(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, CeremonyId)>, StoreError> {
        self.shared.mirror.requests_after(after, limit)
    }

    fn ceremony_entries(&self, id: &CeremonyId) -> Result<Vec<u64>, StoreError> {
        self.shared.mirror.ceremony_entries(id)
    }

    fn key_ceremony_entries(&self, id: &KeyCeremonyId) -> Result<Vec<u64>, StoreError> {
        self.shared.mirror.key_ceremony_entries(id)
    }

    fn key_group_entries(&self, name: &KeyGroupName) -> Result<Vec<u64>, StoreError> {
        self.shared.mirror.key_group_entries(name)
    }

    fn backup_notes_of(
        &self,
        name: &KeyGroupName,
        participant: &ParticipantId,
    ) -> Result<usize, StoreError> {
        self.shared.mirror.backup_notes_of(name, participant)
    }

    fn root(&self, size: u64) -> Result<Hash, StoreError> {
        self.shared.mirror.root(size)
    }

    fn prove_inclusion(&self, index: u64, size: u64) -> Result<InclusionProof, StoreError> {
        self.shared.mirror.prove_inclusion(index, size)
    }

    fn prove_consistency(&self, old: u64, new: u64) -> Result<ConsistencyProof, StoreError> {
        self.shared.mirror.prove_consistency(old, new)
    }

    async fn share_cosigned(&self, size: u64, note: &str) {
        let note = note.to_string();
        let shared = self
            .shared
            .ask(|log| Box::pin(async move { log.save_cosigned(size, &note).await }))
            .await;
        if let Err(e) = shared {
            tracing::warn!(replica = %self.shared.replica, error = %e, "cannot share the cosigned checkpoint with the other replicas");
        }
    }

    async fn shared_cosigned(&self) -> Option<(u64, String)> {
        let asked = self.shared.ask(|log| Box::pin(log.cosigned())).await;
        match asked {
            Ok(cosigned) => cosigned,
            Err(e) => {
                tracing::warn!(replica = %self.shared.replica, error = %e, "cannot read the cosigned checkpoint");
                None
            }
        }
    }

    async fn prove_inclusion_at_source(
        &self,
        index: u64,
        size: u64,
    ) -> Result<InclusionProof, StoreError> {
        // The mirror judges the request (an index or size beyond the log
        // is refused as such), and must agree with the database.
        let mirrored = self.shared.mirror.prove_inclusion(index, size)?;
        let asked = self
            .shared
            .ask(|log| Box::pin(log.prove_inclusion(index, size)))
            .await;
        self.shared.served_proof(asked, mirrored)
    }

    async fn prove_consistency_at_source(
        &self,
        old: u64,
        new: u64,
    ) -> Result<ConsistencyProof, StoreError> {
        let mirrored = self.shared.mirror.prove_consistency(old, new)?;
        let asked = self
            .shared
            .ask(|log| Box::pin(log.prove_consistency(old, new)))
            .await;
        self.shared.served_proof(asked, mirrored)
    }
}
