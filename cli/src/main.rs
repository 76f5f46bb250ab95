//! `quorate`: the release manager's and auditor's command line.

use std::path::PathBuf;

mod commands;

use clap::{Parser, Subcommand};
use quorate::client::Target;
use quorate_wire::tls::TlsFiles;

#[derive(Parser)]
#[command(
    name = "quorate",
    version,
    about = "Threshold signing ceremonies for software releases"
)]
struct Cli {
    /// The coordinator's gRPC address, or its replicas' separated by commas
    /// (the first that answers serves).
    #[arg(
        long,
        global = true,
        env = "QUORATE_COORDINATOR",
        default_value = "https://127.0.0.1:7400"
    )]
    coordinator: String,
    /// The deployment's CA certificate (PEM), to check the coordinator.
    #[arg(long, global = true, env = "QUORATE_TLS_CA")]
    tls_ca: Option<PathBuf>,
    /// Your client certificate (PEM); its common name is who you are.
    #[arg(long, global = true, env = "QUORATE_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// Your client certificate's key (PEM).
    #[arg(long, global = true, env = "QUORATE_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Who you are, for a development coordinator serving plaintext only;
    /// over TLS your client certificate says who you are.
    #[arg(
        long,
        global = true,
        env = "QUORATE_IDENTITY",
        default_value = "release-manager"
    )]
    identity: String,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run; boxing the larger variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run a whole local deployment and a ceremony, with nothing configured.
    Quickstart {
        #[arg(long)]
        dir: PathBuf,
        /// Leave the deployment up at the end, with one request pending,
        /// to click through the approvers' pages; Ctrl-C stops it.
        #[arg(long)]
        keep_running: bool,
    },
    /// Key groups made by DKG among their agents, with no dealer: create
    /// (propose and wait), status, cancel.
    KeyGroup {
        #[command(subcommand)]
        command: commands::key_group::Command,
    },
    /// OFFLINE TRUSTED DEALER: deal a new key group on this machine, which
    /// sees the whole group key and every share while it runs. Prefer
    /// `quorate key-group create`, where no machine ever holds the key.
    ///
    /// Writes one share file per roster entry and group.json. Each participant's share and identity-key files are sealed with a
    /// passphrase: asked per participant on the terminal, or, when
    /// QUORATE_PASSPHRASE is set, that one for all of them.
    Keygen(commands::keygen::Args),
    /// Register a key group (group.json from keygen) with the coordinator.
    Register(commands::register::Args),
    /// Change a registered key group's roster (names, roles, identity
    /// keys; the share holders stay). The coordinator records the change;
    /// ceremonies requested afterwards are judged by the new roster.
    ///
    /// The roster file is TOML like keygen's; a participant listed without
    /// an identity key keeps the one registered.
    ChangeRoster(commands::change_roster::Args),
    /// Ask for a signature over a small message (e.g. a SHA256SUMS manifest);
    /// with --format sshsig, an SSH signature over an artifact of any size;
    /// with --format dsse, a DSSE envelope of an in-toto statement naming
    /// artifacts; with --format minisign, a minisign signature file over an
    /// artifact; with --git-tag, a signed annotated git tag.
    Sign(commands::sign::Args),
    /// List ceremonies.
    Ceremonies(commands::list::Args),
    /// Call off a ceremony you requested.
    Cancel(commands::cancel::Args),
    /// Record the post-incident review of a signed break-glass ceremony.
    Review(commands::review::Args),
    /// Show where a ceremony stands.
    Status(commands::status::Args),
    /// Write a signed ceremony's signature: the raw 64-byte Ed25519
    /// signature, or the file of its format (SSH signature, DSSE envelope,
    /// git tag, minisign signature).
    Signature(commands::signature::Args),
    /// Check a signature as a consumer would, against a trust policy: is
    /// it there, valid, by a key group trusted for it, over this artifact?
    /// Exits 0 only if every check passes.
    Verify(quorate::verify::VerifyArgs),
    /// Auditors: export transcripts, replay them offline, check the log.
    Audit {
        #[command(subcommand)]
        command: quorate::audit::AuditCommand,
    },
    /// Write a key group's public key: PEM SubjectPublicKeyInfo (openssl),
    /// an OpenSSH `ssh-ed25519` line and an allowed_signers line, or a
    /// minisign public key file.
    Pubkey(commands::pubkey::Args),
    /// Custodians of an approver's share backup (`quorate-participant
    /// backup`): verify a piece.
    Backup {
        #[command(subcommand)]
        command: commands::backup::Command,
    },
    /// Move consumers to a new key group's key: prepare the hand-over
    /// statement, have both groups sign it, link it for `quorate verify
    /// --handover`.
    Handover {
        #[command(subcommand)]
        command: commands::handover::Command,
    },
    /// Consumers: move a trust policy along hand-overs (update).
    Trust {
        #[command(subcommand)]
        command: commands::trust::Command,
    },
    /// A requester's identity key, which signs its requests (for key
    /// groups whose policy lists requester_keys): new, show.
    IdentityKey {
        #[command(subcommand)]
        command: commands::identity_key::Command,
    },
    /// A witness that cosigns a coordinator's checkpoints (C2SP
    /// tlog-witness) only if each extends the last it cosigned: init, serve.
    Witness {
        #[command(subcommand)]
        command: commands::witness::Command,
    },
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("QUORATE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let target = cli.target()?;
    match cli.command {
        Command::Quickstart { dir, keep_running } => {
            quorate::quickstart::run(&dir, keep_running).await
        }
        Command::Audit { command } => quorate::audit::run(command, &target).await,
        Command::KeyGroup { command } => commands::key_group::run(command, &target).await,
        Command::Keygen(args) => commands::keygen::run(args, &target).await,
        Command::Register(args) => commands::register::run(args, &target).await,
        Command::ChangeRoster(args) => commands::change_roster::run(args, &target).await,
        Command::Sign(args) => commands::sign::run(args, &target).await,
        Command::Ceremonies(args) => commands::list::run(args, &target).await,
        Command::Cancel(args) => commands::cancel::run(args, &target).await,
        Command::Review(args) => commands::review::run(args, &target).await,
        Command::Status(args) => commands::status::run(args, &target).await,
        Command::Signature(args) => commands::signature::run(args, &target).await,
        Command::Verify(args) => {
            let code = quorate::verify::run(&args)?;
            std::process::exit(code);
        }
        Command::Pubkey(args) => commands::pubkey::run(args, &target).await,
        Command::Witness { command } => commands::witness::run(command).await,
        Command::IdentityKey { command } => commands::identity_key::run(command),
        Command::Backup { command } => commands::backup::run(command),
        Command::Trust { command } => commands::trust::run(command),
        Command::Handover { command } => commands::handover::run(command, &target).await,
    }
}

impl Cli {
    fn target(&self) -> anyhow::Result<Target> {
        let tls = match (&self.tls_ca, &self.tls_cert, &self.tls_key) {
            (Some(ca), Some(cert), Some(key)) => Some(TlsFiles {
                ca: ca.clone(),
                cert: cert.clone(),
                key: key.clone(),
            }),
            (None, None, None) => None,
            _ => anyhow::bail!(
                "give all of --tls-ca, --tls-cert and --tls-key (or QUORATE_TLS_CA/CERT/KEY), or none"
            ),
        };
        Ok(Target {
            url: self.coordinator.clone(),
            identity: self.identity.clone(),
            tls,
        })
    }
}
