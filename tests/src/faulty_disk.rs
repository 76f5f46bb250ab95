//! A disk that fails on command, under the coordinator's store: a redb
//! storage backend that wraps the real file backend and fails its writes
//! as a full disk does (ENOSPC) or its fsyncs (EIO) while told to.

use std::io;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use quorate_coordinator::store::{DATABASE_FILE, Opener, RedbStore};
use redb::StorageBackend;
use redb::backends::FileBackend;

/// What the disk does wrong, switched by the test.
#[derive(Debug, Default)]
pub struct Faults {
    /// Writes and growth fail as on a full disk (ENOSPC).
    pub full: AtomicBool,
    /// fsync fails (EIO).
    pub sync_fails: AtomicBool,
    /// fsync takes this many milliseconds (a slow or stalling disk).
    pub slow_sync_ms: std::sync::atomic::AtomicU64,
}

#[derive(Debug)]
struct FaultyDisk {
    file: FileBackend,
    faults: Arc<Faults>,
}

type BackendResult<T> = Result<T, redb::BackendError>;

impl StorageBackend for FaultyDisk {
    fn len(&self) -> BackendResult<u64> {
        self.file.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> BackendResult<()> {
        self.file.read(offset, out)
    }
    fn set_len(&self, len: u64) -> BackendResult<()> {
        if self.faults.full.load(Ordering::SeqCst) && len > self.file.len()? {
            return Err(io::Error::from_raw_os_error(28).into());
        }
        self.file.set_len(len)
    }
    fn sync_data(&self) -> BackendResult<()> {
        let slow = self.faults.slow_sync_ms.load(Ordering::SeqCst);
        if slow > 0 {
            std::thread::sleep(std::time::Duration::from_millis(slow));
        }
        if self.faults.sync_fails.load(Ordering::SeqCst) {
            return Err(io::Error::from_raw_os_error(5).into());
        }
        self.file.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> BackendResult<()> {
        if self.faults.full.load(Ordering::SeqCst) {
            return Err(io::Error::from_raw_os_error(28).into());
        }
        self.file.write(offset, data)
    }
    fn close(&self) -> BackendResult<()> {
        self.file.close()
    }
    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> BackendResult<bool> {
        self.file.try_lock_range(start, end)
    }
    fn try_lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> BackendResult<bool> {
        self.file.try_lock_shared_range(start, end)
    }
    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> BackendResult<()> {
        self.file.lock_range(start, end)
    }
    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> BackendResult<()> {
        self.file.lock_shared_range(start, end)
    }
    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> BackendResult<()> {
        self.file.unlock_range(start, end)
    }
    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> BackendResult<bool> {
        self.file.query_lock_range(start, end)
    }
}

/// The store in `dir` on a disk with `faults`.
pub fn open_faulty(
    dir: &std::path::Path,
    faults: &Arc<Faults>,
) -> Result<RedbStore, quorate_coordinator::store::StoreError> {
    RedbStore::open_with(dir, opener(dir, faults))
}

/// Opens the database in `dir` on a disk with `faults`.
pub fn opener(dir: &std::path::Path, faults: &Arc<Faults>) -> Opener {
    let path = dir.join(DATABASE_FILE);
    let faults = Arc::clone(faults);
    Arc::new(move || {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(redb::StorageError::from)?;
        redb::Database::builder().create_with_backend(FaultyDisk {
            file: FileBackend::new(file),
            faults: Arc::clone(&faults),
        })
    })
}
