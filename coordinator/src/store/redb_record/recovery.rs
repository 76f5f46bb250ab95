//! Recovery at start: the hash file is made to hold every stored hash of
//! the log, recomputing from the entries what a crash may have lost or torn
//! since the last sync (or all of it).

use super::*;

/// Makes the hash file hold the stored hashes of the log's `size` entries,
/// and returns how many are synced (all of them, afterwards). Hashes beyond
/// what the database says was synced may be missing or torn by a crash: they are
/// dropped and recomputed from the entries, as are all of them in a store
/// that kept no hash file.
pub(super) fn rebuild_hashes(db: &Database, file: &HashFile, size: u64) -> Result<u64, StoreError> {
    let need = quorate_tlog::stored_hash_count(size);
    let synced = {
        let read = db.begin_read().map_err(storage)?;
        let meta = read.open_table(META).map_err(storage)?;
        meta.get(SYNCED).map_err(storage)?.map_or(0, |v| v.value())
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
    {
        let read = db.begin_read().map_err(storage)?;
        let entries = read.open_table(ENTRIES).map_err(storage)?;
        for (expected, kv) in (kept..).zip(entries.range(kept..size).map_err(storage)?) {
            let (n, entry) = kv.map_err(storage)?;
            let n = n.value();
            if n != expected {
                return Err(StoreError::Corrupt {
                    key: format!("entry {expected}"),
                    why: "missing".into(),
                });
            }
            let new = quorate_tlog::hashes_to_append(n, entry.value(), file)?;
            file.write(quorate_tlog::first_stored_index(n), &new)
                .map_err(hash_file_error)?;
        }
    }
    file.sync().map_err(hash_file_error)?;
    let txn = db.begin_write().map_err(storage)?;
    txn.open_table(META)
        .map_err(storage)?
        .insert(SYNCED, need)
        .map_err(storage)?;
    txn.commit().map_err(storage)?;
    Ok(need)
}

pub(super) fn hash_file_error(e: std::io::Error) -> StoreError {
    StoreError::Failed(format!("the record's hash file ({HASH_FILE}): {e}"))
}
