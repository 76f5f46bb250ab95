//! Group commit: concurrent callers' entries go into one write transaction
//! and one durable commit; each caller is answered only after it. A
//! group's stored hashes are written to the hash file first, synced every
//! [`SYNC_EVERY`] hashes before the transaction records how many were
//! synced.

use redb::{ReadableTable, Table};

use super::live::{Changes, ENDED, LIVE, REQUESTS};

use super::*;

pub(super) struct Pending {
    /// Each entry with the bytes to store for it.
    pub(super) entries: Vec<(Entry, Vec<u8>)>,
    pub(super) reply: oneshot::Sender<Result<Vec<u64>, StoreError>>,
}

/// What a group adds to the tables, once every caller in it is staged.
#[derive(Default)]
pub(super) struct Staged {
    hashes: BTreeMap<u64, Hash>,
    entries: Vec<(u64, Vec<u8>)>,
    lookups: Vec<(Vec<u8>, u64)>,
    claimed: HashSet<Vec<u8>>,
    live: Changes,
}

impl Inner {
    /// Writes a group and answers its callers. Blocking: runs on tokio's
    /// blocking pool.
    pub(super) fn write(&self, batch: Vec<Pending>) {
        if let Err(e) = self.recover() {
            tracing::error!(error = %e, "the record cannot be opened again yet");
            for p in batch {
                let _ = p.reply.send(Err(StoreError::Failed(e.to_string())));
            }
            return;
        }
        let start = self.size.load(Ordering::SeqCst);
        let mut accepted = Vec::new();
        let outcome = self.commit(batch, start, &mut accepted);
        match outcome {
            Ok((size, synced)) => {
                if let Some(synced) = synced {
                    self.synced.store(synced, Ordering::SeqCst);
                }
                self.size.store(size, Ordering::SeqCst);
                self.refusing
                    .send_if_modified(|r| std::mem::replace(&mut r.now, false));
                for (p, indexes) in accepted {
                    let _ = p.reply.send(Ok(indexes));
                }
            }
            Err(e) => {
                self.broken.store(true, Ordering::SeqCst);
                tracing::error!(error = %e, "the record could not be written");
                for (p, _) in accepted {
                    let _ = p.reply.send(Err(StoreError::Failed(format!(
                        "the record could not be written: {e}"
                    ))));
                }
                // Open it again at once: a write whose outcome is unknown
                // halts the store now, not at the next write. If it cannot
                // be opened yet (the disk is still full), the next write
                // tries again.
                if let Err(e) = self.recover() {
                    tracing::warn!(error = %e, "the record cannot be opened again yet");
                }
                // Refused, not halted: the coordinator goes on. (A halt is
                // alerted as the coordinator stops.)
                if self.halt.borrow().is_none() {
                    self.refusing.send_if_modified(|r| {
                        if r.now {
                            return false;
                        }
                        r.episodes += 1;
                        r.why = format!("the record could not be written: {e}");
                        r.now = true;
                        true
                    });
                }
            }
        }
    }

    /// Whether each caller's entries would be appended now, in order, as
    /// one group (a later caller may be refused for what an earlier one
    /// claims), without writing anything: the checks a write makes before
    /// it writes (a request id or claim recorded already, an entry that
    /// cannot follow). For a replica, before it appends them elsewhere
    /// first. Blocking.
    pub(super) fn check(
        &self,
        callers: &[Vec<(Entry, Vec<u8>)>],
    ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        self.recover()?;
        let db = read(&self.db);
        let Some(db) = db.as_ref() else {
            return Err(StoreError::Failed("the record is not open".into()));
        };
        let txn = db.begin_write().map_err(storage)?;
        let verdicts = {
            let lookups = txn.open_table(LOOKUPS).map_err(storage)?;
            let live = txn.open_table(LIVE).map_err(storage)?;
            let mut size = self.size.load(Ordering::SeqCst);
            let mut staged = Staged::default();
            callers
                .iter()
                .map(|entries| {
                    self.stage(entries, &lookups, &live, &mut size, &mut staged)
                        .map(|_| ())
                })
                .collect()
        };
        txn.abort().map_err(storage)?;
        Ok(verdicts)
    }

    /// Stages every caller of the batch (refusing those whose entries
    /// cannot be appended), writes the hash file and commits. Returns the
    /// new size and, if the hash file was synced, how many hashes it holds.
    fn commit(
        &self,
        batch: Vec<Pending>,
        start: u64,
        accepted: &mut Vec<(Pending, Vec<u64>)>,
    ) -> Result<(u64, Option<u64>), StoreError> {
        let db = read(&self.db);
        let Some(db) = db.as_ref() else {
            return Err(StoreError::Failed("the record is not open".into()));
        };
        let txn = db.begin_write().map_err(storage)?;
        let mut size = start;
        let mut staged = Staged::default();
        let synced = {
            let mut lookups = txn.open_table(LOOKUPS).map_err(storage)?;
            let mut live = txn.open_table(LIVE).map_err(storage)?;
            for p in batch {
                match self.stage(&p.entries, &lookups, &live, &mut size, &mut staged) {
                    Ok(indexes) => accepted.push((p, indexes)),
                    Err(e) => {
                        let _ = p.reply.send(Err(e));
                    }
                }
            }
            if accepted.is_empty() {
                return Ok((start, None));
            }
            let mut entries = txn.open_table(ENTRIES).map_err(storage)?;
            for (index, bytes) in &staged.entries {
                // Never over an entry: the transaction is dropped unwritten.
                if entries
                    .insert(index, bytes.as_slice())
                    .map_err(storage)?
                    .is_some()
                {
                    return Err(StoreError::Corrupt {
                        key: format!("entry {index}"),
                        why: "a write would have replaced it; nothing was written".into(),
                    });
                }
            }
            for (key, index) in &staged.lookups {
                lookups.insert(key.as_slice(), index).map_err(storage)?;
            }
            // Most groups (events that neither open nor end a ceremony)
            // touch none of these tables.
            if !staged.live.is_empty() {
                staged.live.write(
                    &mut live,
                    &mut txn.open_table(ENDED).map_err(storage)?,
                    &mut txn.open_table(REQUESTS).map_err(storage)?,
                )?;
            }
            let first = quorate_tlog::first_stored_index(start);
            let mut meta = txn.open_table(META).map_err(storage)?;
            self.write_hashes(first, &staged.hashes, &mut meta)?
        };
        txn.commit().map_err(storage)?;
        Ok((size, synced))
    }

    /// Writes a group's new stored hashes (`first` onwards) to the hash
    /// file before its transaction commits. Every [`SYNC_EVERY`] hashes it
    /// syncs the file, before the commit can make the entries durable, and
    /// records the synced count in the transaction.
    fn write_hashes(
        &self,
        first: u64,
        hashes: &BTreeMap<u64, Hash>,
        meta: &mut Table<&str, u64>,
    ) -> Result<Option<u64>, StoreError> {
        let new: Vec<Hash> = hashes.range(first..).map(|(_, h)| *h).collect();
        let count = first + new.len() as u64;
        self.hashes.write(first, &new).map_err(hash_file_error)?;
        if count.saturating_sub(self.synced.load(Ordering::SeqCst)) < SYNC_EVERY {
            return Ok(None);
        }
        self.hashes.sync().map_err(hash_file_error)?;
        meta.insert(SYNCED, count).map_err(storage)?;
        Ok(Some(count))
    }

    /// Adds one caller's entries to the group, or refuses them all.
    fn stage(
        &self,
        entries: &[(Entry, Vec<u8>)],
        lookups: &Table<&[u8], u64>,
        live: &Table<&str, (u64, bool, &str)>,
        size: &mut u64,
        staged: &mut Staged,
    ) -> Result<Vec<u64>, StoreError> {
        let keys: Vec<Option<(Vec<u8>, String)>> =
            entries.iter().map(|(e, _)| lookup_key(e)).collect();
        for (key, name) in keys.iter().flatten() {
            let taken = lookups.get(key.as_slice()).map_err(storage)?.is_some();
            if taken || staged.claimed.contains(key) {
                return Err(StoreError::Exists(name.clone()));
            }
        }
        let mut n = *size;
        let mut indexes = Vec::with_capacity(entries.len());
        let mut local_entries = Vec::new();
        let mut local_lookups = Vec::new();
        let mut local_live = staged.live.clone();
        for ((entry, bytes), key) in entries.iter().zip(&keys) {
            let overlay = Overlay {
                file: &self.hashes,
                pending: &staged.hashes,
            };
            let new = match quorate_tlog::hashes_to_append(n, bytes, &overlay) {
                Ok(new) => new,
                Err(e) => {
                    // Take back this caller's hashes; the group goes on.
                    staged
                        .hashes
                        .split_off(&quorate_tlog::first_stored_index(*size));
                    return Err(e.into());
                }
            };
            let first = quorate_tlog::first_stored_index(n);
            for (i, h) in (first..).zip(new) {
                staged.hashes.insert(i, h);
            }
            local_entries.push((n, bytes.clone()));
            if let Some((key, _)) = key {
                local_lookups.push((key.clone(), n));
            }
            if let Entry::PartiesChanged { .. } = entry {
                // The latest list of parties replaces the one before.
                local_lookups.push((PARTIES.to_vec(), n));
            }
            if let Err(e) = local_live.note(n, entry, live) {
                staged
                    .hashes
                    .split_off(&quorate_tlog::first_stored_index(*size));
                return Err(e);
            }
            indexes.push(n);
            n += 1;
        }
        // Nothing failed: merge into the group.
        for (key, _) in keys.into_iter().flatten() {
            staged.claimed.insert(key);
        }
        *size = n;
        staged.entries.extend(local_entries);
        staged.lookups.extend(local_lookups);
        staged.live = local_live;
        Ok(indexes)
    }
}

/// Stored hashes: those of the group being written, then those on disk.
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
