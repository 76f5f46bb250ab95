//! The witness's key file, `<dir>/witness-key.json`: made by `init`,
//! mode 0600, refused when others may read it.

use std::path::Path;

use quorate_secrets::keyfile::{seed_from_hex, write_file};
use quorate_secrets::sealed::read_private;
use quorate_tlog::WitnessKey;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

const FORMAT: &str = "quorate-witness-key/v1";
pub const FILE_NAME: &str = "witness-key.json";

#[derive(Serialize, Deserialize)]
struct KeyFile {
    format: String,
    name: String,
    seed: Zeroizing<String>,
}

/// Makes a key named `name` in `dir`; refuses to replace one.
pub fn create(dir: &Path, name: &str) -> anyhow::Result<WitnessKey> {
    let path = dir.join(FILE_NAME);
    if path.exists() {
        anyhow::bail!(
            "{} already holds a witness key; a witness keeps its key for life, since \
             everyone who trusts it knows it by that key",
            path.display()
        );
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let key = WitnessKey::generate(&mut rand_core::OsRng, name)
        .map_err(|e| anyhow::anyhow!("witness name {name:?}: {e}"))?;
    let file = KeyFile {
        format: FORMAT.into(),
        name: name.into(),
        seed: Zeroizing::new(hex::encode(*key.seed())),
    };
    let json = Zeroizing::new(serde_json::to_vec_pretty(&file)?);
    write_file(&path, &json, 0o600)?;
    Ok(key)
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
    let file: KeyFile = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("{} is not a witness key file: {e}", path.display()))?;
    if file.format != FORMAT {
        anyhow::bail!(
            "{} has format {:?}, not {FORMAT}",
            path.display(),
            file.format
        );
    }
    let seed = seed_from_hex(&path, "witness key", &file.seed)?;
    WitnessKey::from_seed(&file.name, &seed).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
