//! Hashes record entries into an RFC 6962 Merkle tree, proves and checks
//! inclusion and consistency, and signs and checks C2SP checkpoints; does no
//! I/O. It also makes and checks witnesses' C2SP cosignatures of checkpoints,
//! and the coordinator's signed receipts for statements.
//!
//! This crate is a thin typed layer over two ports of Go's
//! `golang.org/x/mod/sumdb` packages:
//!
//! - [`tlog_tiles::tlog`] does the tree arithmetic: stored hash layout
//!   (`stored_hash_index`), appends (`stored_hashes`), roots (`tree_hash`)
//!   and proofs (`prove_record`, `check_record`, `prove_tree`, `check_tree`).
//! - [`signed_note`] and [`tlog_tiles::Checkpoint`] do the
//!   [c2sp.org/signed-note](https://c2sp.org/signed-note) and
//!   [c2sp.org/tlog-checkpoint](https://c2sp.org/tlog-checkpoint) formats.
//!
//! Storage belongs to the caller and is reached only through [`HashStore`]:
//! the tree's hashes live at the dense "stored hash index" positions of the
//! Go tlog layout, and [`hashes_to_append`] says which hashes to write next.
//! [`MemoryTree`] is a `Vec`-backed store for tests and auditors' tools.

mod checkpoint;
mod cosignature;
mod error;
mod hash;
mod leaves;
mod log_key;
mod log_verifier;
mod proof;
mod receipt;
mod tree;

pub use checkpoint::Checkpoint;
pub use cosignature::{
    COSIGNATURE_V1, Cosignature, WitnessKey, WitnessVerifier, add_cosignatures, verify_cosignatures,
};
pub use error::{ProofError, RecordError};
pub use hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};
pub use leaves::RootBuilder;
pub use log_key::LogKey;
pub use log_verifier::LogVerifier;
pub use proof::{
    ConsistencyProof, InclusionProof, check_consistency, check_inclusion, prove_consistency,
    prove_inclusion,
};
pub use receipt::Receipt;
pub use tree::{
    HashStore, MAX_TREE_SIZE, MemoryTree, first_stored_index, hashes_to_append,
    hashes_to_append_for_leaf, root, stored_hash_coordinates, stored_hash_count, stored_hash_index,
};
