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
    /// Back up your signing share with custodians: split it into one piece
    /// per --custodian, any --threshold of which restore it (Feldman VSS;
    /// each custodian can check their piece alone with `quorate backup
    /// verify`). Writes DIR/<custodian>.piece, each sealed with its
    /// custodian's passphrase (asked for each, twice; or, in automation,
    /// QUORATE_CUSTODIAN_PASSPHRASE for all), or with --printable each
    /// piece as text on standard output, to print and hand over (never on
    /// disk); and the public DIR/commitments.json and DIR/backup-note.json. Back up again after every refresh: a refresh
    /// changes the share.
    Backup {
        #[arg(long = "custodian", required = true)]
        custodians: Vec<String>,
        #[arg(long)]
        threshold: u16,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        printable: bool,
        #[arg(long, value_name = "N")]
        passphrase_fd: Option<u32>,
    },
    /// Send the coordinator a backup's note again (DIR/backup-note.json),
    /// when `backup` could not reach it.
    NoteBackup { note: PathBuf },
    /// Restore your lost signing share from custodian pieces (sealed files,
    /// each opened with its custodian's passphrase, asked or from
    /// QUORATE_CUSTODIAN_PASSPHRASE; or printed pieces typed back in). Every
    /// piece is checked, a tampered one is named, and the share is written
    /// (sealed with your passphrase) only if it is yours in the key group.
    Restore {
        #[arg(long = "piece", required = true)]
        pieces: Vec<PathBuf>,
        #[arg(long, value_name = "N")]
        passphrase_fd: Option<u32>,
    },
    /// List the ceremonies waiting for your decision.
    Pending,
    /// Print the login link of the approver's page (`[page]` in
    /// agent.toml) of the running agent; it changes at each start.
    PageUrl,
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
            // A mistyped passphrase must not seal the key for good: it
            // must open the identity key first.
            quorate_participant::identity::open_identity(&config, &passphrase)?;
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
        Command::Backup {
            custodians,
            threshold,
            out,
            printable,
            passphrase_fd,
        } => {
            let note = backup(
                &config,
                custodians,
                *threshold,
                out,
                *printable,
                *passphrase_fd,
            )?;
            return note_backup(&config, &note).await.map_err(|e| {
                anyhow::anyhow!(
                    "{e:#}\nthe backup is made, but the record does not note it yet: run \
                     `quorate-participant note-backup {}` once the coordinator can be reached",
                    out.join(quorate_participant::backup::NOTE_FILE).display()
                )
            });
        }
        Command::NoteBackup { note } => {
            let bytes = std::fs::read(note)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", note.display()))?;
            let signed = quorate_types::backup_note::SignedBackupNote::from_bytes(&bytes)
                .map_err(|e| anyhow::anyhow!("{}: {e}", note.display()))?;
            return note_backup(&config, &signed).await;
        }
        Command::Restore {
            pieces,
            passphrase_fd,
        } => return restore(&config, pieces, *passphrase_fd),
        Command::Pending => return pending(&config).await,
        Command::PageUrl => {
            println!("{}", page_url(&config)?);
            return Ok(());
        }
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
        | Command::Backup { .. }
        | Command::NoteBackup { .. }
        | Command::Restore { .. }
        | Command::Pending
        | Command::PageUrl => unreachable!("handled above"),
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

/// The custodians' passphrase for automation, if set.
const CUSTODIAN_PASSPHRASE_ENV: &str = "QUORATE_CUSTODIAN_PASSPHRASE";

fn custodian_passphrase_from_env() -> Option<quorate_secrets::Passphrase> {
    std::env::var(CUSTODIAN_PASSPHRASE_ENV)
        .ok()
        .filter(|p| !p.is_empty())
        .map(|p| quorate_secrets::Passphrase::new(zeroize::Zeroizing::new(p)))
}

fn backup(
    config: &AgentConfig,
    custodians: &[String],
    threshold: u16,
    out: &std::path::Path,
    printable: bool,
    passphrase_fd: Option<u32>,
) -> anyhow::Result<quorate_types::backup_note::SignedBackupNote> {
    use quorate_participant::backup::Form;
    let custodians = custodians
        .iter()
        .map(|c| {
            quorate_types::ParticipantId::new(c.as_str())
                .map_err(|e| anyhow::anyhow!("--custodian: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let passphrase = quorate_secrets::passphrase::obtain(
        passphrase_fd,
        &format!("passphrase for {}'s key files: ", config.id),
    )?;
    let ask = |custodian: &quorate_types::ParticipantId| {
        if let Some(p) = custodian_passphrase_from_env() {
            return Ok(p);
        }
        Ok(quorate_secrets::passphrase::ask_new(&format!(
            "custodian {custodian}, choose the passphrase of your piece: "
        ))?)
    };
    let form = if printable {
        Form::Printable
    } else {
        Form::Sealed(&ask)
    };
    let made = quorate_participant::backup::backup(
        config,
        &passphrase,
        &custodians,
        threshold,
        out,
        form,
    )?;
    let commitments = &made.commitments;
    for (custodian, text) in &made.printed {
        println!(
            "---- the piece for custodian {custodian}: print it, hand it over, keep no copy ----"
        );
        print!("{}", text.as_str());
    }
    println!(
        "backed up {}'s share in key group {} as {} pieces, any {} of which restore it, in {}",
        config.id,
        commitments.key_group,
        commitments.count,
        commitments.threshold,
        out.display()
    );
    println!(
        "commitments (give each custodian, to check their piece): {}",
        commitments.hash()
    );
    Ok(made.note)
}

async fn note_backup(
    config: &AgentConfig,
    note: &quorate_types::backup_note::SignedBackupNote,
) -> anyhow::Result<()> {
    let recorded = quorate_participant::backup::note(config, note).await?;
    println!(
        "the record notes the backup ({}){}",
        note.note.commitments_sha256,
        if recorded { "" } else { ", as it did already" }
    );
    Ok(())
}

fn restore(
    config: &AgentConfig,
    paths: &[PathBuf],
    passphrase_fd: Option<u32>,
) -> anyhow::Result<()> {
    let ask = |path: &std::path::Path| {
        if let Some(p) = custodian_passphrase_from_env() {
            return Ok(p);
        }
        Ok(quorate_secrets::passphrase::ask(&format!(
            "custodian's passphrase for {}: ",
            path.display()
        ))?)
    };
    let pieces = paths
        .iter()
        .map(|path| quorate_participant::backup::read_piece(path, &ask))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let passphrase = quorate_secrets::passphrase::obtain(
        passphrase_fd,
        &format!("passphrase for {}'s key files: ", config.id),
    )?;
    let path = quorate_participant::backup::restore(config, &passphrase, &pieces)?;
    println!(
        "restored {}'s share from {} pieces into {}; start the agent again",
        config.id,
        pieces.len(),
        path.display()
    );
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
/// The running agent's login link, from `[page]` and the token it wrote.
fn page_url(config: &AgentConfig) -> anyhow::Result<String> {
    use quorate_participant::page;
    let Some(served) = &config.page else {
        anyhow::bail!(
            "the agent serves no page: add a [page] table with listen = \"127.0.0.1:7480\" to agent.toml, then restart it"
        );
    };
    let path = page::token_path(&config.state_dir);
    let token = std::fs::read_to_string(&path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read {}: {e}; is `quorate-participant run` running with [page]?",
            path.display()
        )
    })?;
    let scheme = if served.cert.is_some() {
        "https"
    } else {
        "http"
    };
    Ok(page::login_url(
        &format!("{scheme}://{}", served.listen),
        token.trim(),
    ))
}

async fn pending(config: &AgentConfig) -> anyhow::Result<()> {
    match quorate_participant::join::pending_key_ceremonies(config).await {
        Ok(keys) => {
            for (proposed, summary) in keys {
                let (p, what) = (&proposed.proposal, proposed.kind());
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
