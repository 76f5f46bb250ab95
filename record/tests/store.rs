//! How the tree functions treat the caller's store: hashes go where the Go
//! tlog layout says, and store failures come back as named errors.

use quorate_tlog::{
    Hash, HashStore, MAX_TREE_SIZE, MemoryTree, RecordError, first_stored_index, hashes_to_append,
    hashes_to_append_for_leaf, leaf_hash, prove_consistency, prove_inclusion, root,
    stored_hash_count,
};
use std::cell::RefCell;

/// A store that appends what `hashes_to_append` says, like a database would.
#[derive(Default)]
struct AppendOnly(RefCell<Vec<Hash>>);

impl HashStore for AppendOnly {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, RecordError> {
        let v = self.0.borrow();
        indexes
            .iter()
            .map(|&i| {
                v.get(i as usize)
                    .copied()
                    .ok_or(RecordError::MissingHash(i))
            })
            .collect()
    }
}

#[test]
fn a_caller_store_built_with_hashes_to_append_matches_memory_tree() {
    let store = AppendOnly::default();
    let mut tree = MemoryTree::new();
    for n in 0..40u64 {
        let entry = n.to_be_bytes();
        let hashes = hashes_to_append(n, &entry, &store).unwrap();
        assert_eq!(store.0.borrow().len() as u64, first_stored_index(n));
        store.0.borrow_mut().extend(hashes);
        assert_eq!(store.0.borrow().len() as u64, stored_hash_count(n + 1));
        tree.append(&entry);
        assert_eq!(root(n + 1, &store).unwrap(), tree.root());
    }
    assert_eq!(store.0.borrow().as_slice(), tree.stored_hashes());
}

#[test]
fn stored_hash_layout_is_go_tlog() {
    // Entry n adds its leaf plus one hash per subtree it completes.
    let counts: Vec<u64> = (0..=8).map(stored_hash_count).collect();
    assert_eq!(counts, [0, 1, 3, 4, 7, 8, 10, 11, 15]);
    assert_eq!(first_stored_index(7), 11);
    assert_eq!(first_stored_index(MAX_TREE_SIZE + 1), u64::MAX);
    assert_eq!(stored_hash_count(u64::MAX), u64::MAX);
}

#[test]
fn missing_hashes_are_named() {
    let mut tree = MemoryTree::new();
    for i in 0..10u8 {
        tree.append(&[i]);
    }
    // Ten entries fill stored indexes 0..=17; entry 10's leaf would be 18.
    assert_eq!(stored_hash_count(10), 18);
    let err = root(11, &tree).unwrap_err();
    assert_eq!(err, RecordError::MissingHash(18));
    assert_eq!(err.to_string(), "stored hash 18 is missing");
    assert!(matches!(
        prove_inclusion(3, 12, &tree),
        Err(RecordError::MissingHash(_))
    ));
    assert!(matches!(
        prove_consistency(3, 12, &tree),
        Err(RecordError::MissingHash(_))
    ));
    assert!(matches!(
        hashes_to_append(11, b"x", &tree),
        Err(RecordError::MissingHash(_))
    ));
}

struct Short;

impl HashStore for Short {
    fn read_hashes(&self, _indexes: &[u64]) -> Result<Vec<Hash>, RecordError> {
        Ok(vec![])
    }
}

struct Broken;

impl HashStore for Broken {
    fn read_hashes(&self, _indexes: &[u64]) -> Result<Vec<Hash>, RecordError> {
        Err(RecordError::Store("sled: disk on fire".into()))
    }
}

#[test]
fn store_failures_come_back_instead_of_panicking() {
    assert_eq!(
        root(5, &Short),
        Err(RecordError::StoreReturnedWrongCount {
            requested: 2,
            returned: 0
        })
    );
    assert!(matches!(
        prove_inclusion(0, 5, &Short),
        Err(RecordError::StoreReturnedWrongCount { .. })
    ));
    assert!(matches!(
        prove_consistency(2, 5, &Short),
        Err(RecordError::StoreReturnedWrongCount { .. })
    ));
    assert!(matches!(
        hashes_to_append(1, b"x", &Short),
        Err(RecordError::StoreReturnedWrongCount { .. })
    ));
    let err = root(5, &Broken).unwrap_err();
    assert_eq!(err.to_string(), "hash store failed: sled: disk on fire");
}

#[test]
fn bad_sizes_are_refused() {
    let tree = MemoryTree::new();
    assert_eq!(
        prove_inclusion(3, 3, &tree),
        Err(RecordError::IndexBeyondSize {
            index: 3,
            tree_size: 3
        })
    );
    assert_eq!(
        prove_consistency(4, 3, &tree),
        Err(RecordError::OldSizeExceedsNew {
            old_size: 4,
            new_size: 3
        })
    );
    assert_eq!(
        root(u64::MAX, &tree),
        Err(RecordError::TreeTooLarge(u64::MAX))
    );
    assert!(matches!(
        prove_inclusion(0, u64::MAX, &tree),
        Err(RecordError::TreeTooLarge(_))
    ));
    assert!(matches!(
        hashes_to_append(u64::MAX, b"", &tree),
        Err(RecordError::TreeTooLarge(_))
    ));
    // Empty and equal-size consistency proofs need no hashes at all.
    assert!(prove_consistency(0, 0, &tree).unwrap().hashes.is_empty());
}

#[test]
fn hash_and_proofs_serialize_as_lowercase_hex() {
    let mut tree = MemoryTree::new();
    for i in 0..3u8 {
        tree.append(&[i]);
    }
    let proof = prove_inclusion(2, 3, &tree).unwrap();
    let json = serde_json::to_value(&proof).unwrap();
    let first = proof.hashes[0].to_string();
    assert_eq!(first.len(), 64);
    assert_eq!(first, first.to_lowercase());
    assert_eq!(json["index"], 2);
    assert_eq!(json["tree_size"], 3);
    assert_eq!(json["hashes"][0], first.as_str());
    let back: quorate_tlog::InclusionProof = serde_json::from_value(json).unwrap();
    assert_eq!(back, proof);

    let upper: Hash = serde_json::from_str(&format!("\"{}\"", first.to_uppercase())).unwrap();
    assert_eq!(upper, proof.hashes[0]);
    assert!(serde_json::from_str::<Hash>("\"abcd\"").is_err());
    assert!(serde_json::from_str::<Hash>(&format!("\"{}\"", "zz".repeat(32))).is_err());
    assert!(matches!(
        "abcd".parse::<Hash>(),
        Err(RecordError::MalformedHash(_))
    ));
}

#[test]
fn hashes_from_leaf_hashes_are_the_hashes_from_the_entries() {
    let from_leaves = AppendOnly::default();
    let mut tree = MemoryTree::new();
    for n in 0..100u64 {
        let entry = format!("entry {n}");
        tree.append(entry.as_bytes());
        let hashes = hashes_to_append_for_leaf(n, leaf_hash(entry.as_bytes()), &from_leaves)
            .expect("the store holds every earlier hash");
        assert_eq!(from_leaves.0.borrow().len() as u64, first_stored_index(n));
        from_leaves.0.borrow_mut().extend(hashes);
    }
    assert_eq!(from_leaves.0.borrow().as_slice(), tree.stored_hashes());
    assert_eq!(root(100, &from_leaves).ok(), Some(tree.root()));
}
