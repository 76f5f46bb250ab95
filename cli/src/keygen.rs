//! Trusted-dealer key generation for a key group. The dealer's secrets exist
//! only in memory while the share files are written.
//!
//! Participants listed without an identity key get a fresh one here too
//! (`<id>.identity.json`), and the roster in `group.json` lists its public
//! half; a participant that brings its own key lists it in the roster.

use std::path::{Path, PathBuf};

use frost_ed25519::keys::{IdentifierList, KeyPackage};
use quorate_common::keyfile::{KeyGroupFile, KeyShareFile};
use quorate_common::{IdentityKey, KeyGroupName, Policy, Roster};
use rand_core::OsRng;

pub struct Dealt {
    pub group: KeyGroupFile,
    pub shares: Vec<KeyShareFile>,
    /// Identity keys made for participants the roster listed without one.
    pub identities: Vec<IdentityKey>,
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
    let mut roster = roster.clone();
    let mut identities = Vec::new();
    for entry in &mut roster.participants {
        if entry.identity.is_none() {
            let key = IdentityKey::generate(entry.id.clone(), &mut OsRng);
            entry.identity = Some(key.public());
            identities.push(key);
        }
    }
    let group = KeyGroupFile::new(name, threshold, &public, roster, policy)?;
    Ok(Dealt {
        group,
        shares,
        identities,
    })
}

/// Where [`write`] put each participant's secrets.
pub struct Written {
    pub share: PathBuf,
    /// The identity key made here, if the roster listed none.
    pub identity: Option<PathBuf>,
}

/// Writes `<id>.share.json` (and `<id>.identity.json` for identity keys made
/// here) per participant and `group.json` into `dir`. Returns the paths in
/// roster order.
pub fn write(dealt: &Dealt, dir: &Path) -> anyhow::Result<Vec<Written>> {
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
        let identity = match dealt
            .identities
            .iter()
            .find(|k| *k.participant() == share.participant)
        {
            Some(key) => {
                let path = dir.join(format!("{}.identity.json", share.participant));
                if path.exists() {
                    anyhow::bail!(
                        "{} exists; refusing to overwrite an identity key",
                        path.display()
                    );
                }
                key.save(&path)?;
                Some(path)
            }
            None => None,
        };
        paths.push(Written {
            share: path,
            identity,
        });
    }
    dealt.group.save(&dir.join("group.json"))?;
    Ok(paths)
}
