//! The record's log in PostgreSQL, for coordinator replicas over one
//! database: canonical entry bytes with their RFC 6962 leaf hashes, each
//! index assigned once and none skipped, whichever replica appends.
//!
//! Appends are sequenced by the database under a lease ([`lease`]): one
//! row naming the replica that may append, its epoch (a fencing token that
//! grows at every change of holder) and when it ends by the database's own
//! clock. Every append runs in one transaction that first locks the lease
//! row and checks that the caller still holds it, then numbers its entries
//! after the highest stored index. A takeover needs the same row lock, so
//! it waits for an append in flight, and bumps the epoch, after which the
//! former holder's appends are refused whatever its connection or clock
//! says. Why a lease row and not an advisory lock: an advisory lock
//! belongs to a database session, so a reconnect or a pooled connection
//! silently holds no lock, and its release after a network partition waits
//! for the server to notice a dead TCP connection; the lease row fences a
//! stale writer in the append's own transaction, with one clock.
//!
//! Replica names must be unique: two processes under one name share its
//! lease and are not fenced from each other. Connections go over TLS
//! ([`tls`]) when a CA is given ([`Database::with_ca`]), else in plaintext
//! to a database on loopback only.

mod lease;
pub mod tls;
mod tree;

use std::time::Duration;

use quorate_tlog::Hash;
use tokio::sync::watch;
use tokio_postgres::{Client, NoTls};

pub use lease::{Holder, Lease};

/// The tables, made if missing (under an advisory lock, so that replicas
/// starting at once do not race).
const SCHEMA: &str = include_str!("postgres/schema.sql");

/// How long a transaction may sit idle on the server (its client silent)
/// before the server ends it.
const IDLE_IN_TRANSACTION_MS: u64 = 5_000;
/// How long a connection's socket may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a connection may take to be ready: open, TLS, authenticated
/// and the tables made (a server that accepts and then says nothing would
/// hold a start for ever).
const READY_WITHIN: Duration = Duration::from_secs(10);

/// Why the PostgreSQL log refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("PostgreSQL: {0}")]
    Db(#[from] tokio_postgres::Error),
    #[error(
        "replica {replica} no longer holds the sequencing lease it had (epoch {epoch}): \
         {why}; it must not append"
    )]
    LeaseLost {
        replica: String,
        epoch: i64,
        why: String,
    },
    #[error(
        "the database at {0} is not on loopback: give store_ca (the CA of its server's \
         certificate) to reach it over TLS"
    )]
    Plaintext(String),
    #[error("PostgreSQL did not answer within {0:?}")]
    Timeout(Duration),
    #[error("PostgreSQL did not answer before the sequencing lease could end")]
    Silent,
    #[error("{0}")]
    Source(String),
    #[error("the log in PostgreSQL is corrupt at entry {index}: {why}")]
    Corrupt { index: u64, why: String },
}

/// An entry as stored: its index, canonical bytes and leaf hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub index: u64,
    pub bytes: Vec<u8>,
    pub leaf: Hash,
}

/// Where the log is: a PostgreSQL URL and, for TLS, the CA its server's
/// certificate must chain to. Without a CA only a database on loopback
/// (or a Unix socket) is reached, in plaintext.
#[derive(Clone)]
pub struct Database {
    url: String,
    tls: Option<tls::MakeRustls>,
}

impl Database {
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_string(),
            tls: None,
        }
    }

    /// Over TLS, trusting the CA certificates in the PEM file `ca`.
    pub fn with_ca(mut self, ca: &std::path::Path) -> Result<Self, String> {
        self.tls = Some(tls::MakeRustls::from_ca_file(ca)?);
        Ok(self)
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Database(tls: {})", self.tls.is_some())
    }
}

impl From<&str> for Database {
    fn from(url: &str) -> Self {
        Self::new(url)
    }
}

impl From<&String> for Database {
    fn from(url: &String) -> Self {
        Self::new(url)
    }
}

impl From<&Database> for Database {
    fn from(db: &Database) -> Self {
        db.clone()
    }
}

/// Refuses plaintext to a database off loopback.
fn check_plaintext(config: &tokio_postgres::Config) -> Result<(), PgError> {
    use tokio_postgres::config::Host;
    let loopback = |h: &str| {
        h == "localhost"
            || h.parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    };
    for host in config.get_hosts() {
        if let Host::Tcp(h) = host
            && !loopback(h)
        {
            return Err(PgError::Plaintext(h.clone()));
        }
    }
    for addr in config.get_hostaddrs() {
        if !addr.is_loopback() {
            return Err(PgError::Plaintext(addr.to_string()));
        }
    }
    Ok(())
}

/// Drives a connection until it ends.
/// Drives `connection` in a task of its own, counting in `news` the
/// notifications it brings ([`PgLog::listen`]).
fn spawn_connection<S, T>(
    mut connection: tokio_postgres::Connection<S, T>,
    replica: &str,
    news: watch::Sender<u64>,
) -> tokio::task::JoinHandle<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let replica = replica.to_string();
    tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(tokio_postgres::AsyncMessage::Notification(_))) => {
                    news.send_modify(|n| *n = n.wrapping_add(1));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::warn!(%replica, error = %e, "PostgreSQL connection ended");
                    return;
                }
                None => return,
            }
        }
    })
}

/// The most entries whose tree hashes one transaction completes.
pub const TREE_BATCH: u64 = 4096;

/// The channel appends notify on commit, and followers listen on.
const CHANNEL: &str = "quorate_log";

/// An append's transaction: the lease checked under its row's lock, the
/// entries numbered after the highest stored index.
struct Appending<'a> {
    txn: tokio_postgres::Transaction<'a>,
    insert: tokio_postgres::Statement,
    /// The tree's right edge this connection left at its last append.
    edge: &'a mut Option<tree::Edge>,
    first: i64,
    next: i64,
}

impl<'a> Appending<'a> {
    async fn begin(log: &'a mut PgLog, lease: Lease) -> Result<Self, PgError> {
        // Read committed, whatever the database's default: the highest
        // index is read after the lease row's lock is taken, so it sees
        // the append that held the lock before.
        let PgLog {
            client,
            replica,
            edge,
            ..
        } = log;
        let txn = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::ReadCommitted)
            .start()
            .await?;
        lease::check_held(&txn, replica, lease).await?;
        let first: i64 = txn
            .query_one("SELECT coalesce(max(idx) + 1, 0) FROM quorate_entries", &[])
            .await?
            .get(0);
        let size = u64::try_from(first).unwrap_or(0);
        // The tree's hashes of every entry so far: none missing (a log
        // of an earlier release, completed when its lease was taken), so
        // that this append's can follow them. Known when this connection
        // made the last ones.
        if edge.as_ref().map(tree::Edge::size) != Some(size) {
            tree::complete(&txn, size, u64::MAX).await?;
        }
        let insert = txn
            .prepare(
                "INSERT INTO quorate_entries (idx, entry, leaf, epoch) VALUES ($1, $2, $3, $4)",
            )
            .await?;
        Ok(Self {
            txn,
            insert,
            edge,
            first,
            next: first,
        })
    }

    async fn insert<B: AsRef<[u8]> + Sync>(
        &mut self,
        entries: &[B],
        lease: Lease,
    ) -> Result<(), PgError> {
        let from = self.next;
        let mut leaves = Vec::with_capacity(entries.len());
        for bytes in entries {
            let bytes = bytes.as_ref();
            let leaf = quorate_tlog::leaf_hash(bytes);
            self.txn
                .execute(
                    &self.insert,
                    &[&self.next, &bytes, &leaf.0.as_slice(), &lease.epoch],
                )
                .await?;
            leaves.push(leaf);
            self.next += 1;
        }
        tree::append(
            &self.txn,
            u64::try_from(from).unwrap_or(0),
            &leaves,
            self.edge,
        )
        .await
    }

    /// Commits, notifying those who listen; the first index appended and
    /// the one after the last.
    async fn commit(self) -> Result<(u64, u64), PgError> {
        self.txn
            .execute(
                "SELECT pg_notify($1, $2)",
                &[&CHANNEL, &self.next.to_string()],
            )
            .await?;
        self.txn.commit().await?;
        Ok((self.first as u64, self.next as u64))
    }
}

/// One replica's connection to the log.
pub struct PgLog {
    client: Client,
    replica: String,
    /// Where this replica serves, put in the lease it takes.
    address: String,
    connection: tokio::task::JoinHandle<()>,
    /// How many notifications of appends arrived ([`Self::listen`]).
    news: watch::Sender<u64>,
    /// The tree's right edge as this connection's last append left it.
    edge: Option<tree::Edge>,
}

impl Drop for PgLog {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

impl PgLog {
    /// Connects replica `replica` to the database at `url`, making the
    /// tables if they are missing. The connection's `application_name` is
    /// `quorate-coordinator <replica>`, as `pg_stat_activity` shows it.
    pub async fn connect(db: impl Into<Database>, replica: &str) -> Result<Self, PgError> {
        tokio::time::timeout(READY_WITHIN, Self::connect_now(db.into(), replica))
            .await
            .unwrap_or(Err(PgError::Timeout(READY_WITHIN)))
    }

    async fn connect_now(db: Database, replica: &str) -> Result<Self, PgError> {
        let mut config: tokio_postgres::Config = db.url.parse()?;
        config.application_name(format!("quorate-coordinator {replica}"));
        // A replica cut off mid-transaction holds the lease row's lock:
        // the server ends such a transaction soon (and the lock with it),
        // so that another replica can take over once the lease ends. The
        // URL's own options come first and these override them.
        let options = format!(
            "{} -c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}",
            config.get_options().unwrap_or_default()
        );
        config
            .options(options.trim_start())
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives_idle(Duration::from_secs(5));
        let news = watch::Sender::new(0);
        let (client, connection) = match &db.tls {
            Some(tls) => {
                config.ssl_mode(tokio_postgres::config::SslMode::Require);
                let (client, connection) = config.connect(tls.clone()).await?;
                (client, spawn_connection(connection, replica, news.clone()))
            }
            None => {
                check_plaintext(&config)?;
                let (client, connection) = config.connect(NoTls).await?;
                (client, spawn_connection(connection, replica, news.clone()))
            }
        };
        // Made first: a failure or a timeout from here on drops it, and
        // its connection task with it.
        let log = Self {
            client,
            replica: replica.to_string(),
            address: String::new(),
            connection,
            news,
            edge: None,
        };
        log.client.batch_execute(SCHEMA).await?;
        Ok(log)
    }

    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// The alert cursor of `sink` (`quorate_alert_cursors`), if it has one.
    pub async fn cursor(&self, sink: &str) -> Result<Option<u64>, PgError> {
        let row = self
            .client
            .query_opt(
                "SELECT next FROM quorate_alert_cursors WHERE sink = $1",
                &[&sink],
            )
            .await?;
        Ok(row.map(|r| u64::try_from(r.get::<_, i64>(0)).unwrap_or(0)))
    }

    /// Moves `sink`'s alert cursor on to `next` (made there if it has
    /// none); never back. Where it is now.
    pub async fn move_cursor(&self, sink: &str, next: u64) -> Result<u64, PgError> {
        let next = i64::try_from(next)
            .map_err(|_| PgError::Source(format!("alert cursor {next} is out of range")))?;
        let row = self
            .client
            .query_one(
                "INSERT INTO quorate_alert_cursors AS c (sink, next) VALUES ($1, $2)
                 ON CONFLICT (sink) DO UPDATE SET next = GREATEST(c.next, $2)
                 RETURNING next",
                &[&sink, &next],
            )
            .await?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    /// Completes the tree's hashes of a log that lacks some (written
    /// before the database kept them), at most [`TREE_BATCH`] entries'
    /// worth in one transaction, under `lease`: for a replica that just
    /// took it, before it appends. Whether the tree is complete now.
    pub async fn complete_tree(&mut self, lease: Lease) -> Result<bool, PgError> {
        let txn = self.client.transaction().await?;
        lease::check_held(&txn, &self.replica, lease).await?;
        let size: i64 = txn
            .query_one("SELECT coalesce(max(idx) + 1, 0) FROM quorate_entries", &[])
            .await?
            .get(0);
        let size = u64::try_from(size).unwrap_or(0);
        let done = tree::complete(&txn, size, TREE_BATCH).await?;
        txn.commit().await?;
        Ok(done)
    }

    /// Proves entry `index` is in the log's first `size` entries, from
    /// the tree's hashes the database keeps.
    pub async fn prove_inclusion(
        &self,
        index: u64,
        size: u64,
    ) -> Result<quorate_tlog::InclusionProof, PgError> {
        tree::prove_inclusion(&self.client, index, size).await
    }

    /// Proves the log's first `old` entries a prefix of its first `new`,
    /// from the tree's hashes the database keeps.
    pub async fn prove_consistency(
        &self,
        old: u64,
        new: u64,
    ) -> Result<quorate_tlog::ConsistencyProof, PgError> {
        tree::prove_consistency(&self.client, old, new).await
    }

    /// Listens for the notification every append sends as it commits:
    /// [`Self::news`] changes with each from now on.
    pub async fn listen(&self) -> Result<(), PgError> {
        self.client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .await?;
        Ok(())
    }

    /// Changes whenever an append's notification arrives (once this
    /// connection [`Self::listen`]s).
    pub fn news(&self) -> watch::Receiver<u64> {
        self.news.subscribe()
    }

    /// Keeps `note`, the checkpoint of `size` with its witnesses'
    /// cosignatures, as the latest (unless one of a larger tree is kept).
    pub async fn save_cosigned(&self, size: u64, note: &str) -> Result<(), PgError> {
        let size = i64::try_from(size)
            .map_err(|_| PgError::Source(format!("checkpoint size {size} is out of range")))?;
        self.client
            .execute(
                "INSERT INTO quorate_cosigned AS c (id, size, note) VALUES (1, $1, $2)
                 ON CONFLICT (id) DO UPDATE SET size = $1, note = $2 WHERE c.size <= $1",
                &[&size, &note],
            )
            .await?;
        Ok(())
    }

    /// The latest cosigned checkpoint kept, with its size.
    pub async fn cosigned(&self) -> Result<Option<(u64, String)>, PgError> {
        let row = self
            .client
            .query_opt("SELECT size, note FROM quorate_cosigned WHERE id = 1", &[])
            .await?;
        Ok(row.map(|r| (u64::try_from(r.get::<_, i64>(0)).unwrap_or(0), r.get(1))))
    }

    /// The log's verifier key as recorded, if it is.
    pub async fn log_key(&self) -> Result<Option<String>, PgError> {
        let row = self
            .client
            .query_opt("SELECT vkey FROM quorate_log_key WHERE id = 1", &[])
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Records `vkey` as the log's verifier key, replacing any (as the
    /// migration into an empty log does: a key recorded then signed
    /// nothing).
    pub async fn replace_log_key(&self, vkey: &str, by: &str) -> Result<(), PgError> {
        self.client
            .execute(
                "INSERT INTO quorate_log_key (id, vkey, replica) VALUES (1, $1, $2)
                 ON CONFLICT (id) DO UPDATE SET vkey = $1, replica = $2",
                &[&vkey, &by],
            )
            .await?;
        Ok(())
    }

    /// Records `vkey` as the log's verifier key if none is yet (as
    /// `replica`'s), and returns the one recorded with the replica that
    /// recorded it.
    pub async fn record_log_key(
        &self,
        vkey: &str,
        replica: &str,
    ) -> Result<(String, String), PgError> {
        self.client
            .execute(
                "INSERT INTO quorate_log_key (id, vkey, replica) VALUES (1, $1, $2)
                 ON CONFLICT (id) DO NOTHING",
                &[&vkey, &replica],
            )
            .await?;
        let row = self
            .client
            .query_one(
                "SELECT vkey, replica FROM quorate_log_key WHERE id = 1",
                &[],
            )
            .await?;
        Ok((row.get(0), row.get(1)))
    }

    /// Whether the connection is gone (a new one is needed).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Takes the sequencing lease for `ttl` if nobody holds it or it has
    /// ended (a new epoch), or if this replica holds it already (the same
    /// epoch, extended); `None` while another replica holds it.
    pub async fn acquire(&self, ttl: Duration) -> Result<Option<Lease>, PgError> {
        lease::acquire(&self.client, &self.replica, &self.address, ttl).await
    }

    /// Advertises `address` (where this replica serves) in the lease it
    /// takes from now on, so that followers can send writers there.
    pub fn advertising(mut self, address: impl Into<String>) -> Self {
        self.address = address.into();
        self
    }

    /// Extends `lease` by `ttl` from now, if this replica still holds it.
    pub async fn renew(&self, lease: Lease, ttl: Duration) -> Result<Lease, PgError> {
        lease::renew(&self.client, &self.replica, lease, ttl).await
    }

    /// Ends `lease` now, so that another replica may take over at once.
    pub async fn release(&self, lease: Lease) -> Result<(), PgError> {
        lease::release(&self.client, &self.replica, lease).await
    }

    /// Who holds the lease now, if anyone.
    pub async fn holder(&self) -> Result<Option<Holder>, PgError> {
        lease::holder(&self.client).await
    }

    /// Appends `entries` (canonical bytes) under `lease`, in one
    /// transaction: refused with [`PgError::LeaseLost`] unless this replica
    /// holds the lease at that epoch, unexpired. Their indexes.
    pub async fn append<B: AsRef<[u8]> + Sync>(
        &mut self,
        lease: Lease,
        entries: &[B],
    ) -> Result<Vec<u64>, PgError> {
        let mut txn = Appending::begin(self, lease).await?;
        txn.insert(entries, lease).await?;
        let (first, next) = txn.commit().await?;
        Ok((first..next).collect())
    }

    /// As [`Self::append`], for entries too many to hold at once (a
    /// migration): `next(index)` gives the chunk to append from `index`
    /// on, until it gives `None`. All or none are appended, in one
    /// transaction that holds the lease row's lock throughout, so no
    /// other replica can take the lease meanwhile. The first index.
    pub async fn append_with(
        &mut self,
        lease: Lease,
        mut next: impl FnMut(u64) -> Result<Option<Vec<Vec<u8>>>, PgError>,
    ) -> Result<u64, PgError> {
        let mut txn = Appending::begin(self, lease).await?;
        while let Some(chunk) = next(txn.next as u64)? {
            txn.insert(&chunk, lease).await?;
        }
        Ok(txn.commit().await?.0)
    }

    /// The RFC 6962 root of the log's first `size` entries, from their
    /// stored leaf hashes (not their bytes).
    pub async fn root(&self, size: u64) -> Result<Hash, PgError> {
        const PAGE: u64 = 16_384;
        let mut root = quorate_tlog::RootBuilder::default();
        let mut from = 0;
        while from < size {
            let to = size.min(from + PAGE);
            for leaf in self.leaves(from, to).await? {
                root.push(leaf);
            }
            from = to;
        }
        Ok(root.root())
    }

    /// How many entries the log holds.
    pub async fn size(&self) -> Result<u64, PgError> {
        let next: i64 = self
            .client
            .query_one("SELECT coalesce(max(idx) + 1, 0) FROM quorate_entries", &[])
            .await?
            .get(0);
        Ok(next as u64)
    }

    /// The stored leaf hashes of entries `from` up to (not including)
    /// `to`, in order: for a root without reading the entries.
    pub async fn leaves(&self, from: u64, to: u64) -> Result<Vec<Hash>, PgError> {
        let rows = self
            .client
            .query(
                "SELECT idx, leaf FROM quorate_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                &[&(from as i64), &(to as i64)],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (expected, row) in (from..).zip(rows) {
            let index: i64 = row.get(0);
            let leaf: Vec<u8> = row.get(1);
            if index as u64 != expected {
                return Err(PgError::Corrupt {
                    index: expected,
                    why: format!("the next stored entry is {index}"),
                });
            }
            out.push(Hash::from_slice(&leaf).ok_or_else(|| PgError::Corrupt {
                index: expected,
                why: "its leaf hash is not 32 bytes".into(),
            })?);
        }
        if (out.len() as u64) < to.saturating_sub(from) {
            return Err(PgError::Corrupt {
                index: from + out.len() as u64,
                why: "it is missing".into(),
            });
        }
        Ok(out)
    }

    /// Up to `limit` entries from index `from` on, each checked against
    /// its stored leaf hash and for its place in the log.
    pub async fn read(&self, from: u64, limit: u32) -> Result<Vec<Stored>, PgError> {
        let rows = self
            .client
            .query(
                "SELECT idx, entry, leaf FROM quorate_entries WHERE idx >= $1 ORDER BY idx LIMIT $2",
                &[&(from as i64), &i64::from(limit)],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (expected, row) in (from..).zip(rows) {
            let index: i64 = row.get(0);
            let bytes: Vec<u8> = row.get(1);
            let leaf: Vec<u8> = row.get(2);
            let index = index as u64;
            if index != expected {
                return Err(PgError::Corrupt {
                    index: expected,
                    why: format!("the next stored entry is {index}"),
                });
            }
            let leaf = Hash::from_slice(&leaf).ok_or_else(|| PgError::Corrupt {
                index,
                why: "its leaf hash is not 32 bytes".into(),
            })?;
            if leaf != quorate_tlog::leaf_hash(&bytes) {
                return Err(PgError::Corrupt {
                    index,
                    why: "its bytes do not hash to its stored leaf hash".into(),
                });
            }
            out.push(Stored { index, bytes, leaf });
        }
        Ok(out)
    }
}
