//! The record: every state change as an entry of an append-only,
//! RFC 6962-hashed log, durable before it is acknowledged.
//!
//! The log is the coordinator's only storage: key groups and ceremonies are
//! rebuilt from it at start. [`redb_record`] keeps it in redb, and the
//! tree's hashes in a file of their own ([`hash_file`]): the embedded
//! store, the default. [`replica`] keeps it in PostgreSQL ([`postgres`]),
//! mirrored in a redb store, for replicas over one database.

pub(crate) mod hash_file;
pub mod postgres;
mod redb_record;
pub mod replica;

use std::future::Future;

use quorate_ceremonies::{Action, Entry, Event, Request, Timestamp};
use quorate_tlog::{ConsistencyProof, Hash, InclusionProof};
use quorate_types::KeyGroupFile;
use quorate_types::{CeremonyId, KeyCeremonyId, Party, Roster};

pub use redb_record::{DATABASE_FILE, HASH_FILE, Opener, RedbStore};

/// One accepted event with the time the engine saw it and the decisions
/// recorded with it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub at: Timestamp,
    pub event: Event,
    pub decisions: Vec<Action>,
}

/// A key group as recorded: its registration and each roster change in
/// order (change n gives roster version n).
#[derive(Debug, Clone)]
pub struct StoredKeyGroup {
    pub registered: KeyGroupFile,
    /// Every later version, in order: change n made version n.
    pub changes: Vec<KeyGroupChange>,
    /// Its retirement, once recorded.
    pub retired: Option<quorate_types::retirement::Retirement>,
}

/// What made a key group's next version.
#[derive(Debug, Clone)]
pub enum KeyGroupChange {
    /// An operator's roster change.
    Roster(Roster),
    /// A key ceremony's refresh of the shares.
    Refreshed(Box<KeyGroupFile>),
}

/// A ceremony as recorded: its request and every event, in order.
#[derive(Debug, Clone)]
pub struct StoredCeremony {
    /// The index of the request's entry.
    pub index: u64,
    pub request: Request,
    pub events: Vec<EventRecord>,
}

/// How many ceremonies of a key group ended in a final state (its name,
/// as `quorate_ceremonies::State` displays it).
/// A key ceremony's entries in record order: its proposal, its events
/// and, once it registered a key group, that registration.
#[derive(Debug, Clone)]
pub struct StoredKeyCeremony {
    pub proposed: Entry,
    pub events: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedCount {
    pub key_group: String,
    pub state: String,
    pub count: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage failed: {0}")]
    Storage(#[from] redb::Error),
    #[error("another process holds the store (its database is locked)")]
    Held,
    #[error(
        "{0} holds a record in the sled format of earlier releases: copy it with \
         `quorate-coordinator migrate --from-sled {0} --to NEW_DIR`, then set data_dir to NEW_DIR"
    )]
    OldFormat(String),
    #[error("the record is corrupt at {key}: {why}")]
    Corrupt { key: String, why: String },
    #[error("{0} is recorded already; the record is never rewritten")]
    Exists(String),
    #[error("{0}")]
    OutOfRange(String),
    #[error("{0}")]
    Failed(String),
    #[error("the record's tree: {0}")]
    Tree(#[from] quorate_tlog::RecordError),
    /// A replica that follows the record takes no writes: `holder` (at
    /// `address`) does, if any replica holds the sequencing lease now.
    #[error("{}", follower_says(holder.as_deref(), address.as_deref()))]
    Follower {
        holder: Option<String>,
        address: Option<String>,
    },
}

fn follower_says(holder: Option<&str>, address: Option<&str>) -> String {
    let to = match (holder, address) {
        (Some(h), Some(a)) => format!("replica {h} holds the sequencing lease: send it to {a}"),
        (Some(h), None) => format!(
            "replica {h} holds the sequencing lease (it advertised no address): send it to \
             another of the coordinator's addresses"
        ),
        (None, _) => "no replica holds the sequencing lease just now: try again shortly".into(),
    };
    format!("this coordinator replica follows the record and takes no writes; {to}")
}

/// What following the record brought ([`CeremonyStore::follow`]).
#[derive(Debug, Default)]
pub struct Followed {
    /// The entries another replica appended since, with their indexes,
    /// imported already.
    pub entries: Vec<(u64, Entry)>,
    /// Whether this store holds the sequencing lease (it took it, or
    /// always appends): it takes writes once told to
    /// ([`CeremonyStore::start_writing`]).
    pub holding: bool,
}

/// The refused writes of a store that goes on (not a halted one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refusals {
    /// How many times writes started being refused.
    pub episodes: u64,
    /// Why, the last time.
    pub why: String,
    /// Whether writes are refused now (until one succeeds).
    pub now: bool,
}

/// Resolves with why once `halt` says the store halted; never, if the
/// store goes away first.
pub(crate) async fn halt_of(mut halt: tokio::sync::watch::Receiver<Option<String>>) -> String {
    let why = halt
        .wait_for(Option::is_some)
        .await
        .map(|why| why.clone().unwrap_or_default());
    match why {
        Ok(why) => why,
        Err(_) => std::future::pending().await,
    }
}

/// What the coordinator needs from storage: append entries, read them back,
/// and prove what it holds.
pub trait CeremonyStore: Send + Sync + 'static {
    /// Appends `entries` in order and makes them durable; returns their
    /// indexes. Concurrent appends may share one flush.
    fn append(
        &self,
        entries: Vec<Entry>,
    ) -> impl Future<Output = Result<Vec<u64>, StoreError>> + Send;
    /// Number of entries.
    fn size(&self) -> u64;
    /// Resolves, with why, once the store cannot go on: the record and
    /// this process's state may disagree (a write whose outcome is
    /// unknown). The coordinator then stops, for a restart that rebuilds
    /// its state from the record.
    fn halted(&self) -> impl Future<Output = String> + Send + 'static {
        std::future::pending()
    }
    /// The store's refused writes (a full disk, say): a refused write
    /// leaves the record as it was and the coordinator running, but an
    /// operator must make room. A store that never refuses closes the
    /// channel at once.
    fn refusing(&self) -> tokio::sync::watch::Receiver<Refusals> {
        tokio::sync::watch::channel(Refusals::default()).1
    }
    /// Closes the store at a graceful stop, once nothing appends any more
    /// (a replica hands its lease back, so that another can take over at
    /// once).
    fn close(&self) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
    /// For a store that follows another's writes (a replica without the
    /// sequencing lease, which refuses appends with
    /// [`StoreError::Follower`]): imports what the record gained since,
    /// and takes the lease if nobody holds it. A store that appends
    /// says it holds it, and brings nothing.
    fn follow(&self) -> impl Future<Output = Result<Followed, StoreError>> + Send {
        std::future::ready(Ok(Followed {
            entries: Vec::new(),
            holding: true,
        }))
    }
    /// Why appends would be refused now without trying one (a follower's
    /// [`StoreError::Follower`]), so that a write is refused before it
    /// counts against any limit.
    fn check_writable(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Resolves when another replica may have appended since the last
    /// [`Self::follow`] (it notified so): a follower follows at once
    /// rather than at its next poll. Never, for a store that does not
    /// follow.
    fn news(&self) -> impl Future<Output = ()> + Send + 'static {
        std::future::pending()
    }
    /// Lets a store that took the lease ([`Self::follow`]) take writes:
    /// called once what it followed has taken effect.
    fn start_writing(&self) {}
    /// The canonical bytes of entry `index`.
    fn entry(&self, index: u64) -> Result<Vec<u8>, StoreError>;
    /// Every registered key group with its roster changes, in log order.
    fn key_groups(&self) -> Result<Vec<StoredKeyGroup>, StoreError>;
    /// The requesters, auditors and operators the record last listed.
    fn parties(&self) -> Result<Option<Vec<Party>>, StoreError>;
    /// Every ceremony with its events (reads the whole history).
    fn ceremonies(&self) -> Result<Vec<StoredCeremony>, StoreError>;
    /// Every key ceremony, oldest first (they are few: one per key group
    /// made or changed).
    fn key_ceremonies(&self) -> Result<Vec<StoredKeyCeremony>, StoreError>;
    /// Every live ceremony (open, or signed under break-glass and awaiting
    /// review) with its events, in order of request.
    fn live_ceremonies(&self) -> Result<Vec<StoredCeremony>, StoreError>;
    /// One ceremony with its events, live or ended.
    fn ceremony(&self, id: &CeremonyId) -> Result<Option<StoredCeremony>, StoreError>;
    /// How many ceremonies ended, by key group and final state.
    fn ended_counts(&self) -> Result<Vec<EndedCount>, StoreError>;
    /// Up to `limit` ceremonies by the index of their request, after the
    /// one at `after` (from the first if `None`): the order history is
    /// listed in.
    fn requests_after(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, CeremonyId)>, StoreError>;
    /// Indexes of the ceremony's entries: its key group's registration, the
    /// roster changes up to the version it is judged by, its request, then
    /// its events.
    fn ceremony_entries(&self, id: &CeremonyId) -> Result<Vec<u64>, StoreError>;
    /// The log indexes of a key ceremony's proposal, events and the
    /// registration of the key group it made, if it did.
    fn key_ceremony_entries(&self, id: &KeyCeremonyId) -> Result<Vec<u64>, StoreError>;
    /// The log indexes of a key group's history, in order: its
    /// registration, every roster and key group change, and every backup
    /// note of its participants.
    fn key_group_entries(&self, name: &quorate_types::KeyGroupName)
    -> Result<Vec<u64>, StoreError>;
    /// How many backup notes of `participant` in key group `name` the
    /// record holds.
    fn backup_notes_of(
        &self,
        name: &quorate_types::KeyGroupName,
        participant: &quorate_types::ParticipantId,
    ) -> Result<usize, StoreError>;
    fn root(&self, size: u64) -> Result<Hash, StoreError>;
    fn prove_inclusion(&self, index: u64, size: u64) -> Result<InclusionProof, StoreError>;
    fn prove_consistency(&self, old: u64, new: u64) -> Result<ConsistencyProof, StoreError>;
    /// Shares the latest checkpoint the witnesses cosigned (`note`, of
    /// `size` entries) with the other replicas, if there are any.
    fn share_cosigned(&self, size: u64, note: &str) -> impl Future<Output = ()> + Send {
        let _ = (size, note);
        std::future::ready(())
    }
    /// The latest cosigned checkpoint another replica shared, with its
    /// size; `None` if none, or no replicas.
    fn shared_cosigned(&self) -> impl Future<Output = Option<(u64, String)>> + Send {
        std::future::ready(None)
    }
    /// As [`Self::prove_inclusion`], from the record's source of truth:
    /// what the audit API serves. For a replica, the database (and the
    /// mirror must agree); for the embedded store, itself.
    fn prove_inclusion_at_source(
        &self,
        index: u64,
        size: u64,
    ) -> impl Future<Output = Result<InclusionProof, StoreError>> + Send {
        std::future::ready(self.prove_inclusion(index, size))
    }
    /// As [`Self::prove_consistency`], from the record's source of truth
    /// ([`Self::prove_inclusion_at_source`]).
    fn prove_consistency_at_source(
        &self,
        old: u64,
        new: u64,
    ) -> impl Future<Output = Result<ConsistencyProof, StoreError>> + Send {
        std::future::ready(self.prove_consistency(old, new))
    }
}
