//! Signed notes (checkpoints, receipts, cosigned notes), verifier keys,
//! proofs, and the witness's `add-checkpoint` bodies.

use quorate_tlog::{
    Checkpoint, ConsistencyProof, Hash, InclusionProof, LogVerifier, MemoryTree, WitnessVerifier,
    check_consistency, check_inclusion, leaf_hash, prove_consistency, prove_inclusion,
    verify_cosignatures,
};
use quorate_witness::request::{AddCheckpoint, MAX_PROOF_LINES};

use crate::fixed;

/// The input as a note of every kind the parties read, and as a key.
pub fn note(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let log = fixed::log_verifier();
    if let Ok(checkpoint) = log.verify_checkpoint(text) {
        let Ok(again) = Checkpoint::parse(&checkpoint.body()) else {
            panic!("a verified checkpoint's body does not parse: {checkpoint:?}");
        };
        assert_eq!(again, checkpoint);
    }
    if let Ok(checkpoint) = Checkpoint::parse(text) {
        assert_eq!(Checkpoint::parse(&checkpoint.body()).ok(), Some(checkpoint));
    }
    let _ = log.verify_note(text);
    if let Ok(receipt) = log.verify_receipt(text) {
        assert_eq!(receipt.origin, fixed::LOG_ORIGIN);
    }
    let _ = verify_cosignatures(text, &[fixed::witness_key().verifier()]);
    let _ = LogVerifier::parse(text);
    let _ = WitnessVerifier::parse(text);
}

/// Inclusion and consistency proofs as an agent or auditor checks them.
/// The first two bytes build a real tree and its proofs, which must
/// check, and fail once any hash in them is flipped; the rest is read as
/// an arbitrary proof, which must not panic.
pub fn proof(data: &[u8]) {
    let [a, b, c, rest @ ..] = data else {
        return;
    };
    // A real tree of 1 to 64 entries.
    let size = u64::from(*a % 64) + 1;
    let (index, old) = (u64::from(*b) % size, u64::from(*c) % size + 1);
    let mut tree = MemoryTree::new();
    for i in 0..size {
        tree.append(&i.to_le_bytes());
    }
    let root = tree.root();
    let leaf = leaf_hash(&index.to_le_bytes());
    let Ok(mut inclusion) = prove_inclusion(index, size, &tree) else {
        panic!("no inclusion proof of {index} in {size}");
    };
    assert_eq!(check_inclusion(&inclusion, leaf, root), Ok(()));
    if let (Some(flip), Some(h)) = (rest.first(), inclusion.hashes.first_mut()) {
        h.0[usize::from(*flip) % 32] ^= 1 << (flip % 8);
        assert!(
            check_inclusion(&inclusion, leaf, root).is_err(),
            "a flipped proof checks"
        );
    }
    let Ok(old_root) = quorate_tlog::root(old, &tree) else {
        panic!("no root of {old} in {size}");
    };
    let Ok(mut consistency) = prove_consistency(old, size, &tree) else {
        panic!("no consistency proof of {old} in {size}");
    };
    assert_eq!(check_consistency(&consistency, old_root, root), Ok(()));
    if let (Some(flip), Some(h)) = (rest.first(), consistency.hashes.first_mut()) {
        h.0[usize::from(*flip) % 32] ^= 1 << (flip % 8);
        assert!(
            check_consistency(&consistency, old_root, root).is_err(),
            "a flipped consistency proof checks"
        );
    }
    // Then anything: sizes and indexes from the input, hashes after them.
    let Some((numbers, hashes)) = rest.split_at_checked(16) else {
        return;
    };
    let number = |at: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&numbers[at..at + 8]);
        u64::from_le_bytes(bytes)
    };
    let hashes: Vec<Hash> = hashes
        .chunks_exact(32)
        .filter_map(Hash::from_slice)
        .collect();
    let (first, second) = (number(0), number(8));
    let _ = check_inclusion(
        &InclusionProof {
            index: first,
            tree_size: second,
            hashes: hashes.clone(),
        },
        leaf,
        root,
    );
    let _ = check_consistency(
        &ConsistencyProof {
            old_size: first,
            new_size: second,
            hashes,
        },
        old_root,
        root,
    );
}

/// The body of a witness's `add-checkpoint` request.
pub fn witness_request(data: &[u8]) {
    if let Ok(request) = AddCheckpoint::parse(data) {
        assert!(request.proof.len() <= MAX_PROOF_LINES);
        let _ = fixed::log_verifier().verify_checkpoint(&request.checkpoint);
    }
}
