//! `quorate review`: records an auditor's review of a break-glass ceremony.

use quorate::client::{Clients, Target, status_error};
use quorate_wire as proto;

#[derive(clap::Args)]
pub struct Args {
    pub ceremony: String,
    #[arg(long)]
    pub notes: String,
}

pub async fn run(args: Args, target: &Target) -> anyhow::Result<()> {
    let Args { ceremony, notes } = args;
    let mut clients = Clients::connect(target).await?;
    let s = clients
        .ceremonies
        .review(proto::ReviewCeremonyRequest {
            id: ceremony,
            notes,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    println!("{}: {}", s.id, s.summary);
    Ok(())
}
