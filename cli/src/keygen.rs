//! Trusted-dealer key generation for a key group. The dealer's secrets exist
//! only in memory while the share files are written.

use std::path::{Path, PathBuf};

use frost_ed25519::keys::{IdentifierList, KeyPackage};
use quorate_common::keyfile::{KeyGroupFile, KeyShareFile};
use quorate_common::{KeyGroupName, Policy, Roster};
use rand_core::OsRng;

pub struct Dealt {
    pub group: KeyGroupFile,
    pub shares: Vec<KeyShareFile>,
}

/// Splits a fresh group key into one share per roster entry, `threshold` of
/// which can sign.
pub fn deal(
    name: KeyGroupName,
    roster: &Roster,
    threshold: u16,
    policy: Policy,
) -> anyhow::Result<Dealt> {
    roster.validate()?;
    let n = u16::try_from(roster.len()).map_err(|_| anyhow::anyhow!("the roster is too long"))?;
    if threshold < 2 || threshold > n {
        anyhow::bail!(
            "threshold must be between 2 and the {n} participants of the roster; got {threshold}"
        );
    }
    policy.validate(roster, threshold)?;
    let ids: Vec<_> = roster.ids().map(|p| p.identifier()).collect();
    let (secret_shares, public) = frost_ed25519::keys::generate_with_dealer(
        n,
        threshold,
        IdentifierList::Custom(&ids),
        OsRng,
    )?;
    let mut shares = Vec::new();
    for entry in &roster.participants {
        let secret = secret_shares
            .get(&entry.id.identifier())
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no share was dealt for {}", entry.id))?;
        let package = KeyPackage::try_from(secret)?;
        shares.push(KeyShareFile::new(name.clone(), entry.id.clone(), &package)?);
    }
    let group = KeyGroupFile::new(name, threshold, &public, roster.clone(), policy)?;
    Ok(Dealt { group, shares })
}

/// Writes `<id>.share.json` per participant and `group.json` into `dir`.
/// Returns the paths of the share files, in roster order.
pub fn write(dealt: &Dealt, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let mut paths = Vec::new();
    for share in &dealt.shares {
        let path = dir.join(format!("{}.share.json", share.participant));
        if path.exists() {
            anyhow::bail!(
                "{} exists; refusing to overwrite a key share",
                path.display()
            );
        }
        share.save(&path)?;
        paths.push(path);
    }
    dealt.group.save(&dir.join("group.json"))?;
    Ok(paths)
}
