//! `quorate-coordinator migrate --to-postgres` and `--to-embedded`: moves
//! the record between the embedded store and the log in PostgreSQL, entry
//! by entry, byte for byte, and proves the root hash equal before it
//! reports success.
//!
//! To PostgreSQL: the embedded record (its coordinator stopped) is
//! appended to an empty log in one transaction under the sequencing lease,
//! so that the database holds all of it or none. The data directory then
//! serves as the first replica's mirror: add `store = "postgres://..."`.
//! Back: the log (every replica stopped) is imported into a new embedded
//! store, with the log key of the replica's data directory.

use std::path::Path;

use rand_core::{OsRng, RngCore};

use crate::log_key;
use crate::store::postgres::{Database, PgError, PgLog};
use crate::store::replica::{LEASE, follow};
use crate::store::{CeremonyStore, DATABASE_FILE, HASH_FILE, RedbStore, StoreError};

/// Entries per chunk read from the embedded store.
const CHUNK: u64 = 4096;

/// What a migration copied: how many entries, and the root both stores
/// have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub entries: u64,
    pub root: quorate_tlog::Hash,
}

/// A name in the lease of its own, for this migration.
fn migration_name() -> String {
    let mut bytes = [0u8; 8];
    OsRng.fill_bytes(&mut bytes);
    format!("migrate-{}", hex::encode(bytes))
}

fn open_stopped(dir: &Path) -> anyhow::Result<RedbStore> {
    RedbStore::open(dir).map_err(|e| match e {
        StoreError::Held => anyhow::anyhow!(
            "a coordinator holds {} (its store is locked): stop it, then migrate",
            dir.display()
        ),
        other => anyhow::anyhow!("cannot open the record in {}: {other}", dir.display()),
    })
}

/// Copies the embedded record in `dir` into the empty log in `db`.
pub async fn to_postgres(dir: &Path, db: impl Into<Database>) -> anyhow::Result<Copied> {
    let db: Database = db.into();
    if !dir.join(DATABASE_FILE).exists() {
        anyhow::bail!("{} holds no record ({DATABASE_FILE})", dir.display());
    }
    let store = open_stopped(dir)?;
    let size = store.size();
    let name = migration_name();
    let mut log = PgLog::connect(&db, &name)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to {}: {e}", redacted(db.url())))?;
    let there = log.size().await?;
    if there > 0 {
        anyhow::bail!(
            "the log in PostgreSQL holds {there} entries already: migrate into an empty database"
        );
    }
    let Some(lease) = log.acquire(LEASE).await? else {
        let who = log.holder().await?.map(|h| h.replica).unwrap_or_default();
        anyhow::bail!(
            "replica {who} holds the database's sequencing lease: stop every replica, then migrate"
        );
    };
    // Still empty, now that no replica can append.
    let there = log.size().await?;
    if there > 0 {
        log.release(lease).await?;
        anyhow::bail!(
            "the log in PostgreSQL holds {there} entries already: migrate into an empty database"
        );
    }
    // The record's own log key is the log's: one a replica recorded over
    // the empty log before signed nothing.
    if dir.join(log_key::FILE_NAME).exists() {
        let key = log_key::load_any(dir)?;
        log.replace_log_key(&key.verifier_key(), &name).await?;
    }
    let first = log
        .append_with(lease, |from| {
            if from >= size {
                return Ok(None);
            }
            (from..size.min(from + CHUNK))
                .map(|i| store.entry(i).map_err(|e| PgError::Source(e.to_string())))
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        })
        .await?;
    log.release(lease).await?;
    if first != 0 {
        anyhow::bail!("the log in PostgreSQL was not empty: the copy starts at entry {first}");
    }
    let theirs = log.root(size).await?;
    let ours = store.root(size)?;
    if theirs != ours {
        anyhow::bail!(
            "the log in PostgreSQL has root {theirs} at {size} entries, the embedded record \
             {ours}: the copy is wrong; drop the database's quorate_entries table and migrate again"
        );
    }
    Ok(Copied {
        entries: size,
        root: ours,
    })
}

/// Copies the log in `db` into a new embedded store in `new`, with the
/// log key of `data_dir` (the replica's), and proves the roots equal. On
/// any failure it removes what it made in `new`.
pub async fn to_embedded(
    db: impl Into<Database>,
    data_dir: &Path,
    new: &Path,
) -> anyhow::Result<Copied> {
    let db: Database = db.into();
    for made in [DATABASE_FILE, HASH_FILE, log_key::FILE_NAME] {
        if new.join(made).exists() {
            anyhow::bail!(
                "{} holds {made} already: migrate into an empty directory",
                new.display()
            );
        }
    }
    let key = data_dir.join(log_key::FILE_NAME);
    if !key.exists() {
        anyhow::bail!(
            "{} has no log key ({}): name the data_dir of a replica of this database",
            data_dir.display(),
            log_key::FILE_NAME
        );
    }
    let log = PgLog::connect(&db, &migration_name())
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to {}: {e}", redacted(db.url())))?;
    if let Some(holder) = log.holder().await? {
        anyhow::bail!(
            "replica {} holds the database's sequencing lease: stop every replica, so that \
             nothing is appended after the copy, then migrate",
            holder.replica
        );
    }
    let copied = copy_out(&log, new).await;
    if copied.is_err() {
        for made in [DATABASE_FILE, HASH_FILE, log_key::FILE_NAME] {
            let _ = std::fs::remove_file(new.join(made));
        }
        return copied;
    }
    std::fs::copy(&key, new.join(log_key::FILE_NAME))
        .map_err(|e| anyhow::anyhow!("cannot copy the log key {}: {e}", key.display()))?;
    copied
}

async fn copy_out(log: &PgLog, new: &Path) -> anyhow::Result<Copied> {
    let store = RedbStore::open(new)?;
    follow(log, &store).await?;
    let size = store.size();
    let theirs = log.root(size).await?;
    let ours = store.root(size)?;
    if theirs != ours {
        anyhow::bail!(
            "the new record's root {ours} differs from the log's {theirs} at {size} entries: \
             nothing was migrated"
        );
    }
    Ok(Copied {
        entries: size,
        root: ours,
    })
}

/// `url` without its password, for messages.
pub fn redacted(url: &str) -> String {
    match url.parse::<tokio_postgres::Config>() {
        Ok(c) => format!(
            "the database {} on {}",
            c.get_dbname().unwrap_or("(default)"),
            c.get_hosts()
                .iter()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(h) => h.clone(),
                    tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                })
                .collect::<Vec<_>>()
                .join(",")
        ),
        Err(_) => "the database".into(),
    }
}
