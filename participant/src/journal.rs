//! The agent's own record of what its approver decided and what it signed.
//! It survives restarts (nonces do not); a decision, and each signing
//! attempt a share is released for, is written and flushed before it is
//! sent to the coordinator. It also keeps what the agent can learn again
//! (that the coordinator acknowledged a decision, what a record check
//! found, the latest checkpoint of the coordinator's log the agent
//! verified), written without waiting for a flush.
//!
//! [`Journal`] gives typed entries over a [`JournalStore`]: [`RedbJournal`]
//! on disk (`journal.redb` in the state directory). [`migrate`] copies a
//! journal of earlier releases, which kept it in sled.

use std::path::Path;
use std::sync::Arc;

use quorate_types::batch::FollowUp;
use quorate_types::{CeremonyId, Sha256Digest};
use serde::{Deserialize, Serialize};

use crate::gate::Refusal;
use crate::record_check::RecordCheck;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approved,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub decision: Decision,
    /// The digest of the exact message the approver decided on.
    pub message_sha256: Sha256Digest,
    pub reason: Option<String>,
    /// Whether the approver decided on a break-glass ceremony.
    #[serde(default)]
    pub break_glass: bool,
    /// The batch's follow-up messages the approver decided on, signed
    /// after the message under the same decision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follow_ups: Vec<FollowUp>,
    /// Signing attempts this agent released a share for, each with the
    /// message of the batch its package signed.
    #[serde(default)]
    pub signed_attempts: Vec<SignedAttempt>,
    /// The signed statement sent to the coordinator
    /// (`SignedStatement::to_bytes`); empty in entries older than statements.
    #[serde(default, with = "quorate_types::hex_bytes")]
    pub statement: Vec<u8>,
    /// The coordinator acknowledged the statement (or lists the decision),
    /// so its record must hold it.
    #[serde(default)]
    pub acknowledged: bool,
    /// The coordinator's signed receipt for the statement (a note under
    /// its log key), checked when it came: its promise that the record
    /// holds the statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    /// What the last check of the coordinator's record found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordCheck>,
    /// What the signing gate refused, the latest [`MAX_REFUSALS`] (a
    /// hostile coordinator can make it refuse without end).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refusals: Vec<Refused>,
}

/// How many refusals an entry keeps.
pub const MAX_REFUSALS: usize = 16;

/// A refusal of the signing gate, with the ceremony version and attempt it
/// was about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    pub version: u64,
    pub attempt: u32,
    pub refusal: Refusal,
}

/// One signing package this agent released a share for: its attempt
/// (never two packages with one attempt number in a ceremony) and which
/// message of the batch it signed (0 is the message itself). Each took
/// nonces of their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SignedAttemptForm")]
pub struct SignedAttempt {
    pub attempt: u32,
    pub message: u32,
    /// The share sent, and the package it is for, so that a share lost to
    /// a crash is sent again (its nonces are never used again). Absent in
    /// entries written before shares were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<SentShare>,
}

/// A signature share as sent: public once sent, so kept in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentShare {
    /// SHA-256 of the signing package's bytes as the coordinator sent them.
    pub package_sha256: Sha256Digest,
    #[serde(with = "quorate_types::hex_bytes")]
    pub share: Vec<u8>,
    /// The round-1 commitments whose nonces made the share (public), so
    /// that no commitment can be seen used for two packages. Empty in
    /// entries written before they were kept.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "quorate_types::hex_bytes"
    )]
    pub commitments: Vec<u8>,
}

/// A signed attempt as journals wrote it: a bare attempt number (before
/// batches, always message 0) or the attempt with its message.
#[derive(Deserialize)]
#[serde(untagged)]
enum SignedAttemptForm {
    Attempt(u32),
    Message {
        attempt: u32,
        message: u32,
        #[serde(default)]
        sent: Option<SentShare>,
    },
}

impl From<SignedAttemptForm> for SignedAttempt {
    fn from(form: SignedAttemptForm) -> Self {
        match form {
            SignedAttemptForm::Attempt(attempt) => Self {
                attempt,
                message: 0,
                sent: None,
            },
            SignedAttemptForm::Message {
                attempt,
                message,
                sent,
            } => Self {
                attempt,
                message,
                sent,
            },
        }
    }
}

impl Entry {
    /// Whether this agent released a share for `attempt`.
    pub fn signed(&self, attempt: u32) -> bool {
        self.signed_attempts.iter().any(|s| s.attempt == attempt)
    }

    /// The share this agent sent for `attempt`, if it kept it.
    pub fn sent_share(&self, attempt: u32) -> Option<&SentShare> {
        self.signed_attempts
            .iter()
            .find(|s| s.attempt == attempt)
            .and_then(|s| s.sent.as_ref())
    }

    /// Notes a refusal, unless it repeats the latest one, keeping the
    /// latest [`MAX_REFUSALS`]. Whether it was new.
    pub fn note_refusal(&mut self, refused: Refused) -> bool {
        if self.refusals.last() == Some(&refused) {
            return false;
        }
        self.refusals.push(refused);
        let excess = self.refusals.len().saturating_sub(MAX_REFUSALS);
        self.refusals.drain(..excess);
        true
    }
}

pub mod migrate;
mod redb_journal;
mod store;

pub use redb_journal::RedbJournal;
pub use store::JournalStore;

/// The journal: typed entries over a [`JournalStore`].
#[derive(Clone)]
pub struct Journal {
    store: Arc<dyn JournalStore>,
}

impl Journal {
    /// Opens the journal in the agent's state directory.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        Ok(Self::on(RedbJournal::open(dir)?))
    }

    /// A journal kept in `store`.
    pub fn on(store: impl JournalStore) -> Self {
        Self {
            store: Arc::new(store),
        }
    }

    pub fn get(&self, id: &CeremonyId) -> anyhow::Result<Option<Entry>> {
        match self.store.get(id.as_str())? {
            None => Ok(None),
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        }
    }

    /// Every entry, by ceremony id; entries that do not read are skipped.
    pub fn entries(&self) -> Vec<(CeremonyId, Entry)> {
        let all = match self.store.all() {
            Ok(all) => all,
            Err(e) => {
                tracing::error!(error = %e, "the journal could not be read");
                return Vec::new();
            }
        };
        all.into_iter()
            .filter_map(|(k, v)| {
                Some((CeremonyId::new(&k).ok()?, serde_json::from_slice(&v).ok()?))
            })
            .collect()
    }

    /// Writes `entry` and makes it durable.
    pub async fn put(&self, id: &CeremonyId, entry: &Entry) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec(entry)?;
        self.store
            .update(id.as_str(), &mut |_| Ok(Some(bytes.clone())))?;
        self.sync().await
    }

    /// Changes the entry of `id` in place (atomically, so concurrent
    /// updates of other fields are kept) and makes it durable. `None` if
    /// there is no entry.
    pub async fn update(
        &self,
        id: &CeremonyId,
        change: impl Fn(&mut Entry),
    ) -> anyhow::Result<Option<Entry>> {
        let new = self.note(id, change)?;
        self.sync().await?;
        Ok(new)
    }

    /// Changes the entry of `id` like [`Journal::update`] without making
    /// it durable: the next durable write does. For what the agent can
    /// learn again after a crash (that the coordinator acknowledged a
    /// decision, what a record check found), never for what it decided or
    /// signed.
    pub fn note(
        &self,
        id: &CeremonyId,
        change: impl Fn(&mut Entry),
    ) -> anyhow::Result<Option<Entry>> {
        let new = self.store.update(id.as_str(), &mut |old| {
            let Some(old) = old else {
                return Ok(None);
            };
            let mut entry: Entry = serde_json::from_slice(old)
                .map_err(|e| anyhow::anyhow!("the journal entry of {id} does not read: {e}"))?;
            change(&mut entry);
            Ok(Some(serde_json::to_vec(&entry)?))
        })?;
        Ok(new.map(|b| serde_json::from_slice(&b)).transpose()?)
    }

    /// The latest checkpoint note of the coordinator's log this agent
    /// verified.
    pub fn checkpoint(&self) -> anyhow::Result<Option<String>> {
        self.store.checkpoint()
    }

    /// Keeps `note` as the latest verified checkpoint, without making it
    /// durable: a crash may forget it, and the next check then starts from
    /// the one before, which was verified too.
    pub fn set_checkpoint(&self, note: &str) -> anyhow::Result<()> {
        self.store.set_checkpoint(note)
    }

    /// Makes every change so far durable, on tokio's blocking pool.
    async fn sync(&self) -> anyhow::Result<()> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || store.sync())
            .await
            .map_err(|e| anyhow::anyhow!("the journal's sync task failed: {e}"))?
    }
}
