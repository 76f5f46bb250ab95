//! The coordinator's log key: made on first start, kept in the data
//! directory (0600), and used only to sign checkpoints of the record.

use std::path::Path;

use quorate_secrets::keyfile::{seed_from_hex, write_file};
use quorate_tlog::LogKey;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

const FORMAT: &str = "quorate-log-key/v1";
pub const FILE_NAME: &str = "log-key.json";

#[derive(Serialize, Deserialize)]
struct LogKeyFile {
    format: String,
    /// The checkpoints' origin line and the note key's name.
    origin: String,
    seed: Zeroizing<String>,
}

/// Loads the log key of `data_dir`, or makes one for `origin` if there is
/// none and the record is empty (`log_size` 0). A record with entries and
/// no key is refused: a new key would leave every checkpoint agents and
/// auditors hold unverifiable, and hide that the key was lost.
pub fn load_or_create(data_dir: &Path, origin: &str, log_size: u64) -> anyhow::Result<LogKey> {
    let path = data_dir.join(FILE_NAME);
    if !path.exists() && log_size > 0 {
        anyhow::bail!(
            "the record in {} holds {log_size} entries, but its log key {} is missing: restore \
             it from a backup. A new key would sign checkpoints that nobody holding the old \
             verifier key (agents, auditors, witnesses) could check",
            data_dir.display(),
            path.display()
        );
    }
    if !path.exists() {
        let key = LogKey::generate(&mut rand_core::OsRng, origin)
            .map_err(|e| anyhow::anyhow!("log_origin {origin:?}: {e}"))?;
        let file = LogKeyFile {
            format: FORMAT.into(),
            origin: origin.into(),
            seed: Zeroizing::new(hex::encode(*key.seed())),
        };
        let json = Zeroizing::new(serde_json::to_vec_pretty(&file)?);
        write_file(&path, &json, 0o600)?;
        tracing::info!(verifier_key = %key.verifier_key(), "made a new log key");
        return Ok(key);
    }
    load(data_dir, origin)
}

/// Loads the log key of `data_dir`, which must have one for `origin`.
pub fn load(data_dir: &Path, origin: &str) -> anyhow::Result<LogKey> {
    let key = load_any(data_dir)?;
    if key.name() != origin {
        anyhow::bail!(
            "the log key in {} is for origin {:?}, but log_origin is {origin:?}; \
             a log keeps its origin for life",
            data_dir.join(FILE_NAME).display(),
            key.name()
        );
    }
    Ok(key)
}

/// Loads the log key of `data_dir`, whatever its origin.
pub fn load_any(data_dir: &Path) -> anyhow::Result<LogKey> {
    let path = data_dir.join(FILE_NAME);
    if !path.exists() {
        anyhow::bail!(
            "{} holds no log key yet: the coordinator makes it at its first start",
            data_dir.display()
        );
    }
    let bytes = Zeroizing::new(
        std::fs::read(&path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?,
    );
    let file: LogKeyFile = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("{} is not a log key file: {e}", path.display()))?;
    if file.format != FORMAT {
        anyhow::bail!(
            "{} has format {:?}, not {FORMAT}",
            path.display(),
            file.format
        );
    }
    let seed = seed_from_hex(&path, "log key", &file.seed)?;
    LogKey::from_seed(&file.origin, &seed).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
