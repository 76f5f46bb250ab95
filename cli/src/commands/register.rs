//! `quorate register`: registers a key group with the coordinator.

use std::path::PathBuf;

use quorate::client::{Clients, Target, status_error};
use quorate_secrets::GroupFileIo;
use quorate_types::KeyGroupFile;
use quorate_wire as proto;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub group: PathBuf,
}

pub async fn run(args: Args, target: &Target) -> anyhow::Result<()> {
    let Args { group } = args;
    let file = KeyGroupFile::load(&group)?;
    let mut clients = Clients::connect(target).await?;
    let reply = clients
        .key_groups
        .register(proto::RegisterKeyGroupRequest {
            key_group: Some(proto::KeyGroup::from(&file)),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    println!(
        "registered key group {} ({} of {})",
        reply.name,
        reply.threshold,
        reply.roster.len()
    );
    Ok(())
}
