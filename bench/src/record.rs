//! P4: the record. Durable appends through the coordinator's own redb store
//! (each caller answered only after its group's flush), one caller at a
//! time and many at once, and inclusion proofs in a large log.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quorate_ceremonies::record::{RefusalReason, RefusedAction};
use quorate_ceremonies::{Entry, Timestamp};
use quorate_coordinator::store::{CeremonyStore, RedbStore};
use quorate_tlog::{check_inclusion, leaf_hash};
use quorate_types::KeyGroupName;
use rand_core::RngCore;

use crate::memory::proc_number;
use crate::stats::Samples;

pub struct Appends {
    pub entries: u64,
    pub callers: usize,
    pub elapsed: Duration,
}

impl Appends {
    pub fn per_sec(&self) -> f64 {
        self.entries as f64 / self.elapsed.as_secs_f64()
    }
}

pub struct Proofs {
    pub log_size: u64,
    /// Time to fill the log (batched appends, one flush per batch).
    pub fill: Duration,
    pub proof: Samples,
    /// Bytes the process read from disk while proving (page-cache misses).
    pub disk_read_during_proofs: u64,
    /// The process's resident memory once the log was filled, in KiB.
    pub rss_after_fill_kib: u64,
}

/// An entry of the size of a recorded approval's (~600 bytes).
pub(crate) fn entry(n: u64) -> Entry {
    Entry::Refused {
        at: Timestamp(1_764_000_000_000 + n as i64),
        caller: format!("bench-caller-{}-{n:0>520}", n % 97),
        ceremony: None,
        action: RefusedAction::Approve,
        why: RefusalReason::NotInRoster {
            key_group: KeyGroupName::new("release").expect("a valid key group name"),
        },
    }
}

/// The disk's own rate of durable 600-byte appends: a write at the end of
/// a file then `fdatasync`, `count` times, in the store's directory. One
/// caller's durable appends cannot beat it.
pub fn disk_syncs_per_sec(dir: &Path, count: u32) -> anyhow::Result<f64> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("fsync-probe"))?;
    let record = [0x5au8; 600];
    let started = Instant::now();
    for _ in 0..count {
        file.write_all(&record)?;
        file.sync_data()?;
    }
    Ok(f64::from(count) / started.elapsed().as_secs_f64())
}

/// `callers` tasks each append `per_caller` entries one at a time, each
/// waiting for its entry to be durable before the next, to a new store in
/// `dir`.
pub async fn appends(dir: &Path, callers: usize, per_caller: u64) -> anyhow::Result<Appends> {
    appends_to(Arc::new(RedbStore::open(dir)?), callers, per_caller).await
}

/// As [`appends`], through `store` (any of the coordinator's stores).
pub async fn appends_to<S: CeremonyStore>(
    store: Arc<S>,
    callers: usize,
    per_caller: u64,
) -> anyhow::Result<Appends> {
    let first = store.size();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..callers {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            for i in 0..per_caller {
                store
                    .append(vec![entry(first + c as u64 * per_caller + i)])
                    .await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    let elapsed = started.elapsed();
    let entries = store.size() - first;
    anyhow::ensure!(
        entries == callers as u64 * per_caller,
        "the store took {entries} entries of {} appends",
        callers as u64 * per_caller
    );
    Ok(Appends {
        entries,
        callers,
        elapsed,
    })
}

/// Fills a log with `size` entries, then times `samples` inclusion proofs
/// of random entries against the whole tree (each checked once against the
/// root, outside the timing).
pub async fn proofs(dir: &Path, size: u64, samples: usize) -> anyhow::Result<Proofs> {
    const BATCH: u64 = 20_000;
    let store = RedbStore::open(dir)?;
    let started = Instant::now();
    let mut next = 0;
    while next < size {
        let end = (next + BATCH).min(size);
        store.append((next..end).map(entry).collect()).await?;
        next = end;
    }
    let fill = started.elapsed();
    let root = store.root(size)?;
    let rss_after_fill_kib = proc_number("/proc/self/status", "VmRSS")?;
    let mut disk_read_during_proofs = 0;
    let mut proof = Samples::default();
    let mut rng = rand_core::OsRng;
    for _ in 0..samples {
        let index = rng.next_u64() % size;
        let read_before = proc_number("/proc/self/io", "read_bytes")?;
        let t0 = Instant::now();
        let p = store.prove_inclusion(index, size)?;
        proof.push(t0.elapsed());
        disk_read_during_proofs +=
            proc_number("/proc/self/io", "read_bytes")?.saturating_sub(read_before);
        check_inclusion(&p, leaf_hash(&store.entry(index)?), root)
            .map_err(|e| anyhow::anyhow!("proof of entry {index} does not check: {e}"))?;
    }
    Ok(Proofs {
        log_size: size,
        fill,
        proof,
        disk_read_during_proofs,
        rss_after_fill_kib,
    })
}
