//! The log's stored hashes (Go tlog layout) in one file of 32-byte slots,
//! stored hash `i` at byte `32 * i`: a proof reads each hash with one
//! positioned read, where a sled lookup cost about ten times as much.
//!
//! The file holds derived data: every hash follows from the entries. The
//! store writes a group's hashes before it flushes the group's entries,
//! syncs the file only now and then, and keeps in sled how many hashes
//! were synced; on opening it keeps that many and recomputes the rest from
//! the entries (see `SledStore::open`), so a crash can only lose or tear
//! hashes that are recomputed.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use quorate_record::{Hash, HashStore, RecordError};

const SLOT: u64 = 32;

pub struct HashFile {
    file: File,
}

impl HashFile {
    /// Opens the file at `path`, creating it empty if it is missing.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        Ok(Self { file })
    }

    /// How many whole hashes the file holds.
    pub fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len() / SLOT)
    }

    pub fn read(&self, index: u64) -> io::Result<Hash> {
        let mut bytes = [0u8; SLOT as usize];
        self.file.read_exact_at(&mut bytes, offset(index)?)?;
        Ok(Hash(bytes))
    }

    /// Writes `hashes` as stored hashes `first`, `first + 1`, ...
    pub fn write(&self, first: u64, hashes: &[Hash]) -> io::Result<()> {
        let bytes: Vec<u8> = hashes.iter().flat_map(|h| h.0).collect();
        self.file.write_all_at(&bytes, offset(first)?)
    }

    /// Keeps the first `count` hashes only.
    pub fn truncate(&self, count: u64) -> io::Result<()> {
        self.file.set_len(offset(count)?)
    }

    /// Makes everything written so far durable.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }
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
