//! `quorate key-group`: key groups made by DKG among their agents, with no
//! dealer: `create` proposes one and waits until the agents have made and
//! registered it; `status` and `cancel` follow or call off a key ceremony.

use std::path::PathBuf;

use quorate::client::{Clients, Target, status_error};
use quorate_secrets::GroupFileIo;
use quorate_types::Policy;
use quorate_wire as proto;

use super::read_roster;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Propose a key group to its agents and wait while they make it by
    /// DKG: each approver joins with `quorate-participant join`. Writes the
    /// registered group's public file (group.json). The threshold can never
    /// change for this group key: a new threshold needs a new key group.
    Create(CreateArgs),
    /// Propose new shares of a key group's key among its share holders,
    /// removing those named with --remove (an approver who leaves): once
    /// refreshed, a removed share no longer combines with the new ones. The
    /// group key, and so every consumer's trust, stays; the threshold
    /// cannot change. Each remaining approver runs `quorate-participant
    /// join` with its agent stopped, then starts it again. Writes the new
    /// group.json.
    Refresh {
        #[arg(long)]
        name: String,
        /// A share holder to remove; repeat for several.
        #[arg(long)]
        remove: Vec<String>,
        #[arg(long, default_value = "group.json")]
        out: PathBuf,
    },
    /// Rebuild a participant's lost share: --helper names at least t share
    /// holders, who each approve helping with `quorate-participant join`;
    /// the participant runs `join` too and gets back the very share they
    /// lost. Only sealed pieces cross the coordinator. A lost machine loses
    /// its identity key too: give the new one with --identity.
    Repair {
        #[arg(long)]
        name: String,
        #[arg(long)]
        participant: String,
        /// The participant's identity key (hex), if it is a new one.
        #[arg(long)]
        identity: Option<String>,
        /// A share holder who helps; at least the threshold of them.
        #[arg(long = "helper")]
        helpers: Vec<String>,
        #[arg(long, default_value = "group.json")]
        out: PathBuf,
    },
    /// Add a participant under the same group key: --helper names at least
    /// t share holders, who make the new participant's share as in a
    /// repair. The threshold stays: FROST cannot change it without a new
    /// key group.
    Enrol {
        #[arg(long)]
        name: String,
        /// The new participant's roster entry.
        #[arg(long)]
        participant: String,
        #[arg(long)]
        display_name: String,
        #[arg(long)]
        role: String,
        /// Their identity key (hex), from `quorate-participant init`.
        #[arg(long)]
        identity: String,
        #[arg(long = "helper")]
        helpers: Vec<String>,
        #[arg(long, default_value = "group.json")]
        out: PathBuf,
    },
    /// Show where a key ceremony stands.
    Status { id: String },
    /// Call off a key ceremony that has not ended (operator).
    Cancel {
        id: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(clap::Args)]
pub struct CreateArgs {
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub threshold: u16,
    /// The roster (TOML): every participant with its identity key (from
    /// `quorate-participant init`).
    #[arg(long)]
    pub roster: PathBuf,
    /// The key group's policy (TOML); without it, any t approvals sign.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Where to write the registered group's public file.
    #[arg(long, default_value = "group.json")]
    pub out: PathBuf,
}

pub async fn run(command: Command, target: &Target) -> anyhow::Result<()> {
    let mut clients = Clients::connect(target).await?;
    let client = &mut clients.key_ceremonies.clone();
    match command {
        Command::Create(args) => {
            let roster = read_roster(&args.roster)?;
            let policy = match &args.policy {
                None => Policy::default(),
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
                    Policy::from_toml(&text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
                }
            };
            let proposed =
                quorate::key_group::propose(client, &args.name, args.threshold, &roster, &policy)
                    .await?;
            println!(
                "key ceremony {} proposed; each approver now runs `quorate-participant join`",
                proposed.id
            );
            let group = follow(client, &proposed.id).await?;
            group.save(&args.out)?;
            println!(
                "key group {} registered: {} of {}, group key {}; wrote {}",
                group.name,
                group.threshold,
                group.roster.len(),
                group.group_key,
                args.out.display()
            );
        }
        Command::Refresh { name, remove, out } => {
            let proposed = quorate::key_group::propose_refresh(client, &name, &remove).await?;
            println!(
                "key ceremony {} proposed: new shares of {name}{}; each remaining approver now \
                 runs `quorate-participant join`",
                proposed.id,
                if remove.is_empty() {
                    String::new()
                } else {
                    format!(" without {}", remove.join(", "))
                }
            );
            let group = follow(client, &proposed.id).await?;
            group.save(&out)?;
            println!(
                "key group {} refreshed: {} of {}, group key {} (unchanged); wrote {}",
                group.name,
                group.threshold,
                group.roster.len(),
                group.group_key,
                out.display()
            );
        }
        Command::Repair {
            name,
            participant,
            identity,
            helpers,
            out,
        } => {
            let current = clients
                .key_groups
                .get(proto::GetKeyGroupRequest { name: name.clone() })
                .await
                .map_err(status_error)?
                .into_inner();
            let file = quorate_types::KeyGroupFile::try_from(&current)?;
            let id = quorate_types::ParticipantId::new(&participant)?;
            let mut entry = file.roster.get(&id).cloned().ok_or_else(|| {
                anyhow::anyhow!("{participant} holds no share of {name}; to add them, use enrol")
            })?;
            if let Some(identity) = identity {
                entry.identity = Some(
                    quorate_types::PublicIdentity::parse(&identity).map_err(anyhow::Error::msg)?,
                );
            }
            let client = &mut clients.key_ceremonies;
            let proposed =
                quorate::key_group::propose_repair(client, &name, &entry, &helpers, false).await?;
            println!(
                "key ceremony {} proposed: {} rebuild {participant}'s share of {name}; each of \
                 them, and {participant}, now runs `quorate-participant join`",
                proposed.id,
                helpers.join(", ")
            );
            finish(client, &proposed.id, &out, "repaired").await?;
        }
        Command::Enrol {
            name,
            participant,
            display_name,
            role,
            identity,
            helpers,
            out,
        } => {
            let entry = quorate_types::RosterEntry {
                id: quorate_types::ParticipantId::new(&participant)?,
                name: display_name,
                role,
                coordinator: None,
                identity: Some(
                    quorate_types::PublicIdentity::parse(&identity).map_err(anyhow::Error::msg)?,
                ),
            };
            let client = &mut clients.key_ceremonies;
            let proposed =
                quorate::key_group::propose_repair(client, &name, &entry, &helpers, true).await?;
            println!(
                "key ceremony {} proposed: {} make a share of {name} for {participant}; each of \
                 them, and {participant}, now runs `quorate-participant join`",
                proposed.id,
                helpers.join(", ")
            );
            finish(client, &proposed.id, &out, "enrolled").await?;
        }
        Command::Status { id } => {
            let s = client
                .get(proto::GetKeyCeremonyRequest { id })
                .await
                .map_err(status_error)?
                .into_inner();
            println!(
                "key ceremony {} of key group {}: {}",
                s.id, s.key_group, s.summary
            );
            println!(
                "  proposed by {}; joined: {}",
                s.proposed_by,
                s.joined.join(", ")
            );
            if !s.confirmed.is_empty() {
                println!("  confirmed: {}", s.confirmed.join(", "));
            }
        }
        Command::Cancel { id, reason } => {
            let s = client
                .cancel(proto::CancelKeyCeremonyRequest { id, reason })
                .await
                .map_err(status_error)?
                .into_inner();
            println!("key ceremony {}: {}", s.id, s.summary);
        }
    }
    Ok(())
}

/// Follows a key ceremony to its end, printing each new summary.
async fn follow(
    client: &mut quorate::client::KeyCeremonies,
    id: &str,
) -> anyhow::Result<quorate_types::KeyGroupFile> {
    let mut last = String::new();
    quorate::key_group::follow(client, id, |s| {
        if s.summary != last {
            println!("  {}", s.summary);
            last = s.summary.clone();
        }
    })
    .await
}

/// Follows a repair or enrolment to its end and writes the group.
async fn finish(
    client: &mut quorate::client::KeyCeremonies,
    id: &str,
    out: &std::path::Path,
    done: &str,
) -> anyhow::Result<()> {
    let group = follow(client, id).await?;
    group.save(out)?;
    println!(
        "key group {} {done}: {} of {}, group key {} (unchanged); wrote {}; hand it to the \
         agents that took no part",
        group.name,
        group.threshold,
        group.roster.len(),
        group.group_key,
        out.display()
    );
    Ok(())
}
