//! `quorate-participant`: the approver's agent and the commands that drive it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use quorate_participant::AgentConfig;
use quorate_wire as proto;

#[derive(Parser)]
#[command(
    name = "quorate-participant",
    version,
    about = "The approver's quorate agent"
)]
struct Cli {
    /// The agent's configuration (agent.toml).
    #[arg(
        long,
        global = true,
        env = "QUORATE_AGENT_CONFIG",
        default_value = "agent.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the agent: hold the key share, follow the coordinator, sign what is approved.
    ///
    /// The passphrase that opens the sealed key-share and identity-key files
    /// is read from --passphrase-fd N if given, else from the
    /// QUORATE_PASSPHRASE environment variable, else asked on the terminal.
    Run {
        /// Read the passphrase from this open file descriptor (its first
        /// line), e.g. `--passphrase-fd 3 3<secret-file` or a systemd
        /// credential.
        #[arg(long, value_name = "N")]
        passphrase_fd: Option<u32>,
    },
    /// Print this agent's witness verifier key (making the key the first
    /// time), for the key group's policy `[witnesses]` and the
    /// coordinator's `[[witness]]`; the agent witnesses when agent.toml
    /// sets `witness_listen`. The key is sealed with the passphrase of the
    /// agent's key files, read as `run` reads it.
    WitnessKey {
        #[arg(long, value_name = "N")]
        passphrase_fd: Option<u32>,
    },
    /// Make this participant's identity key (the file agent.toml's
    /// identity_key names), sealed with its passphrase, and print its public
    /// half for the operator's roster.
    Init {
        #[arg(long, value_name = "N")]
        passphrase_fd: Option<u32>,
    },
    /// Join the key ceremony an operator proposed: a new key group
    /// (`quorate key-group create`), made by DKG with the other agents, or
    /// a refresh of your group's shares (`quorate key-group refresh`).
    /// Review the proposal, then take part. Writes the sealed share and the
    /// key group's file that agent.toml names (a refresh replaces them);
    /// `run` signs with them afterwards. Stop the agent before a refresh
    /// and start it again after.
    Join {
        /// The key ceremony to join, when several name this agent.
        #[arg(long)]
        ceremony: Option<String>,
        /// Join without asking (the proposal is printed all the same).
        #[arg(long)]
        yes: bool,
        #[arg(long, value_name = "N")]
        passphrase_fd: Option<u32>,
    },
    /// Copy the journal of an earlier release (sled, `journal/` in the
    /// state directory) into this release's (`journal.redb`). The old
    /// journal is only read. Needs quorate-sled-export (`cargo install
    /// --locked --path tools/sled-export`).
    MigrateJournal {
        /// The quorate-sled-export program, if not beside this one or on
        /// the PATH.
        #[arg(long, env = quorate_secrets::sled_export::EXPORTER_ENV)]
        exporter: Option<PathBuf>,
    },
    /// List the ceremonies waiting for your decision.
    Pending,
    /// Show everything a ceremony will sign.
    Show { ceremony: String },
    /// Approve a ceremony's message.
    Approve { ceremony: String },
    /// Reject a ceremony, saying why.
    Reject {
        ceremony: String,
        #[arg(long)]
        reason: String,
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
    let cli = Cli::parse();
    let mut config = AgentConfig::load(&cli.config)?;
    if let Command::Run { passphrase_fd } = cli.command {
        config.passphrase = Some(quorate_secrets::passphrase::obtain(
            passphrase_fd,
            &format!("passphrase for {}'s key files: ", config.id),
        )?);
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
            )
            .init();
        // Until Ctrl-C or SIGTERM; then it stops gracefully and exits 0.
        return quorate_participant::serve(config).await;
    }
    match &cli.command {
        Command::WitnessKey { passphrase_fd } => {
            let passphrase = quorate_secrets::passphrase::obtain(
                *passphrase_fd,
                &format!("passphrase for {}'s key files: ", config.id),
            )?;
            let key = quorate_participant::witness::key(&config, &passphrase)?;
            println!("{}", key.verifier_key());
            return Ok(());
        }
        Command::Init { passphrase_fd } => return init(config, *passphrase_fd),
        Command::Join {
            ceremony,
            yes,
            passphrase_fd,
        } => {
            config.passphrase = Some(quorate_secrets::passphrase::obtain(
                *passphrase_fd,
                &format!("passphrase for {}'s key files: ", config.id),
            )?);
            return join(config, ceremony.as_deref(), *yes).await;
        }
        _ => {}
    }
    if let Command::MigrateJournal { exporter } = &cli.command {
        let copied = quorate_participant::journal::migrate::from_sled(
            &config.state_dir,
            exporter.as_deref(),
        )?;
        println!(
            "copied {copied} ceremonies' journal entries into {}",
            config.state_dir.join("journal.redb").display()
        );
        return Ok(());
    }
    match &cli.command {
        Command::Pending => return pending(&config).await,
        Command::Show { ceremony } if ceremony.starts_with("key-") => {
            let id = quorate_types::KeyCeremonyId::new(ceremony.as_str())?;
            let (proposed, summary) = quorate_participant::join::key_ceremony(&config, &id).await?;
            print!("{}", proposed.describe());
            println!("where it stands: {summary}");
            return Ok(());
        }
        _ => {}
    }
    let mut client = quorate_participant::control::connect(&config.socket_path()).await?;
    match cli.command {
        Command::Run { .. }
        | Command::MigrateJournal { .. }
        | Command::Init { .. }
        | Command::Join { .. }
        | Command::WitnessKey { .. }
        | Command::Pending => unreachable!("handled above"),
        Command::Show { ceremony } => {
            let review = client
                .show(proto::ShowRequest { ceremony })
                .await?
                .into_inner();
            print!("{}", quorate_participant::control::describe(&review));
        }
        Command::Approve { ceremony } => {
            let review = client
                .approve(proto::DecideRequest {
                    ceremony,
                    reason: String::new(),
                })
                .await?
                .into_inner();
            let c = review.ceremony.unwrap_or_default();
            println!("approved {}: {}", c.id, c.summary);
        }
        Command::Reject { ceremony, reason } => {
            let review = client
                .reject(proto::DecideRequest { ceremony, reason })
                .await?
                .into_inner();
            let c = review.ceremony.unwrap_or_default();
            println!("rejected {}: {}", c.id, c.summary);
        }
    }
    Ok(())
}

fn init(config: AgentConfig, passphrase_fd: Option<u32>) -> anyhow::Result<()> {
    let path = &config.identity_key;
    if path.exists() {
        anyhow::bail!(
            "{} exists; this participant has an identity key already",
            path.display()
        );
    }
    let passphrase = quorate_secrets::passphrase::obtain(
        passphrase_fd,
        &format!("new passphrase for {}'s key files: ", config.id),
    )?;
    let key = quorate_secrets::IdentityKey::generate(config.id.clone(), &mut rand_core::OsRng);
    key.save(
        path,
        &passphrase,
        &quorate_secrets::sealed::KdfParams::default(),
    )?;
    println!(
        "identity key of {} written to {}",
        config.id,
        path.display()
    );
    println!("its public half, for the roster: {}", key.public());
    Ok(())
}

async fn join(config: AgentConfig, ceremony: Option<&str>, yes: bool) -> anyhow::Result<()> {
    use quorate_participant::join::{Answer, Joined};
    let ceremony = ceremony
        .map(quorate_types::KeyCeremonyId::new)
        .transpose()?;
    let outcome = quorate_participant::join::join(
        config,
        ceremony,
        &quorate_secrets::sealed::KdfParams::default(),
        |proposed| {
            print!("{}", proposed.describe());
            if yes || ask("join this key group? [y/N] ") {
                Answer::Join
            } else {
                Answer::Decline("the approver declined".into())
            }
        },
    )
    .await?;
    match outcome {
        Joined::Registered(group) => println!(
            "key group {} registered; group key {}. Start the agent with `quorate-participant run`.",
            group.name, group.group_key
        ),
        Joined::Declined => {
            println!("declined; the key ceremony has failed and nothing was written")
        }
    }
    Ok(())
}

fn ask(prompt: &str) -> bool {
    use std::io::Write;
    print!("{prompt}");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).is_ok() && line.trim().eq_ignore_ascii_case("y")
}

/// Key ceremonies naming this agent (from the coordinator, whether or not
/// the agent runs), then the signing ceremonies waiting for a decision
/// (from the running agent).
async fn pending(config: &AgentConfig) -> anyhow::Result<()> {
    match quorate_participant::join::pending_key_ceremonies(config).await {
        Ok(keys) => {
            for (proposed, summary) in keys {
                let p = &proposed.proposal;
                let what = match (&p.refresh, &p.repair) {
                    (Some(r), _) if r.removed.is_empty() => "refresh of every share".to_string(),
                    (Some(r), _) => format!(
                        "refresh removing {}",
                        r.removed
                            .iter()
                            .map(|p| p.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    (None, Some(r)) if r.is_enrolment() => {
                        format!("enrolment of {}", r.participant.id)
                    }
                    (None, Some(r)) => format!("repair of {}'s share", r.participant.id),
                    (None, None) => format!("new key group, {} of {}", p.threshold, p.roster.len()),
                };
                println!(
                    "{}  {}  key ceremony: {what}; {summary}  (`show {}`, then `join`)",
                    proposed.ceremony, p.key_group, proposed.ceremony
                );
            }
        }
        Err(e) => println!("key ceremonies: could not ask the coordinator: {e:#}"),
    }
    let mut client = match quorate_participant::control::connect(&config.socket_path()).await {
        Ok(client) => client,
        Err(_) => {
            println!("signing ceremonies: the agent is not running (`quorate-participant run`)");
            return Ok(());
        }
    };
    let reviews = client
        .pending(proto::PendingRequest {})
        .await?
        .into_inner()
        .reviews;
    if reviews.is_empty() {
        println!("no signing ceremony is waiting for your decision");
    }
    for r in reviews {
        let c = r.ceremony.unwrap_or_default();
        if r.record_problem {
            println!("{}  {}  RECORD PROBLEM: {}", c.id, r.decision, r.record);
            continue;
        }
        println!(
            "{}  {}  {}  requested by {}",
            c.id, c.key_group, c.label, c.requester
        );
    }
    Ok(())
}
