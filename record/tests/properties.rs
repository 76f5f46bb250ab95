//! Every tree size 1..=70: roots equal a naive recursive RFC 6962 MTH, and
//! every inclusion and consistency proof equals the naive RFC 6962 PATH and
//! PROOF (§2.1.1, §2.1.2) and verifies; altering any proof hash breaks it.

use quorate_tlog::{
    Hash, MemoryTree, check_consistency, check_inclusion, first_stored_index, leaf_hash, node_hash,
    prove_consistency, prove_inclusion, root, stored_hash_count,
};
use sha2::{Digest, Sha256};

const MAX: usize = 70;

fn entries() -> Vec<Vec<u8>> {
    (0..MAX)
        .map(|i| format!("entry {i}").into_bytes())
        .collect()
}

/// Largest power of two smaller than `n` (n > 1).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    Hash(h.finalize().into())
}

/// MTH(D[n]) of RFC 6962 §2.1, with SHA-256 written out here.
fn mth(d: &[Vec<u8>]) -> Hash {
    match d.len() {
        0 => sha256(&[]),
        1 => sha256(&[&[0], &d[0]]),
        n => {
            let k = split(n);
            sha256(&[&[1], &mth(&d[..k]).0, &mth(&d[k..]).0])
        }
    }
}

/// PATH(m, D[n]) of RFC 6962 §2.1.1.
fn path(m: usize, d: &[Vec<u8>]) -> Vec<Hash> {
    let n = d.len();
    if n == 1 {
        return vec![];
    }
    let k = split(n);
    if m < k {
        let mut p = path(m, &d[..k]);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = path(m - k, &d[k..]);
        p.push(mth(&d[..k]));
        p
    }
}

/// SUBPROOF(m, D[n], b) of RFC 6962 §2.1.2.
fn subproof(m: usize, d: &[Vec<u8>], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![mth(d)] };
    }
    let k = split(n);
    if m <= k {
        let mut p = subproof(m, &d[..k], b);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = subproof(m - k, &d[k..], false);
        p.push(mth(&d[..k]));
        p
    }
}

fn full_tree() -> (MemoryTree, Vec<Vec<u8>>) {
    let d = entries();
    let mut tree = MemoryTree::new();
    for (i, e) in d.iter().enumerate() {
        assert_eq!(
            first_stored_index(i as u64),
            tree.stored_hashes().len() as u64
        );
        assert_eq!(tree.append(e), i as u64);
        assert_eq!(
            stored_hash_count(i as u64 + 1),
            tree.stored_hashes().len() as u64
        );
        assert_eq!(
            tree.root(),
            mth(&d[..=i]),
            "MemoryTree root at size {}",
            i + 1
        );
    }
    (tree, d)
}

#[test]
fn naive_reference_agrees_with_itself_on_leaf_and_node_hashes() {
    let d = entries();
    assert_eq!(mth(&d[..1]), leaf_hash(&d[0]));
    assert_eq!(mth(&d[..2]), node_hash(leaf_hash(&d[0]), leaf_hash(&d[1])));
}

#[test]
fn roots_equal_naive_mth_for_every_size() {
    let (tree, d) = full_tree();
    for size in 0..=MAX {
        assert_eq!(
            root(size as u64, &tree).unwrap(),
            mth(&d[..size]),
            "size {size}"
        );
    }
}

#[test]
fn inclusion_proofs_are_rfc_paths_and_verify_for_every_index() {
    let (tree, d) = full_tree();
    for size in 1..=MAX {
        let r = mth(&d[..size]);
        for index in 0..size {
            let proof = prove_inclusion(index as u64, size as u64, &tree).unwrap();
            assert_eq!(
                proof.hashes,
                path(index, &d[..size]),
                "index {index} size {size}"
            );
            let leaf = leaf_hash(&d[index]);
            check_inclusion(&proof, leaf, r).unwrap();
            for i in 0..proof.hashes.len() {
                let mut bad = proof.clone();
                bad.hashes[i].0[i % 32] ^= 0x40;
                assert!(
                    check_inclusion(&bad, leaf, r).is_err(),
                    "altered {i}: {index} in {size}"
                );
            }
            if index + 1 < size {
                let moved = quorate_tlog::InclusionProof {
                    index: index as u64 + 1,
                    ..proof
                };
                assert!(
                    check_inclusion(&moved, leaf, r).is_err(),
                    "wrong index {index} in {size}"
                );
            }
        }
    }
}

#[test]
fn consistency_proofs_are_rfc_proofs_and_verify_for_every_old_size() {
    let (tree, d) = full_tree();
    for new in 1..=MAX {
        let r2 = mth(&d[..new]);
        for old in 0..=new {
            let r1 = mth(&d[..old]);
            let proof = prove_consistency(old as u64, new as u64, &tree).unwrap();
            let want = if old == 0 {
                vec![]
            } else {
                subproof(old, &d[..new], true)
            };
            assert_eq!(proof.hashes, want, "{old} -> {new}");
            check_consistency(&proof, r1, r2).unwrap();
            for i in 0..proof.hashes.len() {
                let mut bad = proof.clone();
                bad.hashes[i].0[31 - i % 32] ^= 0x02;
                assert!(
                    check_consistency(&bad, r1, r2).is_err(),
                    "altered {i}: {old} -> {new}"
                );
            }
            if old > 0 && old < new {
                assert!(
                    check_consistency(&proof, r2, r1).is_err(),
                    "swapped {old} -> {new}"
                );
            }
        }
    }
}

#[test]
fn checks_with_huge_sizes_fail_cleanly() {
    use quorate_tlog::{ConsistencyProof, InclusionProof, ProofError};
    let h = leaf_hash(b"x");
    for (index, size) in [
        (u64::MAX - 1, u64::MAX),
        (0, u64::MAX),
        (1 << 63, u64::MAX),
        (5, 1 << 63),
    ] {
        let mut proof = InclusionProof {
            index,
            tree_size: size,
            hashes: vec![],
        };
        let Err(ProofError::WrongHashCount { expected, .. }) = check_inclusion(&proof, h, h) else {
            panic!("an empty proof passed for {index} in {size}");
        };
        proof.hashes = vec![h; expected];
        assert_eq!(
            check_inclusion(&proof, h, h),
            Err(ProofError::InclusionRootMismatch)
        );
    }
    for (old, new) in [
        (u64::MAX - 1, u64::MAX),
        (1, u64::MAX),
        (3, 1 << 63),
        ((1 << 63) + 1, u64::MAX),
    ] {
        let mut proof = ConsistencyProof {
            old_size: old,
            new_size: new,
            hashes: vec![],
        };
        let Err(ProofError::WrongHashCount { expected, .. }) = check_consistency(&proof, h, h)
        else {
            panic!("an empty proof passed for {old} -> {new}");
        };
        proof.hashes = vec![h; expected];
        assert_eq!(
            check_consistency(&proof, h, h),
            Err(ProofError::ConsistencyRootMismatch)
        );
    }
}
