//! The record in redb: append-only, durable across reopening, provable, and
//! safe under concurrent appends (group commit).

use std::sync::Arc;

mod entries;

use entries::{event, request};
use quorate_ceremonies::Entry;
use quorate_coordinator::store::{CeremonyStore, RedbStore, StoreError};
use quorate_tlog::{MemoryTree, check_consistency, check_inclusion, leaf_hash};

#[tokio::test]
async fn appends_are_durable_provable_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let mut mirror = MemoryTree::new();
    let entries = vec![request("c1"), event("c1", 0), event("c1", 1)];
    {
        let store = RedbStore::open(dir.path()).unwrap();
        let indexes = store.append(entries.clone()).await.unwrap();
        assert_eq!(indexes, vec![0, 1, 2]);
        for e in &entries {
            mirror.append(&e.encode());
        }
        // The same event number again, alone or in a batch: refused whole.
        let err = store.append(vec![event("c1", 1)]).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Exists(what) if what == "event 1 of ceremony c1"),
            "{err}"
        );
        let err = store
            .append(vec![event("c1", 2), request("c1")])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Exists(_)), "{err}");
        assert_eq!(store.size(), 3, "a refused append wrote nothing");
    }
    let store = RedbStore::open(dir.path()).unwrap();
    assert_eq!(store.size(), 3);
    assert_eq!(store.root(3).unwrap(), mirror.root());
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(store.entry(i as u64).unwrap(), e.encode());
        let proof = store.prove_inclusion(i as u64, 3).unwrap();
        check_inclusion(&proof, leaf_hash(&e.encode()), mirror.root()).unwrap();
    }
    let old_root = store.root(1).unwrap();
    let proof = store.prove_consistency(1, 3).unwrap();
    check_consistency(&proof, old_root, mirror.root()).unwrap();
    let ceremonies = store.ceremonies().unwrap();
    assert_eq!(ceremonies.len(), 1);
    assert_eq!(ceremonies[0].events.len(), 2);
    // Out of range reads are errors, not panics.
    assert!(matches!(store.entry(3), Err(StoreError::OutOfRange(_))));
    assert!(matches!(
        store.prove_inclusion(3, 3),
        Err(StoreError::OutOfRange(_))
    ));
    assert!(matches!(store.root(4), Err(StoreError::OutOfRange(_))));
    assert!(matches!(
        store.prove_consistency(3, 2),
        Err(StoreError::OutOfRange(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_share_flushes_and_keep_one_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(RedbStore::open(dir.path()).unwrap());
    let mut tasks = Vec::new();
    for c in 0..32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("c{c}");
            let mut got = store.append(vec![request(&id)]).await.unwrap();
            for seq in 0..4 {
                got.extend(store.append(vec![event(&id, seq)]).await.unwrap());
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        let got = t.await.unwrap();
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "a ceremony's entries keep their order"
        );
        all.extend(got);
    }
    all.sort_unstable();
    assert_eq!(all, (0..32 * 5).collect::<Vec<u64>>());
    let mut mirror = MemoryTree::new();
    for i in 0..store.size() {
        mirror.append(&store.entry(i).unwrap());
    }
    assert_eq!(store.root(store.size()).unwrap(), mirror.root());
    assert_eq!(store.ceremonies().unwrap().len(), 32);
}

/// Checks the store's root, a proof of every `step`th entry and a
/// consistency proof against the mirror of its entries.
fn assert_provable(store: &RedbStore, mirror: &MemoryTree, step: usize) {
    let size = store.size();
    assert_eq!(store.root(size).unwrap(), mirror.root(), "root of {size}");
    for i in (0..size).step_by(step) {
        let proof = store.prove_inclusion(i, size).unwrap();
        check_inclusion(&proof, leaf_hash(&store.entry(i).unwrap()), mirror.root()).unwrap();
    }
    let half = size / 2;
    let proof = store.prove_consistency(half, size).unwrap();
    check_consistency(&proof, store.root(half).unwrap(), mirror.root()).unwrap();
}

/// Appends `count` ceremony requests named from `from`, in batches of
/// `batch`, to the store and the mirror.
async fn fill(store: &RedbStore, mirror: &mut MemoryTree, from: usize, count: usize, batch: usize) {
    let entries: Vec<Entry> = (from..from + count)
        .map(|i| request(&format!("c{i}")))
        .collect();
    for group in entries.chunks(batch) {
        store.append(group.to_vec()).await.unwrap();
        for e in group {
            mirror.append(&e.encode());
        }
    }
}

/// The tree's hashes live in a file beside the database, synced only now and
/// then: whatever of it a crash loses or tears beyond the last sync is
/// recomputed from the entries when the store opens.
#[tokio::test]
async fn hashes_lost_or_torn_are_recomputed_from_the_entries() {
    let dir = tempfile::tempdir().unwrap();
    let hashes = dir.path().join("hashes");
    let mut mirror = MemoryTree::new();
    {
        let store = RedbStore::open(dir.path()).unwrap();
        fill(&store, &mut mirror, 0, 50, 7).await;
        assert_provable(&store, &mirror, 1);
    }
    // The whole file gone (as in a store that kept no hash file).
    std::fs::remove_file(&hashes).unwrap();
    {
        let store = RedbStore::open(dir.path()).unwrap();
        assert_provable(&store, &mirror, 1);
        fill(&store, &mut mirror, 50, 20, 3).await;
    }
    // Cut short in the middle of a hash.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&hashes)
        .unwrap();
    file.set_len(32 * 40 + 5).unwrap();
    drop(file);
    {
        let store = RedbStore::open(dir.path()).unwrap();
        assert_provable(&store, &mirror, 1);
        fill(&store, &mut mirror, 70, 20, 4).await;
    }
    // The unsynced tail torn (garbage), and garbage beyond the end.
    let mut bytes = std::fs::read(&hashes).unwrap();
    let len = bytes.len();
    bytes[len - 32 * 10..].fill(0xa5);
    bytes.extend([0x5a; 100]);
    std::fs::write(&hashes, bytes).unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    assert_eq!(store.size(), 90);
    assert_provable(&store, &mirror, 1);
    let count = quorate_tlog::stored_hash_count(90);
    assert_eq!(std::fs::metadata(&hashes).unwrap().len(), 32 * count);
}

/// Past a sync of the hash file (every 16,384 hashes) the store goes on
/// appending, reopens and proves as before.
#[tokio::test]
async fn a_log_past_a_hash_file_sync_stays_provable() {
    let dir = tempfile::tempdir().unwrap();
    let mut mirror = MemoryTree::new();
    {
        let store = RedbStore::open(dir.path()).unwrap();
        fill(&store, &mut mirror, 0, 9_500, 1_000).await;
        assert_provable(&store, &mirror, 97);
    }
    let store = RedbStore::open(dir.path()).unwrap();
    assert_eq!(store.size(), 9_500);
    assert_provable(&store, &mirror, 97);
    fill(&store, &mut mirror, 9_500, 10, 10).await;
    assert_provable(&store, &mirror, 97);
}
