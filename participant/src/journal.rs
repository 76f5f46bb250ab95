//! The agent's own record of what its approver decided and what it signed.
//! It survives restarts (nonces do not); a decision is written and flushed
//! before it is sent to the coordinator.

use std::path::Path;

use quorate_common::{CeremonyId, Sha256Digest};
use serde::{Deserialize, Serialize};

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
    /// Signing attempts this agent released a share for.
    #[serde(default)]
    pub signed_attempts: Vec<u32>,
}

pub struct Journal {
    db: sled::Db,
}

impl Journal {
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        let db = sled::open(dir.join("journal"))
            .map_err(|e| anyhow::anyhow!("cannot open the journal in {}: {e}", dir.display()))?;
        Ok(Self { db })
    }

    pub fn get(&self, id: &CeremonyId) -> anyhow::Result<Option<Entry>> {
        match self.db.get(id.as_str())? {
            None => Ok(None),
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        }
    }

    /// Writes and flushes `entry`.
    pub async fn put(&self, id: &CeremonyId, entry: &Entry) -> anyhow::Result<()> {
        self.db.insert(id.as_str(), serde_json::to_vec(entry)?)?;
        self.db.flush_async().await?;
        Ok(())
    }
}
