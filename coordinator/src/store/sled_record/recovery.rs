//! Recovery at start: the hash file is made to hold every stored hash of
//! the log, recomputing from the entries what a crash may have lost or torn
//! since the last sync (or all of it).

use super::*;

/// Makes the hash file hold the stored hashes of the log's `size` entries,
/// and returns how many are synced (all of them, afterwards). Hashes beyond
/// what `H` says was synced may be missing or torn by a crash: they are
/// dropped and recomputed from the entries, as are all of them in a store
/// that kept its hashes in sled.
pub(super) fn rebuild_hashes(
    db: &sled::Db,
    tree: &sled::Tree,
    file: &HashFile,
    size: u64,
) -> Result<u64, StoreError> {
    let need = quorate_tlog::stored_hash_count(size);
    let synced = match tree.get(SYNCED)? {
        Some(v) => index_of(&v, "the synced hash count")?,
        None => 0,
    };
    let on_file = file.len().map_err(hash_file_error)?;
    if synced == need && on_file == need {
        return Ok(need);
    }
    let trusted = synced.min(on_file).min(need);
    // The most entries whose stored hashes all lie within the trusted ones.
    let (mut kept, mut beyond) = (0, size + 1);
    while beyond - kept > 1 {
        let mid = kept + (beyond - kept) / 2;
        if quorate_tlog::stored_hash_count(mid) <= trusted {
            kept = mid;
        } else {
            beyond = mid;
        }
    }
    tracing::info!(
        entries = size - kept,
        "recomputing the record's hashes that were not synced"
    );
    file.truncate(quorate_tlog::stored_hash_count(kept))
        .map_err(hash_file_error)?;
    for n in kept..size {
        let entry = tree
            .get(key_of(b'e', n))?
            .ok_or_else(|| StoreError::Corrupt {
                key: format!("entry {n}"),
                why: "missing".into(),
            })?;
        let new = quorate_tlog::hashes_to_append(n, &entry, file)?;
        file.write(quorate_tlog::first_stored_index(n), &new)
            .map_err(hash_file_error)?;
    }
    file.sync().map_err(hash_file_error)?;
    tree.insert(SYNCED, &need.to_be_bytes())?;
    db.flush()?;
    Ok(need)
}

pub(super) fn hash_file_error(e: std::io::Error) -> StoreError {
    StoreError::Failed(format!("the record's hash file ({HASH_FILE}): {e}"))
}
