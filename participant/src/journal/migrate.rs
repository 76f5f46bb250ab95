//! `quorate-participant migrate-journal --from-sled`: copies the journal
//! of an earlier release (a sled database, `journal/` in the state
//! directory) into `journal.redb`, value for value. The old journal is only
//! read (through `quorate-sled-export`, which reads a copy).

use std::path::Path;

use quorate_secrets::sled_export;

use super::redb_journal::{DATABASE_FILE, RedbJournal};
use super::store::JournalStore;

/// sled's default tree, where the journal kept its entries.
const DEFAULT_TREE: &[u8] = b"__sled__default";
const RECORD_TREE: &[u8] = b"record";
const CHECKPOINT: &[u8] = b"checkpoint";

/// Copies the sled journal in `state_dir/journal` into a new journal in
/// `state_dir`; returns how many ceremonies' entries it copied.
pub fn from_sled(state_dir: &Path, exporter: Option<&Path>) -> anyhow::Result<usize> {
    let old = state_dir.join("journal");
    if !sled_export::is_sled_store(&old) {
        anyhow::bail!(
            "{} holds no journal of an earlier release (no sled database): nothing to migrate",
            old.display()
        );
    }
    let new = state_dir.join(DATABASE_FILE);
    if new.exists() {
        anyhow::bail!(
            "{} exists already: the journal was migrated, or this agent started afresh",
            new.display()
        );
    }
    let records = sled_export::export(&old, exporter)?;
    let made = copy(state_dir, &records);
    if made.is_err() {
        let _ = std::fs::remove_file(&new);
    }
    made
}

fn copy(state_dir: &Path, records: &[sled_export::Record]) -> anyhow::Result<usize> {
    let journal = RedbJournal::create(state_dir)?;
    let mut copied = 0;
    for r in records {
        if r.tree == DEFAULT_TREE {
            let id = std::str::from_utf8(&r.key).map_err(|_| {
                anyhow::anyhow!(
                    "the old journal has a key that is not a ceremony id: {:?}",
                    r.key
                )
            })?;
            journal.update(id, &mut |_| Ok(Some(r.value.clone())))?;
            copied += 1;
        } else if r.tree == RECORD_TREE && r.key == CHECKPOINT {
            journal.set_checkpoint(&String::from_utf8_lossy(&r.value))?;
        }
    }
    journal.sync()?;
    Ok(copied)
}
