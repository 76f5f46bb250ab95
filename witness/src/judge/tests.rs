//! Unit tests of the parent module: each tlog-witness rule, sans I/O.

use quorate_tlog::{LogKey, MemoryTree, prove_consistency};

use super::*;

const ORIGIN: &str = "quorate.test/record";

struct Log {
    key: LogKey,
    tree: MemoryTree,
}

impl Log {
    fn new(seed: u8) -> Self {
        Log {
            key: LogKey::from_seed(ORIGIN, &[seed; 32]).unwrap(),
            tree: MemoryTree::new(),
        }
    }

    fn grow(&mut self, n: usize) {
        for _ in 0..n {
            let i = self.tree.size();
            self.tree.append(format!("entry {i}").as_bytes());
        }
    }

    fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            origin: ORIGIN.into(),
            size: self.tree.size(),
            root: self.tree.root(),
        }
    }

    fn request(&self, old_size: u64) -> AddCheckpoint {
        let proof = prove_consistency(old_size, self.tree.size(), &self.tree).unwrap();
        AddCheckpoint {
            old_size,
            proof: proof.hashes,
            checkpoint: self.key.sign_checkpoint(&self.checkpoint()).unwrap(),
        }
    }
}

fn witness(log: &Log) -> Witness {
    let key = WitnessKey::from_seed("witness.test/w1", &[9; 32]).unwrap();
    Witness::new(key, vec![log.key.verifier().unwrap()]).unwrap()
}

#[test]
fn cosigns_a_first_checkpoint_then_each_consistent_extension() {
    let mut log = Log::new(1);
    let witness = witness(&log);
    log.grow(5);
    let first = witness.add_checkpoint(&log.request(0), None, 100).unwrap();
    assert_eq!((first.latest.size, first.latest.root), (5, log.tree.root()));
    witness
        .key()
        .verifier()
        .verify(&log.checkpoint().body(), &first.cosignature)
        .unwrap();
    assert_eq!(first.cosignature.time, 100);
    log.grow(8);
    let second = witness
        .add_checkpoint(&log.request(5), Some(&first.latest), 101)
        .unwrap();
    assert_eq!(second.latest.size, 13);
    // The same checkpoint again is cosigned again, with the new time.
    let again = witness
        .add_checkpoint(&log.request(13), Some(&second.latest), 102)
        .unwrap();
    assert_eq!((again.latest.size, again.cosignature.time), (13, 102));
}

#[test]
fn each_refusal_has_its_status() {
    let mut log = Log::new(1);
    let witness = witness(&log);
    log.grow(4);
    let latest = witness
        .add_checkpoint(&log.request(0), None, 1)
        .unwrap()
        .latest;
    log.grow(3);

    // 409: an old size that is not the latest cosigned, with that size.
    let stale = witness
        .add_checkpoint(&log.request(2), Some(&latest), 2)
        .unwrap_err();
    assert_eq!((stale.status(), stale.latest_size()), (409, Some(4)));
    let fresh = witness
        .add_checkpoint(&log.request(0), Some(&latest), 2)
        .unwrap_err();
    assert_eq!((fresh.status(), fresh.latest_size()), (409, Some(4)));

    // 400: an old size beyond the checkpoint.
    let mut beyond = log.request(4);
    beyond.old_size = 8;
    assert_eq!(
        witness
            .add_checkpoint(&beyond, Some(&latest), 2)
            .unwrap_err()
            .status(),
        400
    );

    // 422: a proof that does not join the roots.
    let mut bad = log.request(4);
    bad.proof[0].0[0] ^= 1;
    let refusal = witness.add_checkpoint(&bad, Some(&latest), 2).unwrap_err();
    assert_eq!(refusal.status(), 422, "{refusal}");
    let mut short = log.request(4);
    short.proof.pop();
    assert_eq!(
        witness
            .add_checkpoint(&short, Some(&latest), 2)
            .unwrap_err()
            .status(),
        422
    );

    // 404: a log the witness does not follow.
    let other_origin = LogKey::from_seed("other.test/log", &[1; 32]).unwrap();
    let mut unknown = log.request(4);
    unknown.checkpoint = other_origin
        .sign_checkpoint(&Checkpoint {
            origin: "other.test/log".into(),
            ..log.checkpoint()
        })
        .unwrap();
    assert_eq!(
        witness
            .add_checkpoint(&unknown, Some(&latest), 2)
            .unwrap_err()
            .status(),
        404
    );

    // 403: the right origin signed by another key.
    let impostor = Log::new(2);
    let mut forged = log.request(4);
    forged.checkpoint = impostor.key.sign_checkpoint(&log.checkpoint()).unwrap();
    let refusal = witness
        .add_checkpoint(&forged, Some(&latest), 2)
        .unwrap_err();
    assert_eq!(refusal.status(), 403, "{refusal}");

    // 400: not a note at all.
    let mut garbage = log.request(4);
    garbage.checkpoint = format!("{ORIGIN}\nnot a note");
    assert_eq!(
        witness
            .add_checkpoint(&garbage, Some(&latest), 2)
            .unwrap_err()
            .status(),
        400
    );

    // And the good request still goes through.
    witness
        .add_checkpoint(&log.request(4), Some(&latest), 2)
        .unwrap();
}

/// A fork: the log shows a tree of the size already cosigned with another
/// root. 409, and the caller keeps the request as evidence.
#[test]
fn a_second_tree_of_the_same_size_is_refused() {
    let mut log = Log::new(1);
    let witness = witness(&log);
    log.grow(3);
    let latest = witness
        .add_checkpoint(&log.request(0), None, 1)
        .unwrap()
        .latest;
    let mut fork = Log::new(1);
    fork.tree.append(b"another history");
    fork.grow(2);
    let refusal = witness
        .add_checkpoint(&fork.request(3), Some(&latest), 2)
        .unwrap_err();
    assert_eq!(refusal, Refusal::SameSizeOtherRoot { size: 3 });
    assert_eq!((refusal.status(), refusal.latest_size()), (409, Some(3)));
    // A longer fork has no consistency proof from what was cosigned.
    fork.grow(4);
    let mut request = fork.request(3);
    request.proof = prove_consistency(3, 7, &fork.tree).unwrap().hashes;
    assert_eq!(
        witness
            .add_checkpoint(&request, Some(&latest), 2)
            .unwrap_err()
            .status(),
        422
    );
}

#[test]
fn two_keys_for_one_origin_are_refused() {
    let a = Log::new(1);
    let b = Log::new(2);
    let key = WitnessKey::from_seed("w", &[9; 32]).unwrap();
    let err = Witness::new(
        key,
        vec![a.key.verifier().unwrap(), b.key.verifier().unwrap()],
    )
    .err()
    .unwrap();
    assert!(err.contains("two log keys"), "{err}");
}
