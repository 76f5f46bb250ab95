//! `quorate keygen`: deals a new key group on this machine (a trusted dealer).

use std::path::PathBuf;

use quorate::client::Target;
use quorate_types::{KeyGroupName, Policy, Roster};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub roster: PathBuf,
    #[arg(long)]
    pub threshold: u16,
    #[arg(long)]
    pub key_group: String,
    #[arg(long)]
    pub out: PathBuf,
    /// The key group's policy (TOML); without it, any t approvals sign.
    #[arg(long)]
    pub policy: Option<PathBuf>,
}

pub async fn run(args: Args, _target: &Target) -> anyhow::Result<()> {
    let Args {
        roster,
        threshold,
        key_group,
        out,
        policy,
    } = args;
    let roster = read_roster(&roster)?;
    let policy = match policy {
        None => Policy::default(),
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            Policy::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
    };
    let passphrases = quorate::keygen::passphrases(&roster)?;
    let dealt = quorate::keygen::deal(KeyGroupName::new(key_group)?, &roster, threshold, policy)?;
    let paths = quorate::keygen::write(
        &dealt,
        &out,
        &passphrases,
        &quorate_secrets::sealed::KdfParams::default(),
    )?;
    for p in paths {
        println!("wrote {}", p.share.display());
        if let Some(identity) = p.identity {
            println!("wrote {}", identity.display());
        }
    }
    println!("wrote {}", out.join("group.json").display());
    println!("group key: {}", dealt.group.group_key);
    Ok(())
}

/// Reads and checks a roster file, naming the file in any error.
pub(super) fn read_roster(path: &std::path::Path) -> anyhow::Result<Roster> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read roster {}: {e}", path.display()))?;
    Roster::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
