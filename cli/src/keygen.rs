//! Trusted-dealer key generation for a key group. The dealer's secrets exist
//! only in memory while the share files are written.
//!
//! Participants listed without an identity key get a fresh one here too
//! (`<id>.identity.json`), and the roster in `group.json` lists its public
//! half; a participant that brings its own key lists it in the roster.
//!
//! Each participant's share and identity-key files are sealed with that
//! participant's passphrase ([`quorate_secrets::sealed`]). `quorate keygen`
//! asks one per participant on the terminal (twice each), or, in
//! automation, takes `QUORATE_PASSPHRASE` for all of them; see
//! [`passphrases`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use frost_ed25519::keys::{IdentifierList, KeyPackage};
use quorate_secrets::GroupFileIo;
use quorate_secrets::keyfile::KeyShareFile;
use quorate_secrets::passphrase::{self, PASSPHRASE_ENV};
use quorate_secrets::sealed::KdfParams;
use quorate_secrets::{IdentityKey, Passphrase};
use quorate_types::KeyGroupFile;
use quorate_types::{KeyGroupName, ParticipantId, Policy, Roster};
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

/// Each participant's passphrase for `quorate keygen`: `QUORATE_PASSPHRASE`
/// for all of them if it is set, else one asked per participant on the
/// terminal.
pub fn passphrases(roster: &Roster) -> anyhow::Result<BTreeMap<ParticipantId, Passphrase>> {
    if let Some(same) = passphrase::from_env()? {
        return Ok(roster.ids().map(|id| (id.clone(), same.clone())).collect());
    }
    let mut each = BTreeMap::new();
    for id in roster.ids() {
        let p = passphrase::ask_new(&format!("new passphrase for {id}'s key files: ")).map_err(
            |e| match e {
                passphrase::PassphraseError::NoTerminal(why) => anyhow::anyhow!(
                    "keygen seals each participant's files with a passphrase: run it on a \
                     terminal to choose one per participant, or set {PASSPHRASE_ENV} to use one \
                     for all ({why})"
                ),
                other => anyhow::anyhow!("{id}'s passphrase: {other}"),
            },
        )?;
        each.insert(id.clone(), p);
    }
    Ok(each)
}

/// Writes `<id>.share.json` (and `<id>.identity.json` for identity keys made
/// here) per participant, sealed with that participant's passphrase and
/// Argon2id `kdf` costs, and `group.json` into `dir`. Returns the paths in
/// roster order.
pub fn write(
    dealt: &Dealt,
    dir: &Path,
    passphrases: &BTreeMap<ParticipantId, Passphrase>,
    kdf: &KdfParams,
) -> anyhow::Result<Vec<Written>> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let mut paths = Vec::new();
    for share in &dealt.shares {
        let passphrase = passphrases
            .get(&share.participant)
            .ok_or_else(|| anyhow::anyhow!("no passphrase was given for {}", share.participant))?;
        let path = dir.join(format!("{}.share.json", share.participant));
        if path.exists() {
            anyhow::bail!(
                "{} exists; refusing to overwrite a key share",
                path.display()
            );
        }
        share.save(&path, passphrase, kdf)?;
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
                key.save(&path, passphrase, kdf)?;
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
