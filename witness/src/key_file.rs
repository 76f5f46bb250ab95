//! The witness's key file. A standalone witness, which runs unattended
//! like the coordinator, keeps `<dir>/witness-key.json`: made by `init`,
//! mode 0600, refused when others may read it. An agent that witnesses
//! keeps `<dir>/witness-key.sealed` instead, sealed with the passphrase
//! of its other key files ([`quorate_secrets::sealed`]).

use std::path::Path;

use quorate_secrets::Passphrase;
use quorate_secrets::keyfile::{seed_from_hex, write_file};
use quorate_secrets::sealed::{self, KdfParams, SecretKind, read_private};
use quorate_tlog::WitnessKey;
use quorate_types::ParticipantId;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

const FORMAT: &str = "quorate-witness-key/v1";
pub const FILE_NAME: &str = "witness-key.json";
pub const SEALED_FILE_NAME: &str = "witness-key.sealed";

#[derive(Serialize, Deserialize)]
struct KeyFile {
    format: String,
    name: String,
    seed: Zeroizing<String>,
}

/// Makes a key named `name` in `dir`; refuses to replace one.
pub fn create(dir: &Path, name: &str) -> anyhow::Result<WitnessKey> {
    let path = fresh(dir, FILE_NAME)?;
    let key = generate(name)?;
    write_file(&path, &plaintext(&key)?, 0o600)?;
    Ok(key)
}

/// Makes a key named `name` in `dir`, sealed as `owner`'s with
/// `passphrase`; refuses to replace one.
pub fn create_sealed(
    dir: &Path,
    name: &str,
    owner: &ParticipantId,
    passphrase: &Passphrase,
    params: &KdfParams,
) -> anyhow::Result<WitnessKey> {
    let path = fresh(dir, SEALED_FILE_NAME)?;
    let key = generate(name)?;
    seal(&path, &key, owner, passphrase, params)?;
    Ok(key)
}

/// Seals `key` into a new file at `path`.
pub fn seal(
    path: &Path,
    key: &WitnessKey,
    owner: &ParticipantId,
    passphrase: &Passphrase,
    params: &KdfParams,
) -> anyhow::Result<()> {
    let json = plaintext(key)?;
    sealed::save(
        path,
        SecretKind::WitnessKey,
        owner,
        &json,
        passphrase,
        params,
    )?;
    Ok(())
}

/// Opens the sealed key in `dir` with `passphrase`.
pub fn load_sealed(dir: &Path, passphrase: &Passphrase) -> anyhow::Result<WitnessKey> {
    let path = dir.join(SEALED_FILE_NAME);
    let unsealed = sealed::load(&path, SecretKind::WitnessKey, passphrase)?;
    parse(&path, &unsealed.plaintext)
}

/// Where a new key file named `file` goes in `dir`, which is made if
/// need be; an error if a witness key is there already.
fn fresh(dir: &Path, file: &str) -> anyhow::Result<std::path::PathBuf> {
    for name in [FILE_NAME, SEALED_FILE_NAME] {
        let path = dir.join(name);
        if path.exists() {
            anyhow::bail!(
                "{} already holds a witness key; a witness keeps its key for life, since \
                 everyone who trusts it knows it by that key",
                path.display()
            );
        }
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    Ok(dir.join(file))
}

fn generate(name: &str) -> anyhow::Result<WitnessKey> {
    WitnessKey::generate(&mut rand_core::OsRng, name)
        .map_err(|e| anyhow::anyhow!("witness name {name:?}: {e}"))
}

/// The key file's JSON.
fn plaintext(key: &WitnessKey) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let file = KeyFile {
        format: FORMAT.into(),
        name: key.name().into(),
        seed: Zeroizing::new(hex::encode(*key.seed())),
    };
    Ok(Zeroizing::new(serde_json::to_vec_pretty(&file)?))
}

/// Loads the key in `dir`.
pub fn load(dir: &Path) -> anyhow::Result<WitnessKey> {
    let path = dir.join(FILE_NAME);
    if !path.exists() {
        anyhow::bail!(
            "{} holds no witness key: make one with `quorate witness init --dir {} --name <name>`",
            dir.display(),
            dir.display()
        );
    }
    let bytes = read_private(&path)?;
    parse(&path, &bytes)
}

/// The key in a key file's JSON, read from `path`.
fn parse(path: &Path, bytes: &[u8]) -> anyhow::Result<WitnessKey> {
    let file: KeyFile = serde_json::from_slice(bytes)
        .map_err(|e| anyhow::anyhow!("{} is not a witness key file: {e}", path.display()))?;
    if file.format != FORMAT {
        anyhow::bail!(
            "{} has format {:?}, not {FORMAT}",
            path.display(),
            file.format
        );
    }
    let seed = seed_from_hex(path, "witness key", &file.seed)?;
    WitnessKey::from_seed(&file.name, &seed).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests;
