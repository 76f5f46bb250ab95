//! The log's tree in PostgreSQL: every stored hash of the RFC 6962 tree
//! (Go tlog's layout, [`quorate_tlog::stored_hash_index`]) in
//! `quorate_hashes`, written in the append's own transaction from the
//! entries' leaf hashes, so that the database alone proves what it holds:
//! an inclusion or consistency proof reads the few hashes it needs in one
//! query.
//!
//! The tree functions read hashes synchronously; the database answers
//! asynchronously. So each computation runs twice: once to learn which
//! stored hashes it reads (answered with zeros: which hashes a tree
//! function reads depends only on sizes and indexes), then over those,
//! fetched in one query.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use quorate_tlog::{
    ConsistencyProof, Hash, HashStore, InclusionProof, RecordError, first_stored_index,
    hashes_to_append_for_leaf, stored_hash_count, stored_hash_index,
};
use tokio_postgres::GenericClient;

use super::PgError;

/// Stored hashes as a computation over the database sees them: those
/// fetched, and those it made itself; the rest, while learning what it
/// reads, are zeros it notes as wanted.
struct Tree<'a> {
    fetched: &'a HashMap<u64, Hash>,
    made: RefCell<HashMap<u64, Hash>>,
    wanted: Option<RefCell<BTreeSet<u64>>>,
}

impl HashStore for Tree<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, RecordError> {
        let made = self.made.borrow();
        indexes
            .iter()
            .map(|i| match (made.get(i), self.fetched.get(i), &self.wanted) {
                (Some(h), _, _) | (None, Some(h), _) => Ok(*h),
                (None, None, Some(wanted)) => {
                    wanted.borrow_mut().insert(*i);
                    Ok(Hash([0; 32]))
                }
                (None, None, None) => Err(RecordError::MissingHash(*i)),
            })
            .collect()
    }
}

/// Runs `compute` over the database's stored hashes: once to learn which
/// it reads, then over those, fetched in one query (but for those in
/// `known`, which it takes as they are). With what it computed, every
/// hash it read.
async fn over_database<T>(
    client: &impl GenericClient,
    known: HashMap<u64, Hash>,
    compute: impl Fn(&Tree<'_>) -> Result<T, RecordError>,
) -> Result<(T, HashMap<u64, Hash>), PgError> {
    let learning = Tree {
        fetched: &known,
        made: RefCell::default(),
        wanted: Some(RefCell::default()),
    };
    compute(&learning).map_err(tree_error)?;
    let wanted: Vec<i64> = learning
        .wanted
        .map(RefCell::into_inner)
        .unwrap_or_default()
        .into_iter()
        .map(|i| i64::try_from(i).unwrap_or(i64::MAX))
        .collect();
    let mut fetched = known;
    if !wanted.is_empty() {
        let rows = client
            .query(
                "SELECT idx, hash FROM quorate_hashes WHERE idx = ANY($1)",
                &[&wanted],
            )
            .await?;
        for row in rows {
            let (index, hash): (i64, Vec<u8>) = (row.get(0), row.get(1));
            let index = u64::try_from(index).unwrap_or(u64::MAX);
            let hash = Hash::from_slice(&hash).ok_or_else(|| PgError::Corrupt {
                index,
                why: "its stored tree hash is not 32 bytes".into(),
            })?;
            fetched.insert(index, hash);
        }
    }
    let tree = Tree {
        fetched: &fetched,
        made: RefCell::default(),
        wanted: None,
    };
    let computed = compute(&tree).map_err(tree_error)?;
    Ok((computed, fetched))
}

/// The right edge of the tree of `size` entries, as an appending
/// connection last wrote it: the roots of its complete subtrees (all that
/// the next entries' hashes read besides their own), so that the next
/// append from `size` reads none from the database.
pub(super) struct Edge {
    size: u64,
    hashes: HashMap<u64, Hash>,
}

impl Edge {
    pub(super) fn size(&self) -> u64 {
        self.size
    }
}

/// The stored indexes of the roots of the complete subtrees of a tree of
/// `size` entries, largest first.
fn right_edge(size: u64) -> Vec<u64> {
    let mut start = 0u64;
    let mut out = Vec::new();
    for level in (0..63u8).rev() {
        if size & (1 << level) != 0 {
            out.push(stored_hash_index(level, start >> level));
            start += 1 << level;
        }
    }
    out
}

fn tree_error(e: RecordError) -> PgError {
    PgError::Source(format!("the log's tree in PostgreSQL: {e}"))
}

/// Writes the stored hashes of entries `first..` (their `leaves`), in the
/// caller's transaction, after those of every earlier entry. `edge` is
/// the right edge this connection left at its last append, if any; it is
/// replaced by the new one.
pub(super) async fn append(
    txn: &impl GenericClient,
    first: u64,
    leaves: &[Hash],
    edge: &mut Option<Edge>,
) -> Result<(), PgError> {
    let known = match edge.take() {
        Some(e) if e.size == first => e.hashes,
        _ => HashMap::new(),
    };
    if leaves.is_empty() {
        return Ok(());
    }
    let (made, mut seen) = over_database(txn, known, |tree| {
        let mut out = Vec::new();
        for (k, leaf) in leaves.iter().enumerate() {
            let n = first + k as u64;
            let start = first_stored_index(n);
            let hashes = hashes_to_append_for_leaf(n, *leaf, tree)?;
            let mut made = tree.made.borrow_mut();
            for (j, hash) in hashes.into_iter().enumerate() {
                made.insert(start + j as u64, hash);
                out.push((start + j as u64, hash));
            }
        }
        Ok(out)
    })
    .await?;
    seen.extend(made.iter().copied());
    let size = first + leaves.len() as u64;
    let hashes = right_edge(size)
        .into_iter()
        .filter_map(|i| seen.get(&i).map(|h| (i, *h)))
        .collect();
    let (indexes, bytes): (Vec<i64>, Vec<Vec<u8>>) = made
        .into_iter()
        .map(|(i, h)| (i64::try_from(i).unwrap_or(i64::MAX), h.0.to_vec()))
        .unzip();
    txn.execute(
        "INSERT INTO quorate_hashes (idx, hash) SELECT * FROM unnest($1::bigint[], $2::bytea[])",
        &[&indexes, &bytes],
    )
    .await?;
    *edge = Some(Edge { size, hashes });
    Ok(())
}

/// Brings the stored hashes up to the `size` entries of the log, at most
/// `most` entries' worth, in the caller's transaction (under the lease's
/// lock): a log written before the tree was kept in the database, or by a
/// release that did not keep it, gets the hashes it lacks from its stored
/// leaf hashes. Whether they are all there now.
pub(super) async fn complete(
    txn: &impl GenericClient,
    size: u64,
    most: u64,
) -> Result<bool, PgError> {
    let held: Option<i64> = txn
        .query_one("SELECT max(idx) FROM quorate_hashes", &[])
        .await?
        .get(0);
    let held = held.map_or(0, |m| u64::try_from(m).unwrap_or(0) + 1);
    if held >= stored_hash_count(size) {
        return Ok(true);
    }
    // The entry whose hashes start at `held`: its leaf's is the first.
    let from = match quorate_tlog::stored_hash_coordinates(held) {
        Some((0, n)) if n <= size => n,
        _ => {
            return Err(PgError::Corrupt {
                index: size,
                why: format!("the tree's stored hashes end at {held}, inside an entry's"),
            });
        }
    };
    let to = size.min(from.saturating_add(most));
    let rows = txn
        .query(
            "SELECT leaf FROM quorate_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
            &[&(from as i64), &(to as i64)],
        )
        .await?;
    let leaves = rows
        .iter()
        .map(|r| Hash::from_slice(&r.get::<_, Vec<u8>>(0)))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| PgError::Corrupt {
            index: from,
            why: "a leaf hash is not 32 bytes".into(),
        })?;
    tracing::info!(from, to, "completing the log's tree in PostgreSQL");
    append(txn, from, &leaves, &mut None).await?;
    Ok(to == size)
}

/// Proves entry `index` is in the tree of `size` entries, from the
/// database's stored hashes.
pub(super) async fn prove_inclusion(
    client: &impl GenericClient,
    index: u64,
    size: u64,
) -> Result<InclusionProof, PgError> {
    over_database(client, HashMap::new(), |tree| {
        quorate_tlog::prove_inclusion(index, size, tree)
    })
    .await
    .map(|(proof, _)| proof)
}

/// Proves the tree of `old` entries a prefix of the tree of `new`, from
/// the database's stored hashes.
pub(super) async fn prove_consistency(
    client: &impl GenericClient,
    old: u64,
    new: u64,
) -> Result<ConsistencyProof, PgError> {
    over_database(client, HashMap::new(), |tree| {
        quorate_tlog::prove_consistency(old, new, tree)
    })
    .await
    .map(|(proof, _)| proof)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_right_edge_is_the_roots_of_the_complete_subtrees() {
        let at = stored_hash_index;
        assert!(right_edge(0).is_empty());
        assert_eq!(right_edge(1), [at(0, 0)]);
        assert_eq!(right_edge(3), [at(1, 0), at(0, 2)]);
        assert_eq!(right_edge(4), [at(2, 0)]);
        assert_eq!(right_edge(13), [at(3, 0), at(2, 2), at(0, 12)]);
    }
}
