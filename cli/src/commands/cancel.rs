//! `quorate cancel`: calls off a ceremony.

use quorate::client::{Clients, Target, status_error};
use quorate_wire as proto;

#[derive(clap::Args)]
pub struct Args {
    pub ceremony: String,
    #[arg(long)]
    pub reason: String,
}

pub async fn run(args: Args, target: &Target) -> anyhow::Result<()> {
    let Args { ceremony, reason } = args;
    let mut clients = Clients::connect(target).await?;
    let s = clients
        .ceremonies
        .cancel(proto::CancelCeremonyRequest {
            id: ceremony,
            reason,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    println!("{}: {}", s.id, s.summary);
    Ok(())
}
