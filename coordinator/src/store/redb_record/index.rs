//! The indexes into the log: which entry holds a key group's registration
//! and roster changes, a ceremony's request and events, the latest parties.
//! Each is a key written once, with the entry's index as its value.

use super::*;

/// Index of the latest [`Entry::PartiesChanged`].
pub(super) const PARTIES: &[u8] = b"p";

impl RedbStore {
    pub(super) fn index_at(&self, key: &[u8]) -> Result<Option<u64>, StoreError> {
        let read = self.inner.reader()?;
        let lookups = read.open_table(LOOKUPS).map_err(storage)?;
        Ok(lookups.get(key).map_err(storage)?.map(|v| v.value()))
    }

    /// Every lookup key that starts with `prefix`, in key order, with the
    /// index it names.
    pub(super) fn scan(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, u64)>, StoreError> {
        let read = self.inner.reader()?;
        let lookups = read.open_table(LOOKUPS).map_err(storage)?;
        let mut out = Vec::new();
        for kv in lookups.range(prefix..).map_err(storage)? {
            let (k, v) = kv.map_err(storage)?;
            if !k.value().starts_with(prefix) {
                break;
            }
            out.push((k.value().to_vec(), v.value()));
        }
        Ok(out)
    }

    /// (version, index) of each roster change of the key group, in order.
    pub(super) fn roster_change_indexes(
        &self,
        group: &KeyGroupName,
    ) -> Result<Vec<(u64, u64)>, StoreError> {
        self.numbered(b'v', group.as_str())
    }

    /// Indexes of the backup notes of the key group's participants.
    pub(super) fn backup_note_indexes(&self, group: &KeyGroupName) -> Result<Vec<u64>, StoreError> {
        let prefix = lookup(b'b', format!("{group}\0").as_bytes());
        Ok(self.scan(&prefix)?.into_iter().map(|(_, i)| i).collect())
    }

    pub(super) fn key_event_indexes(&self, id: &KeyCeremonyId) -> Result<Vec<u64>, StoreError> {
        let events = self.numbered(b'e', id.as_str())?;
        Ok(events.into_iter().map(|(_, index)| index).collect())
    }

    pub(super) fn event_indexes(&self, id: &CeremonyId) -> Result<Vec<u64>, StoreError> {
        let events = self.numbered(b'c', id.as_str())?;
        Ok(events.into_iter().map(|(_, index)| index).collect())
    }

    /// (n, log index) of every [`numbered`] key of `name`, in order of n.
    fn numbered(&self, tag: u8, name: &str) -> Result<Vec<(u64, u64)>, StoreError> {
        let prefix = numbered_prefix(tag, name);
        self.scan(&prefix)?
            .into_iter()
            .map(|(k, index)| {
                let n = k
                    .get(prefix.len()..)
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map(u64::from_be_bytes)
                    .ok_or_else(|| StoreError::Corrupt {
                        key: String::from_utf8_lossy(&k).to_string(),
                        why: "does not end in an 8-byte number".into(),
                    })?;
                Ok((n, index))
            })
            .collect()
    }
}

/// The lookup key an entry claims, and what to call it if it is taken.
pub(super) fn lookup_key(entry: &Entry) -> Option<(Vec<u8>, String)> {
    Some(match entry {
        Entry::Refused { .. } | Entry::PartiesChanged { .. } => return None,
        Entry::RosterChanged {
            key_group, version, ..
        } => {
            let mut key = lookup(b'v', key_group.as_str().as_bytes());
            key.push(0);
            key.extend_from_slice(&version.to_be_bytes());
            (
                key,
                format!("roster change {version} of key group {key_group}"),
            )
        }
        Entry::KeyGroupChanged {
            key_group, version, ..
        } => (
            numbered(b'v', key_group.name.as_str(), *version),
            format!("change {version} of key group {}", key_group.name),
        ),
        Entry::KeyGroupRegistered { key_group, .. } => (
            lookup(b'k', key_group.name.as_str().as_bytes()),
            format!("key group {}", key_group.name),
        ),
        Entry::CeremonyRequested { request, .. } => (
            lookup(b'r', request.id.as_str().as_bytes()),
            format!("ceremony {}", request.id),
        ),
        Entry::CeremonyEvent { ceremony, seq, .. } => (
            numbered(b'c', ceremony.as_str(), *seq),
            format!("event {seq} of ceremony {ceremony}"),
        ),
        Entry::KeyCeremonyProposed { ceremony, .. } => (
            lookup(b'K', ceremony.as_str().as_bytes()),
            format!("key ceremony {ceremony}"),
        ),
        Entry::KeyCeremonyEvent { ceremony, seq, .. } => (
            numbered(b'e', ceremony.as_str(), *seq),
            format!("event {seq} of key ceremony {ceremony}"),
        ),
        // A key group hands over once.
        Entry::KeyGroupHandedOver { key_group, .. } => (
            lookup(b'H', key_group.as_str().as_bytes()),
            format!("the hand-over of key group {key_group}"),
        ),
        // A key group retires once.
        Entry::KeyGroupRetired { key_group, .. } => (
            lookup(b'R', key_group.as_str().as_bytes()),
            format!("the retirement of key group {key_group}"),
        ),
        // One entry per backup: the same note sent again is the same.
        Entry::ShareBackedUp { note, .. } => {
            let n = &note.note;
            let name = format!(
                "{}\0{}\0{}",
                n.key_group, n.participant, n.commitments_sha256
            );
            (
                lookup(b'b', name.as_bytes()),
                format!(
                    "backup {} of {}'s share in key group {}",
                    n.commitments_sha256, n.participant, n.key_group
                ),
            )
        }
    })
}

pub(super) fn lookup(tag: u8, name: &[u8]) -> Vec<u8> {
    let mut key = vec![tag];
    key.extend_from_slice(name);
    key
}

/// The key of item `n` of `name` (event n of a ceremony, roster change n of
/// a key group): tag, name, 0, n big-endian, so that a prefix scan lists
/// a name's items in order.
pub(super) fn numbered(tag: u8, name: &str, n: u64) -> Vec<u8> {
    let mut key = numbered_prefix(tag, name);
    key.extend_from_slice(&n.to_be_bytes());
    key
}

pub(super) fn numbered_prefix(tag: u8, name: &str) -> Vec<u8> {
    let mut key = lookup(tag, name.as_bytes());
    key.push(0);
    key
}
