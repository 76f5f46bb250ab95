use quorate_tlog::{MemoryTree, first_stored_index, hashes_to_append, stored_hash_count};

use super::*;

/// A file holding the stored hashes of `entries` entries, written one
/// entry at a time as the store does, and the tree it must match.
fn filled(path: &Path, entries: u64) -> (HashFile, MemoryTree) {
    let file = HashFile::open(path).unwrap();
    let mut tree = MemoryTree::new();
    for n in 0..entries {
        let entry = format!("entry {n}");
        let new = hashes_to_append(n, entry.as_bytes(), &file).unwrap();
        file.write(first_stored_index(n), &new).unwrap();
        tree.append(entry.as_bytes());
    }
    (file, tree)
}

fn assert_matches(file: &HashFile, tree: &MemoryTree, count: u64) {
    let indexes: Vec<u64> = (0..count).collect();
    assert_eq!(
        file.read_hashes(&indexes).unwrap(),
        tree.read_hashes(&indexes).unwrap()
    );
    assert_eq!(file.len().unwrap(), count);
}

#[test]
fn every_hash_reads_back_from_memory_or_file_and_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hashes");
    let count = stored_hash_count(1_000);
    let (file, tree) = filled(&path, 1_000);
    assert_matches(&file, &tree, count);
    // Levels 6 to 9 of 1,000 entries are in memory.
    assert_eq!(read(&file.upper).len(), 4);
    drop(file);
    assert_matches(&HashFile::open(&path).unwrap(), &tree, count);
}

/// A truncated file must not answer from memory for what it no longer
/// holds, and what is written again replaces what memory had.
#[test]
fn truncating_drops_upper_hashes_and_rewriting_replaces_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hashes");
    let (file, tree) = filled(&path, 300);
    let kept = stored_hash_count(100);
    file.truncate(kept).unwrap();
    assert_matches(&file, &tree, kept);
    // Stored hash of level 7, node 0 (entries 0 to 127) is gone.
    let dropped = stored_hash_index(7, 0);
    assert!(dropped >= kept);
    assert!(file.read(dropped).is_err());
    // Written again from other entries: memory holds the new hashes.
    let mut other = MemoryTree::new();
    for n in 0..100 {
        other.append(format!("entry {n}").as_bytes());
    }
    for n in 100..300 {
        let entry = format!("other {n}");
        let new = hashes_to_append(n, entry.as_bytes(), &file).unwrap();
        file.write(first_stored_index(n), &new).unwrap();
        other.append(entry.as_bytes());
    }
    assert_matches(&file, &other, stored_hash_count(300));
    assert_ne!(
        file.read(dropped).unwrap(),
        tree.read_hashes(&[dropped]).unwrap()[0]
    );
}

/// Hashes written past the end of what memory holds are read from the
/// file, and the file's upper levels are read into memory at opening.
#[test]
fn a_write_out_of_order_is_read_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hashes");
    let (full, tree) = filled(&dir.path().join("full"), 256);
    let count = stored_hash_count(256);
    let all = tree.read_hashes(&(0..count).collect::<Vec<_>>()).unwrap();
    let file = HashFile::open(&path).unwrap();
    let half = usize::try_from(count / 2).unwrap();
    file.write(count / 2, &all[half..]).unwrap();
    file.write(0, &all[..half]).unwrap();
    assert_matches(&file, &tree, count);
    drop(file);
    let reopened = HashFile::open(&path).unwrap();
    assert_matches(&reopened, &tree, count);
    assert_eq!(*read(&reopened.upper), *read(&full.upper));
}
