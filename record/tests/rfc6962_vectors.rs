//! RFC 6962 known-answer tests with the Certificate Transparency reference
//! tree. Every expected value comes from `vectors/rfc6962.json`, copied from
//! google/certificate-transparency cpp/merkletree/merkle_tree_test.cc and
//! transparency-dev/merkle proof/verify_test.go; nothing is computed here.
//! The negative cases follow `corruptInclusionProof` and
//! `corruptConsistencyProof` in the latter.
//!
//! Over 500 lines: the vector file's shape, and one test per table of it.

use quorate_tlog::{
    ConsistencyProof, EMPTY_ROOT, Hash, InclusionProof, MemoryTree, ProofError, check_consistency,
    check_inclusion, leaf_hash, prove_consistency, prove_inclusion, root,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    empty_root: Hash,
    leaves: Vec<String>,
    roots: Vec<Hash>,
    inclusion: Vec<InclusionVector>,
    consistency: Vec<ConsistencyVector>,
    some_hash: Hash,
}

#[derive(Deserialize)]
struct InclusionVector {
    leaf: u64,
    tree_size: u64,
    path: Vec<Hash>,
}

#[derive(Deserialize)]
struct ConsistencyVector {
    old_size: u64,
    new_size: u64,
    proof: Vec<Hash>,
}

fn vectors() -> Vectors {
    serde_json::from_str(include_str!("vectors/rfc6962.json")).unwrap()
}

fn leaf_bytes(v: &Vectors) -> Vec<Vec<u8>> {
    v.leaves.iter().map(|l| hex::decode(l).unwrap()).collect()
}

fn reference_tree(v: &Vectors) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for leaf in leaf_bytes(v) {
        tree.append(&leaf);
    }
    tree
}

/// The root of the tree of `size` entries, from the published list.
fn published_root(v: &Vectors, size: u64) -> Hash {
    if size == 0 {
        return v.empty_root;
    }
    v.roots[size as usize - 1]
}

#[test]
fn empty_tree_root_is_sha256_of_nothing() {
    let v = vectors();
    assert_eq!(EMPTY_ROOT, v.empty_root);
    assert_eq!(MemoryTree::new().root(), v.empty_root);
    assert_eq!(root(0, &MemoryTree::new()).unwrap(), v.empty_root);
}

#[test]
fn roots_of_sizes_1_to_8_match_published() {
    let v = vectors();
    // Built leaf by leaf, root after each append.
    let mut tree = MemoryTree::new();
    for (i, leaf) in leaf_bytes(&v).iter().enumerate() {
        assert_eq!(tree.append(leaf), i as u64);
        assert_eq!(tree.size(), i as u64 + 1);
        assert_eq!(tree.root(), v.roots[i], "root of size {}", i + 1);
    }
    // Earlier sizes read back from the full tree.
    for size in 0..=8 {
        assert_eq!(root(size, &tree).unwrap(), published_root(&v, size));
    }
    assert_eq!(
        tree.root().to_string(),
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    );
}

#[test]
fn first_leaf_hash_is_the_size_1_root() {
    let v = vectors();
    assert_eq!(leaf_hash(b""), v.roots[0]);
}

#[test]
fn inclusion_proofs_match_published_paths() {
    let v = vectors();
    let tree = reference_tree(&v);
    for vector in &v.inclusion {
        let index = vector.leaf - 1;
        let proof = prove_inclusion(index, vector.tree_size, &tree).unwrap();
        assert_eq!(proof.index, index);
        assert_eq!(proof.tree_size, vector.tree_size);
        assert_eq!(
            proof.hashes, vector.path,
            "path of leaf {} in size {}",
            vector.leaf, vector.tree_size
        );
    }
}

#[test]
fn published_inclusion_paths_verify() {
    let v = vectors();
    let leaves = leaf_bytes(&v);
    for vector in &v.inclusion {
        let index = vector.leaf - 1;
        let proof = InclusionProof {
            index,
            tree_size: vector.tree_size,
            hashes: vector.path.clone(),
        };
        let leaf = leaf_hash(&leaves[index as usize]);
        check_inclusion(&proof, leaf, published_root(&v, vector.tree_size)).unwrap();
    }
}

#[test]
fn corrupted_inclusion_proofs_are_rejected() {
    let v = vectors();
    let leaves = leaf_bytes(&v);
    for vector in v.inclusion.iter().filter(|x| !x.path.is_empty()) {
        let (index, size, path) = (vector.leaf - 1, vector.tree_size, &vector.path);
        let root = published_root(&v, size);
        let leaf = leaf_hash(&leaves[index as usize]);
        let proof = |index, tree_size, hashes: Vec<Hash>| InclusionProof {
            index,
            tree_size,
            hashes,
        };
        let with = |f: &dyn Fn(&mut Vec<Hash>)| {
            let mut p = path.clone();
            f(&mut p);
            p
        };
        let mut probes: Vec<(&str, InclusionProof, Hash, Hash)> = vec![
            (
                "index - 1",
                proof(index.wrapping_sub(1), size, path.clone()),
                leaf,
                root,
            ),
            (
                "index + 1",
                proof(index + 1, size, path.clone()),
                leaf,
                root,
            ),
            (
                "index ^ 2",
                proof(index ^ 2, size, path.clone()),
                leaf,
                root,
            ),
            ("size * 2", proof(index, size * 2, path.clone()), leaf, root),
            ("size / 2", proof(index, size / 2, path.clone()), leaf, root),
            (
                "wrong leaf",
                proof(index, size, path.clone()),
                leaf_hash(b"WrongLeaf"),
                root,
            ),
            (
                "empty root",
                proof(index, size, path.clone()),
                leaf,
                v.empty_root,
            ),
            (
                "random root",
                proof(index, size, path.clone()),
                leaf,
                v.some_hash,
            ),
            (
                "trailing garbage",
                proof(index, size, with(&|p| p.push(Hash([0; 32])))),
                leaf,
                root,
            ),
            (
                "trailing root",
                proof(index, size, with(&|p| p.push(root))),
                leaf,
                root,
            ),
            (
                "preceding garbage",
                proof(index, size, with(&|p| p.insert(0, Hash([0; 32])))),
                leaf,
                root,
            ),
            (
                "preceding root",
                proof(index, size, with(&|p| p.insert(0, root))),
                leaf,
                root,
            ),
            (
                "removed component",
                proof(
                    index,
                    size,
                    with(&|p| {
                        p.pop();
                    }),
                ),
                leaf,
                root,
            ),
            (
                "inserted component",
                proof(index, size, with(&|p| p.insert(1, v.some_hash))),
                leaf,
                root,
            ),
        ];
        for i in 0..path.len() {
            let flipped = with(&|p| p[i].0[0] ^= 8);
            probes.push((
                "modified proof bit",
                proof(index, size, flipped),
                leaf,
                root,
            ));
        }
        for (what, probe, leaf, root) in probes {
            assert!(
                check_inclusion(&probe, leaf, root).is_err(),
                "{what} verified for leaf {} in size {size}",
                vector.leaf
            );
        }
    }
}

#[test]
fn inclusion_errors_say_what_is_wrong() {
    let v = vectors();
    let leaf = leaf_hash(&hex::decode(&v.leaves[5]).unwrap());
    let good = InclusionProof {
        index: 5,
        tree_size: 8,
        hashes: v.inclusion[2].path.clone(),
    };
    let root = v.roots[7];

    let beyond = InclusionProof {
        index: 8,
        ..good.clone()
    };
    assert_eq!(
        check_inclusion(&beyond, leaf, root),
        Err(ProofError::IndexBeyondSize {
            index: 8,
            tree_size: 8
        })
    );
    let mut extra = good.clone();
    extra.hashes.push(root);
    assert_eq!(
        check_inclusion(&extra, leaf, root),
        Err(ProofError::WrongHashCount {
            expected: 3,
            got: 4
        })
    );
    let mut truncated = good.clone();
    truncated.hashes.pop();
    assert_eq!(
        check_inclusion(&truncated, leaf, root),
        Err(ProofError::WrongHashCount {
            expected: 3,
            got: 2
        })
    );
    let mut altered = good.clone();
    altered.hashes[1].0[31] ^= 1;
    assert_eq!(
        check_inclusion(&altered, leaf, root),
        Err(ProofError::InclusionRootMismatch)
    );
    assert_eq!(
        check_inclusion(&good, leaf, v.roots[6]),
        Err(ProofError::InclusionRootMismatch)
    );
    let empty = InclusionProof {
        index: 0,
        tree_size: 0,
        hashes: vec![],
    };
    assert_eq!(
        check_inclusion(&empty, leaf, v.empty_root),
        Err(ProofError::IndexBeyondSize {
            index: 0,
            tree_size: 0
        })
    );
}

#[test]
fn consistency_proofs_match_published_proofs() {
    let v = vectors();
    let tree = reference_tree(&v);
    for vector in &v.consistency {
        let proof = prove_consistency(vector.old_size, vector.new_size, &tree).unwrap();
        assert_eq!(proof.old_size, vector.old_size);
        assert_eq!(proof.new_size, vector.new_size);
        assert_eq!(
            proof.hashes, vector.proof,
            "proof {} -> {}",
            vector.old_size, vector.new_size
        );
    }
}

#[test]
fn published_consistency_proofs_verify() {
    let v = vectors();
    for vector in &v.consistency {
        let proof = ConsistencyProof {
            old_size: vector.old_size,
            new_size: vector.new_size,
            hashes: vector.proof.clone(),
        };
        let (old, new) = (
            published_root(&v, vector.old_size),
            published_root(&v, vector.new_size),
        );
        check_consistency(&proof, old, new).unwrap();
    }
}

#[test]
fn corrupted_consistency_proofs_are_rejected() {
    let v = vectors();
    for vector in v.consistency.iter().filter(|x| !x.proof.is_empty()) {
        let (m, n, hashes) = (vector.old_size, vector.new_size, &vector.proof);
        let (r1, r2) = (published_root(&v, m), published_root(&v, n));
        let wrong = leaf_hash(b"WrongRoot");
        let proof = |old_size, new_size, hashes: Vec<Hash>| ConsistencyProof {
            old_size,
            new_size,
            hashes,
        };
        let with = |f: &dyn Fn(&mut Vec<Hash>)| {
            let mut p = hashes.clone();
            f(&mut p);
            p
        };
        let first = hashes[0];
        let mut probes: Vec<(&str, ConsistencyProof, Hash, Hash)> = vec![
            ("old - 1", proof(m - 1, n, hashes.clone()), r1, r2),
            ("old + 1", proof(m + 1, n, hashes.clone()), r1, r2),
            ("old ^ 2", proof(m ^ 2, n, hashes.clone()), r1, r2),
            ("new * 2", proof(m, n * 2, hashes.clone()), r1, r2),
            ("new / 2", proof(m, n / 2, hashes.clone()), r1, r2),
            ("wrong old root", proof(m, n, hashes.clone()), wrong, r2),
            ("wrong new root", proof(m, n, hashes.clone()), r1, wrong),
            ("swapped roots", proof(m, n, hashes.clone()), r2, r1),
            ("empty proof", proof(m, n, vec![]), r1, r2),
            (
                "trailing garbage",
                proof(m, n, with(&|p| p.push(Hash([0; 32])))),
                r1,
                r2,
            ),
            (
                "trailing old root",
                proof(m, n, with(&|p| p.push(r1))),
                r1,
                r2,
            ),
            (
                "trailing new root",
                proof(m, n, with(&|p| p.push(r2))),
                r1,
                r2,
            ),
            (
                "preceding garbage",
                proof(m, n, with(&|p| p.insert(0, Hash([0; 32])))),
                r1,
                r2,
            ),
            (
                "preceding old root",
                proof(m, n, with(&|p| p.insert(0, r1))),
                r1,
                r2,
            ),
            (
                "preceding new root",
                proof(m, n, with(&|p| p.insert(0, r2))),
                r1,
                r2,
            ),
            (
                "preceding proof[0]",
                proof(m, n, with(&|p| p.insert(0, first))),
                r1,
                r2,
            ),
            (
                "truncated proof",
                proof(
                    m,
                    n,
                    with(&|p| {
                        p.pop();
                    }),
                ),
                r1,
                r2,
            ),
        ];
        for i in 0..hashes.len() {
            let flipped = with(&|p| p[i].0[0] ^= 16);
            probes.push(("modified proof bit", proof(m, n, flipped), r1, r2));
        }
        for (what, probe, old, new) in probes {
            assert!(
                check_consistency(&probe, old, new).is_err(),
                "{what} verified for {m} -> {n}"
            );
        }
    }
}

#[test]
fn consistency_edge_cases() {
    let v = vectors();
    let (r1, r8) = (v.roots[0], v.roots[7]);
    let proof = |old_size, new_size, hashes| ConsistencyProof {
        old_size,
        new_size,
        hashes,
    };

    // Sizes that are always consistent (given the right roots).
    check_consistency(&proof(0, 0, vec![]), v.empty_root, v.empty_root).unwrap();
    check_consistency(&proof(0, 8, vec![]), v.empty_root, r8).unwrap();
    check_consistency(&proof(8, 8, vec![]), r8, r8).unwrap();

    // Time travel to the past.
    assert_eq!(
        check_consistency(&proof(8, 1, v.consistency[1].proof.clone()), r8, r1),
        Err(ProofError::OldSizeExceedsNew {
            old_size: 8,
            new_size: 1
        })
    );
    assert_eq!(
        check_consistency(&proof(1, 0, vec![]), r1, v.empty_root),
        Err(ProofError::OldSizeExceedsNew {
            old_size: 1,
            new_size: 0
        })
    );
    // Empty proof between different sizes.
    assert_eq!(
        check_consistency(&proof(1, 8, vec![]), r1, r8),
        Err(ProofError::WrongHashCount {
            expected: 3,
            got: 0
        })
    );
    // Roots don't match.
    assert_eq!(
        check_consistency(&proof(8, 8, vec![]), r1, r8),
        Err(ProofError::EqualSizeRootsDiffer { size: 8 })
    );
    assert_eq!(
        check_consistency(&proof(0, 8, vec![]), r1, r8),
        Err(ProofError::EmptyTreeRootMismatch)
    );
    // Roots match but the proof is not empty.
    for (m, n) in [(0, 0), (0, 1), (1, 1)] {
        assert_eq!(
            check_consistency(&proof(m, n, vec![v.empty_root]), v.empty_root, v.empty_root),
            Err(ProofError::WrongHashCount {
                expected: 0,
                got: 1
            })
        );
    }
    // A wrong hash of the right count.
    let mut altered = v.consistency[2].proof.clone();
    altered[2].0[0] ^= 1;
    assert_eq!(
        check_consistency(&proof(6, 8, altered), v.roots[5], r8),
        Err(ProofError::ConsistencyRootMismatch)
    );
}
