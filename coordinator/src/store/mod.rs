//! Durable state: key groups, ceremony requests and their events, in sled.
//! Entries are only ever added: writing a key that exists is an error.

use std::future::Future;
use std::path::Path;

use quorate_ceremonies::{Event, Request, Timestamp};
use quorate_common::CeremonyId;
use quorate_common::keyfile::KeyGroupFile;
use serde::{Deserialize, Serialize};

/// One accepted event with the time the engine saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub at: Timestamp,
    pub event: Event,
}

/// A ceremony as stored: its request and every event, in order.
#[derive(Debug, Clone)]
pub struct StoredCeremony {
    pub request: Request,
    pub events: Vec<EventRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage failed: {0}")]
    Sled(#[from] sled::Error),
    #[error("stored data is corrupt at {key}: {why}")]
    Corrupt { key: String, why: String },
    #[error("{0} exists already; records are never overwritten")]
    Exists(String),
}

/// What the coordinator needs from storage.
pub trait CeremonyStore: Send + Sync + 'static {
    fn add_key_group(&self, group: &KeyGroupFile) -> Result<(), StoreError>;
    fn key_groups(&self) -> Result<Vec<KeyGroupFile>, StoreError>;
    fn add_ceremony(&self, request: &Request) -> Result<(), StoreError>;
    /// Appends event number `seq` (0-based) of a ceremony.
    fn append_event(
        &self,
        id: &CeremonyId,
        seq: u64,
        record: &EventRecord,
    ) -> Result<(), StoreError>;
    fn ceremonies(&self) -> Result<Vec<StoredCeremony>, StoreError>;
    /// Makes every write so far durable.
    fn flush(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub struct SledStore {
    db: sled::Db,
    key_groups: sled::Tree,
    requests: sled::Tree,
    events: sled::Tree,
}

impl SledStore {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = sled::open(dir)?;
        Ok(Self {
            key_groups: db.open_tree("key_groups")?,
            requests: db.open_tree("ceremonies")?,
            events: db.open_tree("events")?,
            db,
        })
    }
}

fn insert_new(
    tree: &sled::Tree,
    key: &[u8],
    value: Vec<u8>,
    name: String,
) -> Result<(), StoreError> {
    match tree.compare_and_swap(key, None as Option<&[u8]>, Some(value))? {
        Ok(()) => Ok(()),
        Err(_) => Err(StoreError::Exists(name)),
    }
}

fn decode<T: serde::de::DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        why: e.to_string(),
    })
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing our own plain data types to JSON cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

fn event_key(id: &CeremonyId, seq: u64) -> Vec<u8> {
    let mut key = id.as_str().as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

impl CeremonyStore for SledStore {
    fn add_key_group(&self, group: &KeyGroupFile) -> Result<(), StoreError> {
        insert_new(
            &self.key_groups,
            group.name.as_str().as_bytes(),
            encode(group),
            format!("key group {}", group.name),
        )
    }

    fn key_groups(&self) -> Result<Vec<KeyGroupFile>, StoreError> {
        self.key_groups
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                decode(&k, &v)
            })
            .collect()
    }

    fn add_ceremony(&self, request: &Request) -> Result<(), StoreError> {
        insert_new(
            &self.requests,
            request.id.as_str().as_bytes(),
            encode(request),
            format!("ceremony {}", request.id),
        )
    }

    fn append_event(
        &self,
        id: &CeremonyId,
        seq: u64,
        record: &EventRecord,
    ) -> Result<(), StoreError> {
        insert_new(
            &self.events,
            &event_key(id, seq),
            encode(record),
            format!("event {seq} of ceremony {id}"),
        )
    }

    fn ceremonies(&self) -> Result<Vec<StoredCeremony>, StoreError> {
        let mut out = Vec::new();
        for kv in self.requests.iter() {
            let (k, v) = kv?;
            let request: Request = decode(&k, &v)?;
            let mut prefix = request.id.as_str().as_bytes().to_vec();
            prefix.push(0);
            let mut events = Vec::new();
            for (expected, kv) in self.events.scan_prefix(&prefix).enumerate() {
                let (k, v) = kv?;
                if k.len() != prefix.len() + 8
                    || k[prefix.len()..] != (expected as u64).to_be_bytes()
                {
                    return Err(StoreError::Corrupt {
                        key: String::from_utf8_lossy(&k).into_owned(),
                        why: format!("expected event {expected} of ceremony {}", request.id),
                    });
                }
                events.push(decode(&k, &v)?);
            }
            out.push(StoredCeremony { request, events });
        }
        Ok(out)
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }
}
