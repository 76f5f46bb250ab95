//! `quorate witness`: a standalone C2SP witness for a coordinator's record.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use quorate_tlog::LogVerifier;
use quorate_witness::serve::{self, Server};
use quorate_witness::state::State;
use quorate_witness::{Witness, key_file};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Make the witness's key in DIR and print its verifier key, which
    /// policies and auditors list among the witnesses they trust.
    Init {
        #[arg(long)]
        dir: PathBuf,
        /// The witness's name, a schema-less URL (e.g. witness.example.com/w1).
        #[arg(long)]
        name: String,
    },
    /// Answer `POST /add-checkpoint` (c2sp.org/tlog-witness) for the logs
    /// given, cosigning each checkpoint that extends the last one cosigned.
    Serve {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:7480")]
        listen: SocketAddr,
        /// A log to follow: its verifier key (`quorate audit` prints the
        /// coordinator's as log.vkey); the key's name is the log's origin.
        /// Repeat for more logs.
        #[arg(long = "log", required = true)]
        logs: Vec<String>,
    },
}

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Init { dir, name } => {
            let key = key_file::create(&dir, &name)?;
            let vkey_path = dir.join("witness.vkey");
            std::fs::write(&vkey_path, format!("{}\n", key.verifier_key()))
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", vkey_path.display()))?;
            println!("{}", key.verifier_key());
            Ok(())
        }
        Command::Serve { dir, listen, logs } => {
            let key = key_file::load(&dir)?;
            let logs = logs
                .iter()
                .map(|vkey| {
                    LogVerifier::parse(vkey.trim())
                        .map_err(|e| anyhow::anyhow!("--log {vkey:?}: {e}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let witness = Witness::new(key, logs).map_err(|e| anyhow::anyhow!("--log: {e}"))?;
            let vkey = witness.key().verifier_key();
            let state = State::open(&dir)?;
            let server = Arc::new(Server::new(witness, state, serve::system_clock()));
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
            let address = listener.local_addr()?;
            // Tests and scripts read this line for the port.
            println!("witness {vkey} listening on http://{address}/add-checkpoint");
            serve::run(listener, server, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
            Ok(())
        }
    }
}
