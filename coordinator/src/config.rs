//! `coordinator.toml`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the gRPC server listens, e.g. `127.0.0.1:7400`.
    pub listen: SocketAddr,
    /// Directory of the store (redb); created if missing. With `store`,
    /// the replica's mirror of the log, its name and its log key.
    pub data_dir: PathBuf,
    /// `postgres://...`: keep the record in PostgreSQL, as one of the
    /// coordinator replicas over that database (`crate::store::replica`).
    /// Without it, the embedded store in `data_dir` (the default).
    #[serde(default, deserialize_with = "store_url")]
    pub store: Option<StoreUrl>,
    /// With `store`: the CA certificate (PEM) the database server's
    /// certificate must chain to, for TLS to it. Without it the database
    /// must be on loopback (plaintext).
    #[serde(default)]
    pub store_ca: Option<PathBuf>,
    /// With `store`: this replica's name in the sequencing lease, unique
    /// among the replicas. By default one is made at the first start and
    /// kept in `data_dir`.
    #[serde(default)]
    pub replica: Option<String>,
    /// With `store`: the address agents and the CLI reach this replica at
    /// (`https://c1.internal:7400`), put in the sequencing lease while it
    /// holds it, so that the other replicas can send writers here. By
    /// default `listen` as an `https://` (or, plaintext, `http://`) URL.
    #[serde(default)]
    pub advertise: Option<String>,
    /// Where Prometheus scrapes `/metrics` (plain HTTP), if anywhere.
    #[serde(default)]
    pub metrics_listen: Option<SocketAddr>,
    /// Where the auditors' and release managers' web page is served, if
    /// anywhere: over TLS with `[tls]`, to browsers with a client
    /// certificate from `tls.client_ca` (required with it).
    #[serde(default)]
    pub page_listen: Option<SocketAddr>,
    /// A command run when break-glass is declared, given the ceremony as
    /// JSON on stdin, e.g. `["/usr/local/bin/page-security"]`.
    #[serde(default)]
    pub alert_command: Option<Vec<String>>,
    /// An `http://` or `https://` URL that gets each alert's JSON as a
    /// POST (`crate::outbox`).
    #[serde(default)]
    pub alert_webhook: Option<String>,
    /// For an `https://` `alert_webhook`: the CA file (PEM) its server's
    /// certificate must chain to.
    #[serde(default)]
    pub alert_webhook_ca: Option<std::path::PathBuf>,
    /// The record's origin: the first line of every checkpoint and the
    /// log key's name, e.g. `releases.example.com/quorate`. Fixed for the
    /// life of the log.
    #[serde(default = "default_origin")]
    pub log_origin: String,
    /// `[limits]`: caps on open ceremonies and the creation rate per
    /// identity (see [`crate::limits::Limits`] for the defaults).
    #[serde(default)]
    pub limits: crate::limits::Limits,
    /// `[tls]`: the coordinator's certificate and the CA of callers' client
    /// certificates. Required unless `insecure_plaintext`.
    #[serde(default)]
    pub tls: Option<crate::tls::ServerTls>,
    /// Serve plaintext with self-named callers: development only, loopback
    /// only, logged as a warning.
    #[serde(default)]
    pub insecure_plaintext: bool,
    /// `[[party]]`: requesters, auditors and operators by certificate name.
    #[serde(default, rename = "party")]
    pub parties: Vec<crate::authz::Party>,
    /// `[[witness]]`: witnesses asked to cosign each checkpoint as the
    /// record grows (`url`, `vkey`).
    #[serde(default, rename = "witness")]
    pub witnesses: Vec<crate::witnessing::WitnessConfig>,
}

/// A PostgreSQL connection URL, kept out of logs and debug output (it may
/// hold a password).
#[derive(Clone)]
pub struct StoreUrl(String);

impl StoreUrl {
    pub fn new(url: &str) -> anyhow::Result<Self> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            anyhow::bail!(
                "store must be a postgres:// URL (e.g. \"postgres://quorate@db.example/quorate\"), \
                 or be left out for the embedded store in data_dir"
            );
        }
        url.parse::<tokio_postgres::Config>()
            .map_err(|e| anyhow::anyhow!("store is not a PostgreSQL URL: {e}"))?;
        Ok(Self(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreUrl(..)")
    }
}

impl Config {
    /// The database of `store`, with TLS if `store_ca` is set; `None` for
    /// the embedded store.
    pub fn database(&self) -> anyhow::Result<Option<crate::store::postgres::Database>> {
        let Some(url) = &self.store else {
            if self.store_ca.is_some() {
                anyhow::bail!("store_ca is set but store is not");
            }
            return Ok(None);
        };
        self.database_at(url).map(Some)
    }

    /// The database at `url`, with TLS if `store_ca` is set.
    pub fn database_at(&self, url: &StoreUrl) -> anyhow::Result<crate::store::postgres::Database> {
        let db = crate::store::postgres::Database::new(url.as_str());
        match &self.store_ca {
            Some(ca) => db.with_ca(ca).map_err(anyhow::Error::msg),
            None => Ok(db),
        }
    }
}

fn store_url<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<StoreUrl>, D::Error> {
    let url: Option<String> = Option::deserialize(d)?;
    url.map(|u| StoreUrl::new(&u).map_err(serde::de::Error::custom))
        .transpose()
}

pub fn default_origin() -> String {
    "quorate.localhost/log".into()
}

impl Config {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{} is not valid: {e}", path.display()))
    }
}
