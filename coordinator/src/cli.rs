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
    /// Copy the record of an earlier release's store (sled) into a new
    /// data directory, with its log key, and prove that the new log's root
    /// hash equals the old one's. The old store is only read; point
    /// data_dir at the new directory afterwards. Needs quorate-sled-export
    /// (`cargo install --locked --path tools/sled-export`).
    Migrate {
        /// The earlier release's data_dir.
        #[arg(long, value_name = "OLD_DIR")]
        from_sled: PathBuf,
        /// The new data_dir: empty, or missing.
        #[arg(long, value_name = "NEW_DIR")]
        to: PathBuf,
        /// The quorate-sled-export program, if not beside this one or on
        /// the PATH.
        #[arg(long, env = quorate_secrets::sled_export::EXPORTER_ENV)]
        exporter: Option<PathBuf>,
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
        } => {
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
            Ok(())
        }
        Command::Serve {
            config,
            insecure_plaintext,
        } => serve(&config, insecure_plaintext).await,
    }
}

/// Serves the coordinator `config` describes until Ctrl-C or SIGTERM, then
/// stops it gracefully.
pub async fn serve(config: &std::path::Path, insecure_plaintext: bool) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut config = crate::Config::load(config)?;
    config.insecure_plaintext |= insecure_plaintext;
    // Taken before the start, which may take a while to load the record:
    // a signal meanwhile stops the coordinator once it is up.
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let running = crate::start(&config).await?;
    running
        .until(async move {
            tokio::select! {
                _ = interrupt.recv() => tracing::info!("interrupted; stopping"),
                _ = terminate.recv() => tracing::info!("terminated; stopping"),
            }
        })
        .await
}
