//! Group commit: concurrent callers' entries go into one atomic sled batch
//! and one flush; each caller is answered only after it. A group's stored
//! hashes are written to the hash file first, synced every
//! [`SYNC_EVERY`] hashes before sled records how many were synced.

use super::*;

pub(super) struct Pending {
    pub(super) entries: Vec<Entry>,
    pub(super) reply: oneshot::Sender<Result<Vec<u64>, StoreError>>,
}

impl SledStore {
    pub(super) async fn write(&self, batch: Vec<Pending>) {
        if self.broken.load(Ordering::SeqCst) {
            for p in batch {
                let _ = p.reply.send(Err(broken()));
            }
            return;
        }
        let mut size = self.size.load(Ordering::SeqCst);
        let first_hash = quorate_tlog::first_stored_index(size);
        let mut hashes = BTreeMap::new();
        let mut writes = Vec::new();
        let mut claimed = HashSet::new();
        let mut accepted = Vec::new();
        for p in batch {
            match self.stage(
                &p.entries,
                &mut size,
                &mut hashes,
                &mut writes,
                &mut claimed,
            ) {
                Ok(indexes) => accepted.push((p, indexes)),
                Err(e) => {
                    let _ = p.reply.send(Err(e));
                }
            }
        }
        if accepted.is_empty() {
            return;
        }
        let mut batch = sled::Batch::default();
        for (k, v) in writes {
            batch.insert(k, v);
        }
        let done = match self.write_hashes(first_hash, &hashes, &mut batch).await {
            Ok(synced) => match self.tree.apply_batch(batch) {
                Ok(()) => flush(&self.db).await.map(|()| synced).map_err(|e| {
                    self.broken.store(true, Ordering::SeqCst);
                    tracing::error!(error = %e, "the record could not be flushed; refusing appends");
                    e
                }),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match done {
            Ok(synced) => {
                if let Some(synced) = synced {
                    self.synced.store(synced, Ordering::SeqCst);
                }
                self.size.store(size, Ordering::SeqCst);
                for (p, indexes) in accepted {
                    let _ = p.reply.send(Ok(indexes));
                }
            }
            Err(e) => {
                for (p, _) in accepted {
                    let _ = p.reply.send(Err(StoreError::Failed(format!(
                        "the record could not be written: {e}"
                    ))));
                }
            }
        }
    }

    /// Writes a group's new stored hashes (`first` onwards) to the hash
    /// file before its entries go to sled. Every [`SYNC_EVERY`] hashes it
    /// syncs the file, before sled can see the batch, and adds the synced
    /// count to the batch, which it returns.
    pub(super) async fn write_hashes(
        &self,
        first: u64,
        hashes: &BTreeMap<u64, Hash>,
        batch: &mut sled::Batch,
    ) -> sled::Result<Option<u64>> {
        let new: Vec<Hash> = hashes.range(first..).map(|(_, h)| *h).collect();
        let count = first + new.len() as u64;
        let failed = |e: std::io::Error| {
            self.broken.store(true, Ordering::SeqCst);
            tracing::error!(error = %e, "the record's hash file could not be written; refusing appends");
            sled::Error::Io(e)
        };
        self.hashes.write(first, &new).map_err(failed)?;
        if count.saturating_sub(self.synced.load(Ordering::SeqCst)) < SYNC_EVERY {
            return Ok(None);
        }
        let file = Arc::clone(&self.hashes);
        tokio::task::spawn_blocking(move || file.sync())
            .await
            .map_err(|e| std::io::Error::other(format!("the sync task failed: {e}")))
            .and_then(|synced| synced)
            .map_err(failed)?;
        batch.insert(SYNCED, &count.to_be_bytes());
        Ok(Some(count))
    }

    /// Adds one caller's entries to the batch, or refuses them all.
    pub(super) fn stage(
        &self,
        entries: &[Entry],
        size: &mut u64,
        hashes: &mut BTreeMap<u64, Hash>,
        writes: &mut Vec<(Vec<u8>, Vec<u8>)>,
        claimed: &mut HashSet<Vec<u8>>,
    ) -> Result<Vec<u64>, StoreError> {
        let keys: Vec<Option<(Vec<u8>, String)>> = entries.iter().map(lookup_key).collect();
        for (key, name) in keys.iter().flatten() {
            if claimed.contains(key) || self.tree.contains_key(key)? {
                return Err(StoreError::Exists(name.clone()));
            }
        }
        let mut n = *size;
        let mut indexes = Vec::with_capacity(entries.len());
        let mut local = Vec::new();
        for (entry, key) in entries.iter().zip(&keys) {
            let bytes = entry.encode();
            let overlay = Overlay {
                file: &self.hashes,
                pending: hashes,
            };
            let new = match quorate_tlog::hashes_to_append(n, &bytes, &overlay) {
                Ok(new) => new,
                Err(e) => {
                    // Take back this caller's hashes; the group goes on.
                    hashes.split_off(&quorate_tlog::first_stored_index(*size));
                    return Err(e.into());
                }
            };
            let first = quorate_tlog::first_stored_index(n);
            for (i, h) in (first..).zip(new) {
                hashes.insert(i, h);
            }
            local.push((key_of(b'e', n), bytes));
            if let Some((key, _)) = key {
                local.push((key.clone(), n.to_be_bytes().to_vec()));
            }
            if let Entry::PartiesChanged { .. } = entry {
                // The latest list of parties replaces the one before.
                local.push((PARTIES.to_vec(), n.to_be_bytes().to_vec()));
            }
            indexes.push(n);
            n += 1;
        }
        // Nothing failed: merge into the group's batch.
        for (key, _) in keys.into_iter().flatten() {
            claimed.insert(key);
        }
        *size = n;
        writes.extend(local);
        Ok(indexes)
    }
}

/// Stored hashes: those of the batch being written, then those on disk.
struct Overlay<'a> {
    file: &'a HashFile,
    pending: &'a BTreeMap<u64, Hash>,
}

impl HashStore for Overlay<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, RecordError> {
        indexes
            .iter()
            .map(|&i| match self.pending.get(&i) {
                Some(h) => Ok(*h),
                None => self.file.read(i).map_err(|_| RecordError::MissingHash(i)),
            })
            .collect()
    }
}
