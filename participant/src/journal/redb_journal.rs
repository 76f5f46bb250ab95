//! The journal in a redb database, `journal.redb` in the agent's state
//! directory. Changes are committed without waiting for the disk
//! (`Durability::None`); [`JournalStore::sync`] commits with redb's
//! default durability, which makes them and every change before durable.
//! Syncs are grouped: a sync that finds its changes made durable by
//! another, which ran while it waited, returns without one of its own.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use super::store::{Change, JournalStore};

/// The database file, in the agent's state directory.
pub const DATABASE_FILE: &str = "journal.redb";
/// Ceremony id → the journal entry (JSON).
const ENTRIES: TableDefinition<&str, &[u8]> = TableDefinition::new("entries");
/// [`CHECKPOINT`] → the latest verified checkpoint note.
const RECORD: TableDefinition<&str, &str> = TableDefinition::new("record");
const CHECKPOINT: &str = "checkpoint";

pub struct RedbJournal {
    db: Database,
    /// Changes committed so far.
    changes: AtomicU64,
    /// How many of them a sync made durable; held while syncing.
    synced: Mutex<u64>,
}

impl RedbJournal {
    /// Opens the journal in `dir`, creating it if there is none. Refuses a
    /// journal of earlier releases (a sled directory named `journal`):
    /// starting afresh beside it would forget what the approver decided.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let old = dir.join("journal");
        if quorate_secrets::sled_export::is_sled_store(&old) && !dir.join(DATABASE_FILE).exists() {
            anyhow::bail!(
                "{} holds a journal in the sled format of earlier releases: copy it with \
                 `quorate-participant migrate-journal` (state_dir {}), then start again",
                old.display(),
                dir.display()
            );
        }
        Self::create(dir)
    }

    /// Opens or creates the journal in `dir`, whatever else `dir` holds.
    pub(super) fn create(dir: &Path) -> anyhow::Result<Self> {
        let db = Database::create(dir.join(DATABASE_FILE)).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => anyhow::anyhow!(
                "another agent holds the journal in {} (it is locked): stop that one, or give \
                 this one another state_dir",
                dir.display()
            ),
            other => anyhow::anyhow!("cannot open the journal in {}: {other}", dir.display()),
        })?;
        let txn = db.begin_write()?;
        txn.open_table(ENTRIES)?;
        txn.open_table(RECORD)?;
        txn.commit()?;
        Ok(Self {
            db,
            changes: AtomicU64::new(0),
            synced: Mutex::new(0),
        })
    }
}

impl JournalStore for RedbJournal {
    fn get(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let read = self.db.begin_read()?;
        let entries = read.open_table(ENTRIES)?;
        Ok(entries.get(key)?.map(|v| v.value().to_vec()))
    }

    fn all(&self) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
        let read = self.db.begin_read()?;
        let entries = read.open_table(ENTRIES)?;
        let mut out = Vec::new();
        for kv in entries.range(..)? {
            let (k, v) = kv?;
            out.push((k.value().to_string(), v.value().to_vec()));
        }
        Ok(out)
    }

    fn update(&self, key: &str, change: &mut Change<'_>) -> anyhow::Result<Option<Vec<u8>>> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::None)?;
        let stored = {
            let mut entries = txn.open_table(ENTRIES)?;
            let old = entries.get(key)?.map(|v| v.value().to_vec());
            match change(old.as_deref())? {
                Some(new) => {
                    entries.insert(key, new.as_slice())?;
                    Some(new)
                }
                None => old,
            }
        };
        txn.commit()?;
        self.changes.fetch_add(1, Ordering::SeqCst);
        Ok(stored)
    }

    fn sync(&self) -> anyhow::Result<()> {
        let wanted = self.changes.load(Ordering::SeqCst);
        let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
        if *synced >= wanted {
            // Another sync, which ran while this one waited, covered it.
            return Ok(());
        }
        let covers = self.changes.load(Ordering::SeqCst);
        // An empty commit of full durability makes the non-durable
        // commits before it durable.
        let txn = self.db.begin_write()?;
        txn.commit()?;
        *synced = covers;
        Ok(())
    }

    fn checkpoint(&self) -> anyhow::Result<Option<String>> {
        let read = self.db.begin_read()?;
        let record = read.open_table(RECORD)?;
        Ok(record.get(CHECKPOINT)?.map(|v| v.value().to_string()))
    }

    fn set_checkpoint(&self, note: &str) -> anyhow::Result<()> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::None)?;
        txn.open_table(RECORD)?.insert(CHECKPOINT, note)?;
        txn.commit()?;
        self.changes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}
