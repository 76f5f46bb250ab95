//! The log's stored hashes (Go tlog layout) in one file of 32-byte slots,
//! stored hash `i` at byte `32 * i`, with the hashes of the tree's upper
//! levels also kept in memory.
//!
//! A proof's hashes below level [`UPPER`] lie in its entry's own aligned
//! 64-entry subtree, whose stored hashes are 127 adjacent slots (one or two
//! pages); the ones above are each in a page of their own, spread over the
//! whole file. Keeping those in memory (one byte per entry: 32 bytes for
//! every 32 stored hashes) makes a proof one or two page reads from the
//! file, whether or not the page cache holds the file: at 10M entries,
//! where it did not, proofs read about 28 KiB each from disk.
//!
//! The file holds derived data: every hash follows from the entries. The
//! store writes a group's hashes before it flushes the group's entries,
//! syncs the file only now and then, and keeps in the database how many hashes
//! were synced; on opening it keeps that many and recomputes the rest from
//! the entries (see `RedbStore::open`), so a crash can only lose or tear
//! hashes that are recomputed.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::RwLock;

use quorate_tlog::{Hash, HashStore, RecordError, stored_hash_coordinates, stored_hash_index};

use crate::poison::{read, write};

const SLOT: u64 = 32;

/// The lowest tree level kept in memory.
pub const UPPER: u8 = 6;

pub struct HashFile {
    file: File,
    /// `upper[k][n]` is the `n`th hash of level `UPPER + k`, for a prefix
    /// of each level: every hash the file holds at these levels.
    upper: RwLock<Vec<Vec<Hash>>>,
}

impl HashFile {
    /// Opens the file at `path`, creating it empty if it is missing, and
    /// reads its upper levels into memory.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let len = file.metadata()?.len() / SLOT;
        let mut upper = Vec::new();
        for level in UPPER.. {
            let mut hashes = Vec::new();
            for n in 0.. {
                let index = stored_hash_index(level, n);
                if index >= len {
                    break;
                }
                hashes.push(read_slot(&file, index)?);
            }
            if hashes.is_empty() {
                break;
            }
            upper.push(hashes);
        }
        Ok(Self {
            file,
            upper: RwLock::new(upper),
        })
    }

    /// How many whole hashes the file holds.
    pub fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len() / SLOT)
    }

    pub fn read(&self, index: u64) -> io::Result<Hash> {
        if let Some(hash) = self.in_memory(index) {
            return Ok(hash);
        }
        read_slot(&self.file, index)
    }

    fn in_memory(&self, index: u64) -> Option<Hash> {
        let (level, n) = stored_hash_coordinates(index)?;
        let k = usize::from(level.checked_sub(UPPER)?);
        read(&self.upper)
            .get(k)?
            .get(usize::try_from(n).ok()?)
            .copied()
    }

    /// Writes `hashes` as stored hashes `first`, `first + 1`, ...
    pub fn write(&self, first: u64, hashes: &[Hash]) -> io::Result<()> {
        let bytes: Vec<u8> = hashes.iter().flat_map(|h| h.0).collect();
        self.file.write_all_at(&bytes, offset(first)?)?;
        let mut upper = write(&self.upper);
        for (index, hash) in (first..).zip(hashes) {
            let Some((level, n)) = stored_hash_coordinates(index) else {
                continue;
            };
            let Some(k) = level.checked_sub(UPPER).map(usize::from) else {
                continue;
            };
            if upper.len() == k {
                upper.push(Vec::new());
            }
            let (Some(hashes), Ok(n)) = (upper.get_mut(k), usize::try_from(n)) else {
                continue;
            };
            // Memory keeps a prefix of each level: a hash past its end
            // (not written in order) is read from the file instead.
            match n.cmp(&hashes.len()) {
                std::cmp::Ordering::Less => hashes[n] = *hash,
                std::cmp::Ordering::Equal => hashes.push(*hash),
                std::cmp::Ordering::Greater => {}
            }
        }
        Ok(())
    }

    /// Keeps the first `count` hashes only.
    pub fn truncate(&self, count: u64) -> io::Result<()> {
        self.file.set_len(offset(count)?)?;
        let mut upper = write(&self.upper);
        for (level, hashes) in (UPPER..).zip(upper.iter_mut()) {
            while !hashes.is_empty() && stored_hash_index(level, hashes.len() as u64 - 1) >= count {
                hashes.pop();
            }
        }
        upper.retain(|hashes| !hashes.is_empty());
        Ok(())
    }

    /// Makes everything written so far durable.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

fn read_slot(file: &File, index: u64) -> io::Result<Hash> {
    let mut bytes = [0u8; SLOT as usize];
    file.read_exact_at(&mut bytes, offset(index)?)?;
    Ok(Hash(bytes))
}

fn offset(index: u64) -> io::Result<u64> {
    index
        .checked_mul(SLOT)
        .ok_or_else(|| io::Error::other(format!("stored hash {index} is beyond any file")))
}

impl HashStore for HashFile {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, RecordError> {
        indexes
            .iter()
            .map(|&i| self.read(i).map_err(|_| RecordError::MissingHash(i)))
            .collect()
    }
}

#[cfg(test)]
mod tests;
