//! Errors: [`RecordError`] for tree storage, keys and notes, [`ProofError`]
//! for proofs that do not check out.

use thiserror::Error;

/// What went wrong while reading the tree, proving, or handling keys and
/// signed checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RecordError {
    /// The hash store has no hash at this stored hash index.
    #[error("stored hash {0} is missing")]
    MissingHash(u64),
    /// The hash store answered with the wrong number of hashes.
    #[error("hash store returned {returned} hashes for {requested} requested indexes")]
    StoreReturnedWrongCount { requested: usize, returned: usize },
    /// The caller's storage failed; the text is the caller's.
    #[error("hash store failed: {0}")]
    Store(String),
    /// A tree size beyond what the stored hash layout can index.
    #[error("tree size {0} exceeds the maximum of 2^62 entries")]
    TreeTooLarge(u64),
    /// An entry index that is not in the tree.
    #[error("entry {index} is not in a tree of size {tree_size}")]
    IndexBeyondSize { index: u64, tree_size: u64 },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old tree size {old_size} exceeds new tree size {new_size}")]
    OldSizeExceedsNew { old_size: u64, new_size: u64 },
    /// Text that is not 64 hex digits where a hash was expected.
    #[error("malformed hash: {0}")]
    MalformedHash(String),
    /// A key name that signed-note forbids.
    #[error("invalid key name {0:?}: it must be non-empty and contain no spaces or '+'")]
    InvalidKeyName(String),
    /// A verifier key string that does not parse.
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(String),
    /// A checkpoint origin that cannot be the first line of a note.
    #[error("invalid checkpoint origin {0:?}: it must be non-empty with no control characters")]
    InvalidOrigin(String),
    /// Text that is not a signed note.
    #[error("malformed signed note: {0}")]
    MalformedNote(String),
    /// A signed note whose text is not a c2sp tlog-checkpoint.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(String),
    /// No signature line by this key (others were ignored).
    #[error("checkpoint is not signed by {0}")]
    NotSignedBy(String),
    /// A signature line claims this key but does not verify.
    #[error("signature by {0} does not verify")]
    BadSignature(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(String),
    /// The tlog library refused its input in a way this crate did not expect.
    #[error("tlog: {0}")]
    Tlog(String),
    /// A proof did not check out.
    #[error(transparent)]
    Proof(#[from] ProofError),
}

/// Why an inclusion or consistency proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    /// The proven entry is not in the claimed tree.
    #[error("entry {index} is not in a tree of size {tree_size}")]
    IndexBeyondSize { index: u64, tree_size: u64 },
    /// The old tree is larger than the new one.
    #[error("old tree size {old_size} exceeds new tree size {new_size}")]
    OldSizeExceedsNew { old_size: u64, new_size: u64 },
    /// The proof has too few or too many hashes for its sizes.
    #[error("proof has {got} hashes where its sizes need {expected}")]
    WrongHashCount { expected: usize, got: usize },
    /// The inclusion proof does not lead from the leaf to the root.
    #[error("inclusion proof does not lead from the leaf hash to the root")]
    InclusionRootMismatch,
    /// The consistency proof does not join the old root to the new one.
    #[error("consistency proof does not lead from the old root to the new root")]
    ConsistencyRootMismatch,
    /// Two trees of the same size with different roots.
    #[error("trees of equal size {size} have different roots")]
    EqualSizeRootsDiffer { size: u64 },
    /// A size-0 tree whose claimed root is not SHA-256 of nothing.
    #[error("the root of an empty tree must be SHA-256(\"\")")]
    EmptyTreeRootMismatch,
    /// The tlog library refused the proof for another reason.
    #[error("tlog rejected the proof: {0}")]
    Tlog(String),
}
