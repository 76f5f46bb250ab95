//! `quorate-coordinator`: the coordinator server.

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
    /// Serve gRPC with the state in the configured sled directory.
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match Cli::parse().command {
        Command::Serve {
            config,
            insecure_plaintext,
        } => {
            let mut config = quorate_coordinator::Config::load(&config)?;
            config.insecure_plaintext |= insecure_plaintext;
            let running = quorate_coordinator::start(&config).await?;
            tokio::select! {
                r = tokio::signal::ctrl_c() => {
                    r?;
                    tracing::info!("interrupted; stopping");
                    running.stop().await
                }
            }
        }
    }
}
