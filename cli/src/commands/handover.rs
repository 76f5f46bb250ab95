//! `quorate handover`: moving consumers from a key group's key to a new
//! group's. `prepare` writes the hand-over statement; each group signs it
//! with an ordinary ceremony (`quorate sign --message`, break-glass for a
//! compromise); `link` checks both signatures and writes the link that
//! `quorate verify --handover` follows.

use std::path::PathBuf;

use quorate::client::{Clients, Target, status_error};
use quorate_types::KeyGroupFile;
use quorate_types::handover::{HandOver, Link};
use quorate_wire as proto;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Write the statement handing key group --from over to key group
    /// --to (made by DKG beforehand), to be signed by both groups.
    Prepare {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// Why, in a line (e.g. "yearly rotation", "new roster").
        #[arg(long)]
        reason: String,
        /// The old key is (suspected) compromised: consumers stop trusting
        /// it. Sign the statement with --break-glass.
        #[arg(long)]
        compromised: bool,
        #[arg(short = 'o', long)]
        output: PathBuf,
    },
    /// Write the statement retiring --key-group, to be signed by the group
    /// itself (`quorate sign --key-group NAME --message FILE`), then
    /// recorded with `quorate handover retire`.
    Retirement {
        #[arg(long)]
        key_group: String,
        /// The key group that takes over.
        #[arg(long)]
        successor: Option<String>,
        #[arg(long)]
        reason: String,
        #[arg(short = 'o', long)]
        output: PathBuf,
    },
    /// Operators: record a key group's retirement, signed by the group
    /// (a raw 64-byte signature). The coordinator then takes no new
    /// ceremony of it.
    Retire {
        #[arg(long)]
        key_group: String,
        #[arg(long)]
        statement: PathBuf,
        #[arg(long)]
        signature: PathBuf,
    },
    /// Operators: record a hand-over link with the coordinator, so that
    /// the old group's history (`quorate audit export-key-group`) holds it.
    Record {
        #[arg(long)]
        link: PathBuf,
    },
    /// Check the statement's two signatures (raw 64-byte signatures, as
    /// `quorate sign -o` writes them) and write the link.
    Link {
        #[arg(long)]
        statement: PathBuf,
        #[arg(long)]
        old_signature: PathBuf,
        #[arg(long)]
        new_signature: PathBuf,
        #[arg(short = 'o', long)]
        output: PathBuf,
    },
}

pub async fn run(command: Command, target: &Target) -> anyhow::Result<()> {
    match command {
        Command::Prepare {
            from,
            to,
            reason,
            compromised,
            output,
        } => {
            if reason.trim().is_empty() || reason.contains('\n') {
                anyhow::bail!("--reason: say why in one line");
            }
            let mut clients = Clients::connect(target).await?;
            let old = group(&mut clients, &from).await?;
            let new = group(&mut clients, &to).await?;
            let statement = HandOver {
                old_key_group: old.name.to_string(),
                old_key: group_key(&old)?,
                new_key_group: new.name.to_string(),
                new_key: group_key(&new)?,
                new_threshold: new.threshold,
                new_roster_sha256: quorate_types::handover::digest_of(&new.roster),
                new_policy_sha256: quorate_types::handover::digest_of(&new.policy),
                at_unix_ms: quorate::request::now_unix_ms(),
                compromised,
                reason,
            };
            if statement.old_key == statement.new_key {
                anyhow::bail!("{from} and {to} have the same group key: nothing to hand over");
            }
            std::fs::write(&output, statement.to_bytes())
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
            println!(
                "wrote {}: have {from} sign it (quorate sign --key-group {from} --message {}{} --wait -o old.sig), then {to} (-o new.sig), then run quorate handover link",
                output.display(),
                output.display(),
                if compromised {
                    " --break-glass --justification \"...\""
                } else {
                    ""
                }
            );
            Ok(())
        }
        Command::Retirement {
            key_group,
            successor,
            reason,
            output,
        } => {
            if reason.trim().is_empty() || reason.contains('\n') {
                anyhow::bail!("--reason: say why in one line");
            }
            let mut clients = Clients::connect(target).await?;
            let group = group(&mut clients, &key_group).await?;
            let successor = successor
                .map(|s| quorate_types::KeyGroupName::new(s.as_str()))
                .transpose()
                .map_err(|e| anyhow::anyhow!("--successor: {e}"))?;
            let statement = quorate_types::retirement::Retirement {
                key_group: group.name.clone(),
                group_key: group.group_key.clone(),
                successor,
                at_unix_ms: quorate::request::now_unix_ms(),
                reason,
            };
            std::fs::write(&output, statement.to_bytes())
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
            println!(
                "wrote {}: have {key_group} sign it (quorate sign --key-group {key_group} --message {} --wait -o retire.sig), then record it with quorate handover retire",
                output.display(),
                output.display()
            );
            Ok(())
        }
        Command::Retire {
            key_group,
            statement,
            signature,
        } => {
            let read = |path: &PathBuf| {
                std::fs::read(path)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))
            };
            let mut clients = Clients::connect(target).await?;
            clients
                .key_groups
                .retire(proto::RetireKeyGroupRequest {
                    key_group: key_group.clone(),
                    statement: read(&statement)?,
                    signature: read(&signature)?,
                })
                .await
                .map_err(status_error)?;
            println!(
                "key group {key_group} is retired: the coordinator takes no new ceremony of it"
            );
            Ok(())
        }
        Command::Record { link } => {
            let bytes = std::fs::read(&link)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", link.display()))?;
            let mut clients = Clients::connect(target).await?;
            clients
                .key_groups
                .record_hand_over(proto::RecordHandOverRequest { link: bytes })
                .await
                .map_err(status_error)?;
            println!("the record holds the hand-over {}", link.display());
            Ok(())
        }
        Command::Link {
            statement,
            old_signature,
            new_signature,
            output,
        } => {
            let read = |path: &PathBuf| {
                std::fs::read(path)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))
            };
            let signature = |path: &PathBuf| -> anyhow::Result<[u8; 64]> {
                read(path)?.try_into().map_err(|_| {
                    anyhow::anyhow!("{} is not a raw 64-byte signature", path.display())
                })
            };
            let link = Link {
                statement: String::from_utf8(read(&statement)?)
                    .map_err(|_| anyhow::anyhow!("{} is not a hand-over", statement.display()))?,
                old_signature: signature(&old_signature)?,
                new_signature: signature(&new_signature)?,
            };
            let checked = link.check().map_err(anyhow::Error::msg)?;
            std::fs::write(&output, serde_json::to_vec_pretty(&link)?)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
            println!(
                "wrote {}: {} hands over to {}{}",
                output.display(),
                checked.old_key_group,
                checked.new_key_group,
                if checked.compromised {
                    " (the old key is withdrawn)"
                } else {
                    ""
                }
            );
            Ok(())
        }
    }
}

async fn group(clients: &mut Clients, name: &str) -> anyhow::Result<KeyGroupFile> {
    let wire = clients
        .key_groups
        .get(proto::GetKeyGroupRequest { name: name.into() })
        .await
        .map_err(status_error)?
        .into_inner();
    KeyGroupFile::try_from(&wire).map_err(|e| anyhow::anyhow!("key group {name}: {e}"))
}

fn group_key(file: &KeyGroupFile) -> anyhow::Result<[u8; 32]> {
    let key = hex::decode(&file.group_key)?;
    key.try_into()
        .map_err(|_| anyhow::anyhow!("key group {}: the group key is not 32 bytes", file.name))
}
