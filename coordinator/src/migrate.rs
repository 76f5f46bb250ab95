//! `quorate-coordinator migrate --from-sled OLD --to NEW`: copies the
//! record of an earlier release's store (sled) into a new store, entry by
//! entry, byte for byte, and proves that the new log's root hash equals
//! the old one's before it keeps anything. The old store is only read.
//!
//! The old root comes from what the old store kept of its tree: its hash
//! file, as far as it had synced it, or the hashes it kept in sled before
//! it had a hash file. A store that kept neither for every entry has its
//! root computed from its entries, and the report says so.

pub mod postgres;

use std::collections::BTreeMap;
use std::path::Path;

use quorate_secrets::sled_export::{self, Record, is_sled_store};
use quorate_tlog::{Hash, HashStore, MemoryTree, RecordError};

use crate::log_key;
use crate::store::hash_file::HashFile;
use crate::store::{CeremonyStore, DATABASE_FILE, HASH_FILE, RedbStore};

/// The sled tree that held the record.
const TREE: &[u8] = b"record";
/// Entries migrated per write transaction.
const CHUNK: usize = 4096;

/// What a migration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    pub entries: u64,
    pub root: Hash,
    /// Where the old root came from.
    pub old_root_from: OldRoot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldRoot {
    /// The old store's hash file; `synced` if the old store had synced it
    /// as far as the log reached (else it relied on the page cache, as a
    /// store that was not restarted after a crash of its machine may not).
    HashFile { synced: bool },
    /// The hashes the old store kept in sled.
    SledHashes,
    /// The old store's entries: it kept no hashes for all of them.
    Entries,
}

impl std::fmt::Display for OldRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::HashFile { synced: true } => "its hash file",
            Self::HashFile { synced: false } => "its hash file (not synced this far)",
            Self::SledHashes => "the hashes it kept in sled",
            Self::Entries => "its entries (it kept no hashes for all of them)",
        })
    }
}

/// Copies the record of the sled store in `old` into a new store in
/// `new`, with the log key, and proves the roots equal. On any failure it
/// removes what it made in `new`.
pub async fn from_sled(
    old: &Path,
    new: &Path,
    exporter: Option<&Path>,
) -> anyhow::Result<Migrated> {
    if !is_sled_store(old) {
        anyhow::bail!(
            "{} holds no sled store (no conf and db files): name the data_dir of the earlier release",
            old.display()
        );
    }
    for made in [DATABASE_FILE, HASH_FILE, log_key::FILE_NAME] {
        if new.join(made).exists() {
            anyhow::bail!(
                "{} holds {made} already: migrate into an empty directory",
                new.display()
            );
        }
    }
    let records = sled_export::export(old, exporter)?;
    let entries = entries(&records)?;
    let size = entries.len() as u64;
    let (old_root, old_root_from) = old_root(old, &records, &entries)?;
    std::fs::create_dir_all(new)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", new.display()))?;
    let copied = copy(old, new, entries, size, old_root, old_root_from).await;
    if copied.is_err() {
        for made in [DATABASE_FILE, HASH_FILE, log_key::FILE_NAME] {
            let _ = std::fs::remove_file(new.join(made));
        }
    }
    copied?;
    Ok(Migrated {
        entries: size,
        root: old_root,
        old_root_from,
    })
}

async fn copy(
    old: &Path,
    new: &Path,
    entries: Vec<Vec<u8>>,
    size: u64,
    old_root: Hash,
    old_root_from: OldRoot,
) -> anyhow::Result<()> {
    let store = RedbStore::open(new)?;
    let mut chunks = entries.into_iter().peekable();
    while chunks.peek().is_some() {
        let chunk: Vec<Vec<u8>> = chunks.by_ref().take(CHUNK).collect();
        store.import(chunk).await?;
    }
    let new_root = store.root(size)?;
    if new_root != old_root {
        anyhow::bail!(
            "the new record's root hash {new_root} differs from the old one's {old_root}, \
             from {old_root_from}: nothing was migrated. If the old coordinator's machine \
             crashed since it last started, start the earlier release once on the old store, \
             which recomputes its hashes, stop it, and migrate again"
        );
    }
    let key = old.join(log_key::FILE_NAME);
    if key.exists() {
        std::fs::copy(&key, new.join(log_key::FILE_NAME))
            .map_err(|e| anyhow::anyhow!("cannot copy the log key {}: {e}", key.display()))?;
    }
    Ok(())
}

/// The old record's entries, in order: `e`‖index big-endian keys of its
/// tree, which must run from 0 without a gap.
fn entries(records: &[Record]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for r in records.iter().filter(|r| r.tree == TREE) {
        let Some(index) = numbered(&r.key, b'e') else {
            continue;
        };
        if index != out.len() as u64 {
            anyhow::bail!(
                "the old store lacks entry {} (it holds entry {index} after it): it is damaged",
                out.len()
            );
        }
        out.push(r.value.clone());
    }
    Ok(out)
}

/// The old log's root, from the hashes it kept where it kept all it needs.
fn old_root(
    old: &Path,
    records: &[Record],
    entries: &[Vec<u8>],
) -> anyhow::Result<(Hash, OldRoot)> {
    let size = entries.len() as u64;
    let need = quorate_tlog::stored_hash_count(size);
    let synced = records
        .iter()
        .find(|r| r.tree == TREE && r.key == b"H")
        .and_then(|r| <[u8; 8]>::try_from(r.value.as_slice()).ok())
        .map_or(0, u64::from_be_bytes);
    let file = old.join(HASH_FILE);
    if file.is_file() {
        let hashes = HashFile::open(&file)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
        if hashes.len()? >= need {
            let synced = synced >= need;
            return Ok((
                quorate_tlog::root(size, &hashes)?,
                OldRoot::HashFile { synced },
            ));
        }
    }
    let kept = SledHashes(
        records
            .iter()
            .filter(|r| r.tree == TREE)
            .filter_map(|r| {
                let index = numbered(&r.key, b'h')?;
                Some((index, Hash(r.value.as_slice().try_into().ok()?)))
            })
            .collect(),
    );
    if kept.0.len() as u64 >= need
        && size > 0
        && let Ok(root) = quorate_tlog::root(size, &kept)
    {
        return Ok((root, OldRoot::SledHashes));
    }
    let mut tree = MemoryTree::new();
    for entry in entries {
        tree.append(entry);
    }
    Ok((tree.root(), OldRoot::Entries))
}

/// `tag`‖n big-endian: n.
fn numbered(key: &[u8], tag: u8) -> Option<u64> {
    let (first, rest) = key.split_first()?;
    (*first == tag).then_some(())?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

/// Stored hashes as stores before the hash file kept them, under
/// `h`‖stored index.
struct SledHashes(BTreeMap<u64, Hash>);

impl HashStore for SledHashes {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, RecordError> {
        indexes
            .iter()
            .map(|i| self.0.get(i).copied().ok_or(RecordError::MissingHash(*i)))
            .collect()
    }
}
