//! `quorate ceremonies`: lists ceremonies, page by page.

use quorate::client::{Clients, Target, status_error};
use quorate_wire as proto;

use super::*;

#[derive(clap::Args)]
pub struct Args {
    /// Only ceremonies in this state (e.g. signed, expired, collecting-approvals).
    #[arg(long)]
    pub state: Option<String>,
    #[arg(long)]
    pub key_group: Option<String>,
    /// Only break-glass ceremonies.
    #[arg(long)]
    pub break_glass: bool,
    /// Only signed break-glass ceremonies awaiting review.
    #[arg(long)]
    pub unreviewed: bool,
}

pub async fn run(args: Args, target: &Target) -> anyhow::Result<()> {
    let Args {
        state,
        key_group,
        break_glass,
        unreviewed,
    } = args;
    let state = match state {
        None => proto::CeremonyState::Unspecified,
        Some(name) => proto::convert::parse_state(&name).map_err(anyhow::Error::msg)?,
    };
    let mut clients = Clients::connect(target).await?;
    let mut page_token = String::new();
    let mut any = false;
    loop {
        let page = clients
            .ceremonies
            .list(proto::ListCeremoniesRequest {
                state: state.into(),
                key_group: key_group.clone().unwrap_or_default(),
                break_glass,
                unreviewed,
                page_size: 0,
                page_token,
            })
            .await
            .map_err(status_error)?
            .into_inner();
        for c in page.ceremonies {
            any = true;
            println!(
                "{}  {:<11} {:<24} {}{}  {}",
                c.id,
                c.key_group,
                state_name(&c),
                if c.break_glass { "BREAK-GLASS " } else { "" },
                c.label,
                c.summary
            );
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    if !any {
        println!("no ceremonies match");
    }
    Ok(())
}
