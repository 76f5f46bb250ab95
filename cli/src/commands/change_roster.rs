//! `quorate change-roster`: changes a registered key group's roster.

use std::path::PathBuf;

use quorate::client::{Clients, Target, status_error};
use quorate_secrets::GroupFileIo;
use quorate_types::KeyGroupFile;
use quorate_wire as proto;

use super::*;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub key_group: String,
    #[arg(long)]
    pub roster: PathBuf,
    /// Where to write the changed group.json, for the agents.
    #[arg(long)]
    pub out: PathBuf,
}

pub async fn run(args: Args, target: &Target) -> anyhow::Result<()> {
    let Args {
        key_group,
        roster,
        out,
    } = args;
    let mut roster = read_roster(&roster)?;
    let mut clients = Clients::connect(target).await?;
    let current = clients
        .key_groups
        .get(proto::GetKeyGroupRequest {
            name: key_group.clone(),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let registered = proto::convert::roster(&current.roster)?;
    for entry in &mut roster.participants {
        if entry.identity.is_none() {
            entry.identity = registered.get(&entry.id).and_then(|r| r.identity);
        }
    }
    let reply = clients
        .key_groups
        .change_roster(proto::ChangeRosterRequest {
            name: key_group,
            roster: proto::KeyGroup::from_roster(&roster),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    KeyGroupFile::try_from(&reply)?.save(&out)?;
    println!(
        "key group {} now has roster version {}: {} (written to {}; give it to every agent)",
        reply.name,
        reply.roster_version,
        reply
            .roster
            .iter()
            .map(|p| format!("{} ({})", p.id, p.role))
            .collect::<Vec<_>>()
            .join(", "),
        out.display()
    );
    Ok(())
}
