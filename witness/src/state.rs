//! The latest checkpoint the witness cosigned for each log, one file per
//! origin under `<dir>/logs/`, replaced atomically and synced before the
//! witness replies. Refused requests that may show a log misbehaving are
//! kept under `<dir>/evidence/`.

use std::path::{Path, PathBuf};

use quorate_secrets::keyfile::write_file;
use quorate_tlog::Hash;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const FORMAT: &str = "quorate-witness-latest/v1";

/// The latest checkpoint cosigned for one log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latest {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// When it was cosigned, POSIX seconds.
    pub time: u64,
}

#[derive(Serialize, Deserialize)]
struct LatestFile {
    format: String,
    #[serde(flatten)]
    latest: Latest,
    /// The checkpoint note as cosigned, with the log's signature and ours.
    note: String,
}

/// The witness's state directory.
pub struct State {
    dir: PathBuf,
}

impl State {
    /// Opens (creating if need be) the state under `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        for sub in ["logs", "evidence"] {
            let path = dir.join(sub);
            std::fs::create_dir_all(&path)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
        }
        Ok(State {
            dir: dir.to_owned(),
        })
    }

    fn path(&self, origin: &str) -> PathBuf {
        let name = hex::encode(Sha256::digest(origin.as_bytes()));
        self.dir.join("logs").join(format!("{name}.json"))
    }

    /// The latest checkpoint cosigned for `origin`, if any.
    pub fn latest(&self, origin: &str) -> anyhow::Result<Option<Latest>> {
        let path = self.path(origin);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
        };
        let file: LatestFile = serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("{} is not a witness state file: {e}", path.display()))?;
        if file.format != FORMAT || file.latest.origin != origin {
            anyhow::bail!(
                "{} holds {:?} for origin {:?}, not {FORMAT} for {origin:?}",
                path.display(),
                file.format,
                file.latest.origin
            );
        }
        Ok(Some(file.latest))
    }

    /// The cosigned note last saved for `origin`, if any.
    pub fn latest_note(&self, origin: &str) -> anyhow::Result<Option<String>> {
        let path = self.path(origin);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(serde_json::from_slice::<LatestFile>(&bytes)?.note)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
        }
    }

    /// Makes `latest` the log's latest, durably.
    pub fn save(&self, latest: &Latest, note: &str) -> anyhow::Result<()> {
        let file = LatestFile {
            format: FORMAT.into(),
            latest: latest.clone(),
            note: note.to_owned(),
        };
        let json = serde_json::to_vec_pretty(&file)?;
        write_file(&self.path(&latest.origin), &json, 0o644)?;
        Ok(())
    }

    /// Keeps a refused request that may be evidence against its log.
    pub fn keep_evidence(&self, now: u64, why: &str, body: &[u8]) -> anyhow::Result<PathBuf> {
        let digest = hex::encode(&Sha256::digest(body)[..8]);
        let path = self
            .dir
            .join("evidence")
            .join(format!("{now}-{digest}.txt"));
        let mut text = format!("refused: {why}\n\n").into_bytes();
        text.extend_from_slice(body);
        write_file(&path, &text, 0o644)?;
        Ok(path)
    }
}
