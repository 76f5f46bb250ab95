//! RFC 6962 inclusion ("audit path") and consistency proofs.
//!
//! Hashes are in RFC 6962 / Certificate Transparency order: the sibling
//! nearest the leaf (or the old root) first.

use serde::{Deserialize, Serialize};
use tlog_tiles::tlog;

use crate::tree::{Reader, check_size};
use crate::{EMPTY_ROOT, Hash, HashStore, ProofError, RecordError};

/// Proof that entry `index` is in the tree of size `tree_size`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    pub index: u64,
    pub tree_size: u64,
    pub hashes: Vec<Hash>,
}

/// Proof that the tree of size `old_size` is a prefix of the tree of size
/// `new_size`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ConsistencyProof {
    pub old_size: u64,
    pub new_size: u64,
    pub hashes: Vec<Hash>,
}

/// Proves that entry `index` is in the tree of size `tree_size`.
pub fn prove_inclusion(
    index: u64,
    tree_size: u64,
    store: &impl HashStore,
) -> Result<InclusionProof, RecordError> {
    check_size(tree_size)?;
    if index >= tree_size {
        return Err(RecordError::IndexBeyondSize { index, tree_size });
    }
    let hashes = Reader::run(store, |r| tlog::prove_record(tree_size, index, r))?;
    Ok(InclusionProof {
        index,
        tree_size,
        hashes: hashes.into_iter().map(Hash::from).collect(),
    })
}

/// Proves that the tree of size `old_size` is a prefix of the tree of size
/// `new_size`. The proof is empty when `old_size` is 0 or equals `new_size`.
pub fn prove_consistency(
    old_size: u64,
    new_size: u64,
    store: &impl HashStore,
) -> Result<ConsistencyProof, RecordError> {
    check_size(new_size)?;
    if old_size > new_size {
        return Err(RecordError::OldSizeExceedsNew { old_size, new_size });
    }
    let hashes = if old_size == 0 || old_size == new_size {
        Vec::new()
    } else {
        Reader::run(store, |r| tlog::prove_tree(new_size, old_size, r))?
            .into_iter()
            .map(Hash::from)
            .collect()
    };
    Ok(ConsistencyProof {
        old_size,
        new_size,
        hashes,
    })
}

/// Checks that `proof` leads from `leaf` (a [`crate::leaf_hash`]) at
/// `proof.index` to `root` of the tree of size `proof.tree_size`.
pub fn check_inclusion(proof: &InclusionProof, leaf: Hash, root: Hash) -> Result<(), ProofError> {
    let (index, tree_size) = (proof.index, proof.tree_size);
    if index >= tree_size {
        return Err(ProofError::IndexBeyondSize { index, tree_size });
    }
    let (inner, border) = decompose(index, tree_size);
    check_count(inner + border, proof.hashes.len())?;
    let hashes = to_tlog(&proof.hashes);
    tlog::check_record(&hashes, tree_size, root.into(), index, leaf.into()).map_err(|e| match e {
        tlog::Error::InvalidProof => ProofError::InclusionRootMismatch,
        other => ProofError::Tlog(other.to_string()),
    })
}

/// Checks that `proof` shows the tree with `old_root` at `proof.old_size` is
/// a prefix of the tree with `new_root` at `proof.new_size`.
pub fn check_consistency(
    proof: &ConsistencyProof,
    old_root: Hash,
    new_root: Hash,
) -> Result<(), ProofError> {
    let (old_size, new_size) = (proof.old_size, proof.new_size);
    if old_size > new_size {
        return Err(ProofError::OldSizeExceedsNew { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        check_count(0, proof.hashes.len())?;
        if old_size == 0 && old_root != EMPTY_ROOT {
            return Err(ProofError::EmptyTreeRootMismatch);
        }
        if old_size == new_size && old_root != new_root {
            return Err(ProofError::EqualSizeRootsDiffer { size: old_size });
        }
        return Ok(());
    }
    // As in RFC 9162 §2.1.4.2: the proof climbs from the old tree's last
    // leaf, starting above its largest complete subtree, and carries that
    // subtree's hash first unless it is the whole old tree.
    let shift = old_size.trailing_zeros();
    let (inner, border) = decompose(old_size - 1, new_size);
    let seed = usize::from(old_size != 1 << shift);
    check_count(
        seed + inner.saturating_sub(shift as usize) + border,
        proof.hashes.len(),
    )?;
    let hashes = to_tlog(&proof.hashes);
    tlog::check_tree(
        &hashes,
        new_size,
        new_root.into(),
        old_size,
        old_root.into(),
    )
    .map_err(|e| match e {
        tlog::Error::InvalidProof => ProofError::ConsistencyRootMismatch,
        other => ProofError::Tlog(other.to_string()),
    })
}

/// Splits the audit path of leaf `index` in a tree of `size` into the
/// levels below the point where it leaves the right border of the tree
/// (`inner`) and the left siblings above it (`border`), as in
/// transparency-dev/merkle `decompInclProof`.
fn decompose(index: u64, size: u64) -> (usize, usize) {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner as usize, border as usize)
}

fn check_count(expected: usize, got: usize) -> Result<(), ProofError> {
    if expected != got {
        return Err(ProofError::WrongHashCount { expected, got });
    }
    Ok(())
}

fn to_tlog(hashes: &[Hash]) -> Vec<tlog::Hash> {
    hashes.iter().copied().map(tlog::Hash::from).collect()
}
