//! `quorate trust update`: a consumer's trust policy moved along
//! hand-overs to each key group's newest key.

use std::path::PathBuf;

use quorate_formats::trust::TrustPolicy;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Check the hand-over links and rewrite the policy so that each key
    /// group with a chain names the newest key (comments are not kept).
    Update {
        #[arg(long)]
        policy: PathBuf,
        /// A hand-over link; repeat for a chain, in any order.
        #[arg(long = "handover", required = true)]
        hand_overs: Vec<PathBuf>,
        /// Where to write the new policy (default: over --policy).
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
    },
}

pub fn run(command: Command) -> anyhow::Result<()> {
    let Command::Update {
        policy,
        hand_overs,
        output,
    } = command;
    let text = std::fs::read_to_string(&policy)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", policy.display()))?;
    let links = quorate::verify::read_links(&hand_overs)?;
    let (updated, moved) = TrustPolicy::update_toml(&text, &links)
        .map_err(|e| anyhow::anyhow!("{}: {e}", policy.display()))?;
    let output = output.unwrap_or(policy);
    let tmp = output.with_extension("tmp");
    std::fs::write(&tmp, updated)
        .and_then(|()| std::fs::rename(&tmp, &output))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
    if moved.is_empty() {
        println!(
            "no key group of the policy is handed over: {} unchanged",
            output.display()
        );
    }
    for (name, to) in moved {
        println!("{name}: now trusts the key of {to}");
    }
    Ok(())
}
