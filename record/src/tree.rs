//! The tree's stored hashes: where they live, which to append, and the root.
//!
//! The layout is Go tlog's (`stored_hash_index(level, n)`, Crosby and
//! Wallach §3.3): every hash of every complete subtree, in the order the
//! subtrees complete. A store is append-only; entry `n` adds the hashes
//! [`hashes_to_append`] returns, at [`first_stored_index`]`(n)` onwards.

use std::cell::RefCell;

use tlog_tiles::tlog;

use crate::{Hash, RecordError};

/// The largest tree this crate will address: 2^62 entries, so that every
/// stored hash index fits in a `u64`.
pub const MAX_TREE_SIZE: u64 = 1 << 62;

/// Where the tree's stored hashes live (Go tlog layout:
/// `stored_hash_index(level, n)`); the caller stores them in order.
pub trait HashStore {
    /// Returns the hashes at these stored hash indexes, one per index, in
    /// the same order. A hash that is not stored is
    /// [`RecordError::MissingHash`].
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, RecordError>;
}

/// The stored hashes to write, in order starting at stored index
/// [`first_stored_index`]`(n)`, when entry number `n` (0-based) is appended
/// to a tree of size `n`.
pub fn hashes_to_append(
    n: u64,
    entry: &[u8],
    store: &impl HashStore,
) -> Result<Vec<Hash>, RecordError> {
    check_size(n.saturating_add(1))?;
    let hashes = Reader::run(store, |r| tlog::stored_hashes(n, entry, r))?;
    Ok(hashes.into_iter().map(Hash::from).collect())
}

/// As [`hashes_to_append`], from the entry's leaf hash
/// ([`crate::leaf_hash`]) rather than its bytes: for a store that keeps
/// the leaf hashes (PostgreSQL's) and makes the rest from them.
pub fn hashes_to_append_for_leaf(
    n: u64,
    leaf: Hash,
    store: &impl HashStore,
) -> Result<Vec<Hash>, RecordError> {
    check_size(n.saturating_add(1))?;
    let hashes = Reader::run(store, |r| {
        tlog::stored_hashes_for_record_hash(n, leaf.into(), r)
    })?;
    Ok(hashes.into_iter().map(Hash::from).collect())
}

/// The stored index of entry `n`'s leaf hash, which is where the hashes
/// from [`hashes_to_append`]`(n, ..)` start. It equals
/// [`stored_hash_count`]`(n)`. Saturates at `u64::MAX` beyond
/// [`MAX_TREE_SIZE`].
pub fn first_stored_index(n: u64) -> u64 {
    if n > MAX_TREE_SIZE {
        return u64::MAX;
    }
    tlog::stored_hash_index(0, n)
}

/// The tree coordinates `(level, n)` of stored hash `index`: the `n`th
/// hash of level `level` (0 for leaves). None beyond the stored hashes of
/// [`MAX_TREE_SIZE`] entries.
pub fn stored_hash_coordinates(index: u64) -> Option<(u8, u64)> {
    if index >= stored_hash_count(MAX_TREE_SIZE) {
        return None;
    }
    Some(tlog::split_stored_hash_index(index))
}

/// Where the `n`th hash of level `level` is stored: the inverse of
/// [`stored_hash_coordinates`].
pub fn stored_hash_index(level: u8, n: u64) -> u64 {
    tlog::stored_hash_index(level, n)
}

/// How many stored hashes a tree of `size` entries has. Saturates at
/// `u64::MAX` beyond [`MAX_TREE_SIZE`].
pub fn stored_hash_count(size: u64) -> u64 {
    if size > MAX_TREE_SIZE {
        return u64::MAX;
    }
    tlog::stored_hash_count(size)
}

/// The RFC 6962 Merkle tree hash of the first `size` entries; size 0 is
/// SHA-256("").
pub fn root(size: u64, store: &impl HashStore) -> Result<Hash, RecordError> {
    check_size(size)?;
    Reader::run(store, |r| tlog::tree_hash(size, r)).map(Hash::from)
}

pub(crate) fn check_size(size: u64) -> Result<(), RecordError> {
    if size > MAX_TREE_SIZE {
        return Err(RecordError::TreeTooLarge(size));
    }
    Ok(())
}

/// Adapts a [`HashStore`] to tlog's `HashReader`, keeping the store's own
/// error (tlog's error type cannot carry it) and refusing wrong-length
/// answers, on which tlog would panic.
pub(crate) struct Reader<'a, S> {
    store: &'a S,
    failure: RefCell<Option<RecordError>>,
}

impl<S: HashStore> Reader<'_, S> {
    /// Runs a tlog function over `store`, returning the store's error if it
    /// was the store that failed.
    pub(crate) fn run<T>(
        store: &S,
        f: impl FnOnce(&Reader<'_, S>) -> Result<T, tlog::Error>,
    ) -> Result<T, RecordError> {
        let reader = Reader {
            store,
            failure: RefCell::new(None),
        };
        f(&reader).map_err(|e| {
            reader
                .failure
                .take()
                .unwrap_or_else(|| RecordError::Tlog(e.to_string()))
        })
    }
}

impl<S: HashStore> tlog::HashReader for Reader<'_, S> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog::Hash>, tlog::Error> {
        let failure = match self.store.read_hashes(indexes) {
            Ok(hashes) if hashes.len() == indexes.len() => {
                return Ok(hashes.into_iter().map(tlog::Hash::from).collect());
            }
            Ok(hashes) => RecordError::StoreReturnedWrongCount {
                requested: indexes.len(),
                returned: hashes.len(),
            },
            Err(e) => e,
        };
        self.failure.replace(Some(failure));
        Err(tlog::Error::InvalidInput("hash store failed".into()))
    }
}

/// A `Vec<Hash>`-backed [`HashStore`] holding a whole tree in memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryTree {
    hashes: Vec<Hash>,
    size: u64,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an entry and returns its index.
    pub fn append(&mut self, entry: &[u8]) -> u64 {
        let index = self.size;
        match hashes_to_append(index, entry, self) {
            Ok(hashes) => self.hashes.extend(hashes),
            // A MemoryTree holds every stored hash of its tree, and cannot
            // reach MAX_TREE_SIZE in memory.
            Err(e) => unreachable!("MemoryTree is missing its own hashes: {e}"),
        }
        self.size += 1;
        index
    }

    /// The number of entries.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The RFC 6962 root of the whole tree.
    pub fn root(&self) -> Hash {
        match root(self.size, self) {
            Ok(hash) => hash,
            Err(e) => unreachable!("MemoryTree is missing its own hashes: {e}"),
        }
    }

    /// All stored hashes, in stored hash index order.
    pub fn stored_hashes(&self) -> &[Hash] {
        &self.hashes
    }
}

impl HashStore for MemoryTree {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, RecordError> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.hashes.get(i))
                    .copied()
                    .ok_or(RecordError::MissingHash(i))
            })
            .collect()
    }
}
