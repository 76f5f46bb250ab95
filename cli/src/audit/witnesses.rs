//! Witness cosignatures for auditors: which witnesses to trust (a
//! `witnesses.vkeys` file), how many must have cosigned, and the check.

use std::path::Path;

use quorate_tlog::{Checkpoint, Cosignature, WitnessVerifier, verify_cosignatures};

/// The witnesses an auditor trusts and how many of them must cosign.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct WitnessArgs {
    /// A file of witness verifier keys (`name+id+base64(0x04 ‖ key)`), one
    /// per line, such as the quickstart's witnesses.vkeys. The checkpoint
    /// must carry a quorum of their cosignatures.
    #[arg(long)]
    pub witness_keys: Option<std::path::PathBuf>,
    /// How many of those witnesses must have cosigned (default: all).
    #[arg(long, requires = "witness_keys")]
    pub witness_quorum: Option<usize>,
}

/// The parsed witness policy.
pub struct Witnesses {
    pub verifiers: Vec<WitnessVerifier>,
    pub quorum: usize,
}

impl WitnessArgs {
    /// None when no witness keys were given.
    pub fn load(&self) -> anyhow::Result<Option<Witnesses>> {
        let Some(path) = &self.witness_keys else {
            return Ok(None);
        };
        let verifiers = read_vkeys(path)?;
        let quorum = self.witness_quorum.unwrap_or(verifiers.len());
        if quorum == 0 || quorum > verifiers.len() {
            anyhow::bail!(
                "--witness-quorum {quorum}: give between 1 and the {} witnesses in {}",
                verifiers.len(),
                path.display()
            );
        }
        Ok(Some(Witnesses { verifiers, quorum }))
    }
}

/// Reads a file of witness vkeys, one per line (blank lines and `#`
/// comments are skipped).
pub fn read_vkeys(path: &Path) -> anyhow::Result<Vec<WitnessVerifier>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read witness keys {}: {e}", path.display()))?;
    let verifiers = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| WitnessVerifier::parse(l).map_err(|e| anyhow::anyhow!("{}: {e}", path.display())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if verifiers.is_empty() {
        anyhow::bail!("{} lists no witness keys", path.display());
    }
    Ok(verifiers)
}

impl Witnesses {
    /// The checkpoint's valid cosignatures by these witnesses, if there are
    /// at least `quorum` of them; else an error that says who cosigned.
    pub fn check(&self, note: &str) -> anyhow::Result<Vec<Cosignature>> {
        let found = verify_cosignatures(note, &self.verifiers)
            .map_err(|e| anyhow::anyhow!("the checkpoint's cosignatures: {e}"))?;
        if found.len() < self.quorum {
            let who: Vec<&str> = found.iter().map(|c| c.witness.as_str()).collect();
            anyhow::bail!(
                "the checkpoint carries valid cosignatures from {} of the listed witnesses ({}), \
                 fewer than the {} required: it may be a view shown to you alone",
                found.len(),
                if who.is_empty() {
                    "none".into()
                } else {
                    who.join(", ")
                },
                self.quorum
            );
        }
        Ok(found)
    }
}

/// The checkpoint a signed note's text holds, its signatures unchecked.
pub fn unverified_checkpoint(note: &str) -> Result<Checkpoint, quorate_tlog::RecordError> {
    let body = note.split("\n\n").next().unwrap_or_default();
    Checkpoint::parse(&format!("{body}\n"))
}

/// The tree size of a signed note (not authenticated).
pub fn size_of(note: &str) -> Option<u64> {
    unverified_checkpoint(note).ok().map(|c| c.size)
}
