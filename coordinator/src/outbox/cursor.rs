//! Where each sink's alert cursor is kept: a file in `data_dir` for the
//! embedded store, `<data_dir>/alerts.<sink>.cursor`; for replicas over
//! PostgreSQL, a row of `quorate_alert_cursors` shared by them all, so
//! that the replica that takes over delivers what the one before had not
//! (the file then only seeds a sink the database has no cursor for: the
//! cursor of a coordinator whose record was migrated there).

use std::path::{Path, PathBuf};

use crate::store::postgres::{Database, PgLog};

pub enum Cursors {
    /// A file per sink in this directory.
    Files(PathBuf),
    /// A row per sink in the database.
    Database(Box<InDatabase>),
}

/// Cursors in the database; files in `seeds` start those it has none for.
pub struct InDatabase {
    db: Database,
    replica: String,
    seeds: PathBuf,
    conn: tokio::sync::Mutex<Option<PgLog>>,
}

impl Cursors {
    pub fn database(db: Database, replica: &str, seeds: &Path) -> Self {
        Self::Database(Box::new(InDatabase {
            db,
            replica: replica.to_string(),
            seeds: seeds.to_path_buf(),
            conn: tokio::sync::Mutex::new(None),
        }))
    }

    /// Where `sink` starts: its cursor, else (a sink seen for the first
    /// time) `end`, kept as its cursor.
    pub async fn start(&self, sink: &str, end: u64) -> anyhow::Result<u64> {
        match self {
            Self::Files(dir) => {
                let path = file(dir, sink);
                match read(&path)? {
                    Some(next) => Ok(next),
                    None => {
                        write(&path, end)?;
                        Ok(end)
                    }
                }
            }
            Self::Database(d) => {
                let kept = d
                    .bounded(async {
                        match d.connection().await?.as_ref() {
                            Some(log) => Ok(log.cursor(sink).await?),
                            None => Ok(None),
                        }
                    })
                    .await?;
                match kept {
                    Some(next) => Ok(next),
                    None => {
                        let seed = read(&file(&d.seeds, sink))?.unwrap_or(end);
                        self.save(sink, seed).await?;
                        Ok(seed)
                    }
                }
            }
        }
    }

    /// Moves `sink`'s cursor on to `next`.
    pub async fn save(&self, sink: &str, next: u64) -> anyhow::Result<()> {
        match self {
            Self::Files(dir) => write(&file(dir, sink), next),
            Self::Database(d) => {
                d.bounded(async {
                    if let Some(log) = d.connection().await?.as_ref() {
                        log.move_cursor(sink, next).await?;
                    }
                    Ok(())
                })
                .await
            }
        }
    }
}

/// How long a cursor's read or move may take: a database cut off must
/// not hold the outbox (or a stop) for long.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl InDatabase {
    /// `query`, for at most [`TIMEOUT`]; the connection is made afresh
    /// after one that failed or did not answer.
    async fn bounded<T>(
        &self,
        query: impl std::future::Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        let answer = tokio::time::timeout(TIMEOUT, query)
            .await
            .unwrap_or_else(|_| {
                Err(anyhow::anyhow!(
                    "the database did not answer in {TIMEOUT:?}"
                ))
            });
        if answer.is_err() {
            *self.conn.lock().await = None;
        }
        answer
    }

    /// The database connection, made (again) if need be.
    async fn connection(&self) -> anyhow::Result<tokio::sync::MutexGuard<'_, Option<PgLog>>> {
        let mut held = self.conn.lock().await;
        if held.as_ref().is_none_or(PgLog::is_closed) {
            *held = Some(PgLog::connect(self.db.clone(), &self.replica).await?);
        }
        Ok(held)
    }
}

fn file(dir: &Path, sink: &str) -> PathBuf {
    dir.join(format!("alerts.{sink}.cursor"))
}

fn read(path: &Path) -> anyhow::Result<Option<u64>> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.trim().parse().map(Some).map_err(|e| {
            anyhow::anyhow!(
                "{} is not an alert cursor ({e}): remove it to start alerts afresh at the record's end",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

/// Writes the cursor durably: a new file, synced, renamed over the old.
fn write(path: &Path, next: u64) -> anyhow::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("cursor.new");
    let mut file = std::fs::File::create(&tmp)?;
    writeln!(file, "{next}")?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
