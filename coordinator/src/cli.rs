//! The `quorate-coordinator` command: parses its arguments and serves until
//! Ctrl-C or SIGTERM, then stops gracefully (in-flight calls finish, the
//! store closes). The binary's `main` is this.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "quorate-coordinator",
    version,
    about = "The quorate signing coordinator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve gRPC with the state in the configured data directory.
    Serve {
        /// coordinator.toml: `listen = "127.0.0.1:7400"`, `data_dir = "..."`.
        #[arg(long)]
        config: PathBuf,
        /// Serve plaintext, with callers naming themselves, on loopback
        /// only: for development on one machine. Without it the
        /// configuration must have [tls].
        #[arg(long)]
        insecure_plaintext: bool,
    },
    /// Print the record's verifier key (`<origin>+<key id>+<key>`), which
    /// agents (`log_key` in agent.toml) and auditors (`--log-key`) check
    /// the record's checkpoints with. Reads only the data directory.
    LogKey {
        #[arg(long)]
        config: PathBuf,
    },
    /// Move the record between stores, proving the root hash equal:
    /// `--from-sled OLD_DIR --to NEW_DIR` copies an earlier release's store
    /// (sled) into a new data directory, with its log key (point data_dir
    /// at NEW_DIR afterwards; needs quorate-sled-export, `cargo install
    /// --locked --path tools/sled-export`); `--config FILE --to-postgres
    /// URL` copies the embedded record of its data_dir into an empty
    /// PostgreSQL database (then add `store = "URL"` to the configuration);
    /// `--config FILE --to-embedded NEW_DIR` copies the log of its `store`
    /// back into a new data directory, with the log key (then point
    /// data_dir at NEW_DIR and remove `store`). The coordinator, or every
    /// replica, must be stopped; the source is only read.
    Migrate {
        /// The earlier release's data_dir.
        #[arg(
            long,
            value_name = "OLD_DIR",
            requires = "to",
            conflicts_with = "config"
        )]
        from_sled: Option<PathBuf>,
        /// With --from-sled: the new data_dir, empty or missing.
        #[arg(long, value_name = "NEW_DIR", requires = "from_sled")]
        to: Option<PathBuf>,
        /// The quorate-sled-export program, if not beside this one or on
        /// the PATH.
        #[arg(long, env = quorate_secrets::sled_export::EXPORTER_ENV)]
        exporter: Option<PathBuf>,
        /// coordinator.toml of the coordinator whose record moves.
        #[arg(long)]
        config: Option<PathBuf>,
        /// With --config: the empty PostgreSQL database to copy the
        /// embedded record into, e.g. postgres://quorate@db.example/quorate.
        #[arg(
            long,
            value_name = "URL",
            requires = "config",
            conflicts_with = "to_embedded"
        )]
        to_postgres: Option<String>,
        /// With --config (and its `store`): the new data_dir, empty or
        /// missing, to copy the log in PostgreSQL into.
        #[arg(long, value_name = "NEW_DIR", requires = "config")]
        to_embedded: Option<PathBuf>,
    },
}

/// Runs the command line of `quorate-coordinator`.
pub async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match Cli::parse().command {
        Command::LogKey { config } => {
            let config = crate::Config::load(&config)?;
            let key = crate::log_key::load(&config.data_dir, &config.log_origin)?;
            println!("{}", key.verifier_key());
            Ok(())
        }
        Command::Migrate {
            from_sled,
            to,
            exporter,
            config,
            to_postgres,
            to_embedded,
        } => {
            migrate(
                from_sled.zip(to),
                exporter,
                config,
                to_postgres,
                to_embedded,
            )
            .await
        }
        Command::Serve {
            config,
            insecure_plaintext,
        } => serve(&config, insecure_plaintext).await,
    }
}

async fn migrate(
    sled: Option<(PathBuf, PathBuf)>,
    exporter: Option<PathBuf>,
    config: Option<PathBuf>,
    to_postgres: Option<String>,
    to_embedded: Option<PathBuf>,
) -> anyhow::Result<()> {
    use crate::migrate::postgres;
    if let Some((from_sled, to)) = sled {
        let done = crate::migrate::from_sled(&from_sled, &to, exporter.as_deref()).await?;
        println!(
            "migrated {} entries from {} to {}; the new root hash {} equals the old store's, \
             from {}",
            done.entries,
            from_sled.display(),
            to.display(),
            done.root,
            done.old_root_from
        );
        return Ok(());
    }
    let Some(path) = config else {
        anyhow::bail!(
            "say what to migrate: --from-sled OLD_DIR --to NEW_DIR, --config FILE --to-postgres \
             URL, or --config FILE --to-embedded NEW_DIR"
        );
    };
    let config = crate::Config::load(&path)?;
    match (to_postgres, to_embedded) {
        (Some(url), None) => {
            if config.store.is_some() {
                anyhow::bail!(
                    "{} has a store already: --to-postgres copies an embedded record (no `store` line)",
                    path.display()
                );
            }
            let url = crate::config::StoreUrl::new(&url)?;
            let done = postgres::to_postgres(&config.data_dir, config.database_at(&url)?).await?;
            println!(
                "migrated {} entries from {} to {}; the root hash {} is the same in both. Add \
                 store = \"...\" (the URL) to {} to serve from PostgreSQL",
                done.entries,
                config.data_dir.display(),
                postgres::redacted(url.as_str()),
                done.root,
                path.display()
            );
            Ok(())
        }
        (None, Some(new)) => {
            let (Some(url), Some(db)) = (&config.store, config.database()?) else {
                anyhow::bail!(
                    "{} has no `store` line: --to-embedded copies the log of a PostgreSQL store",
                    path.display()
                );
            };
            let done = postgres::to_embedded(db, &config.data_dir, &new).await?;
            println!(
                "migrated {} entries from {} to {}; the root hash {} is the same in both. Point \
                 data_dir at {} and remove the store line from {}",
                done.entries,
                postgres::redacted(url.as_str()),
                new.display(),
                done.root,
                new.display(),
                path.display()
            );
            Ok(())
        }
        _ => anyhow::bail!("with --config, give --to-postgres URL or --to-embedded NEW_DIR"),
    }
}

/// Serves the coordinator `config` describes until Ctrl-C or SIGTERM, then
/// stops it gracefully.
pub async fn serve(config: &std::path::Path, insecure_plaintext: bool) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut config = crate::Config::load(config)?;
    config.insecure_plaintext |= insecure_plaintext;
    // Taken before the start, which may take a while (a new replica
    // catching its mirror up, a database slow to answer): a signal
    // meanwhile ends the start at its next wait (loading the embedded
    // record is one step). What it wrote is as durable as after a crash,
    // which the store is made to survive; a lease it took ends by itself.
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    // Which signal came first.
    let mut signalled = async move || {
        tokio::select! {
            _ = interrupt.recv() => "interrupted",
            _ = terminate.recv() => "terminated",
        }
    };
    let running = tokio::select! {
        running = crate::start(&config) => running?,
        why = signalled() => {
            tracing::info!("{why} while starting; stopping");
            return Ok(());
        }
    };
    running
        .until(async move {
            let why = signalled().await;
            tracing::info!("{why}; stopping");
        })
        .await
}
