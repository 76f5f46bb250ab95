//! Reading stores of earlier releases, which kept their state in sled.
//!
//! sled is not a dependency of quorate: `quorate-sled-export`
//! (`tools/sled-export`, built apart) reads a sled database and writes
//! its trees to stdout; [`export`] runs it and [`parse`] reads what it
//! wrote (format `quorate-sled-export/v1`, described in that tool).

use std::path::{Path, PathBuf};
use std::process::Command;

const FORMAT: &[u8] = b"quorate-sled-export/v1\n";
/// The exporter's name, and the environment variable that may name its path.
pub const EXPORTER: &str = "quorate-sled-export";
pub const EXPORTER_ENV: &str = "QUORATE_SLED_EXPORT";

/// Whether `dir` holds a sled database, as earlier releases wrote.
pub fn is_sled_store(dir: &Path) -> bool {
    dir.join("conf").is_file() && dir.join("db").is_file()
}

/// One key of one tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub tree: Vec<u8>,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "reading a sled store needs {EXPORTER}, built apart so that sled stays out of quorate, \
         and none was found ({0}): build it with `cargo install --locked --path \
         tools/sled-export` from quorate's source, then run this again, or name it with \
         --exporter PATH or {EXPORTER_ENV}"
    )]
    NotFound(String),
    #[error("{EXPORTER} failed on {dir}: {why}")]
    Failed { dir: String, why: String },
    #[error("what {EXPORTER} wrote does not read: {0}")]
    Malformed(String),
}

/// Every key of every tree of the sled store in `dir`, read by the
/// exporter at `exporter`, or else the one [`EXPORTER_ENV`] names, or else
/// one beside this program, or else one on the `PATH`.
pub fn export(dir: &Path, exporter: Option<&Path>) -> Result<Vec<Record>, ExportError> {
    let program = find(exporter)?;
    let out = Command::new(&program)
        .arg(dir)
        .output()
        .map_err(|e| ExportError::NotFound(format!("{}: {e}", program.display())))?;
    if !out.status.success() {
        return Err(ExportError::Failed {
            dir: dir.display().to_string(),
            why: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    parse(&out.stdout)
}

fn find(exporter: Option<&Path>) -> Result<PathBuf, ExportError> {
    if let Some(path) = exporter {
        return Ok(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os(EXPORTER_ENV) {
        return Ok(PathBuf::from(path));
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(EXPORTER)));
    if let Some(path) = beside.filter(|p| p.is_file()) {
        return Ok(path);
    }
    Ok(PathBuf::from(EXPORTER))
}

/// Reads the exporter's output.
pub fn parse(bytes: &[u8]) -> Result<Vec<Record>, ExportError> {
    let mut rest = bytes
        .strip_prefix(FORMAT)
        .ok_or_else(|| ExportError::Malformed("it does not start with the format line".into()))?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let tree = field(&mut rest)?;
        let key = field(&mut rest)?;
        let value = field(&mut rest)?;
        out.push(Record { tree, key, value });
    }
    Ok(out)
}

fn field(rest: &mut &[u8]) -> Result<Vec<u8>, ExportError> {
    let cut = || ExportError::Malformed("it ends inside a record".into());
    let (len, tail) = rest.split_first_chunk::<4>().ok_or_else(cut)?;
    let len = u32::from_be_bytes(*len) as usize;
    if tail.len() < len {
        return Err(cut());
    }
    let (field, tail) = tail.split_at(len);
    *rest = tail;
    Ok(field.to_vec())
}

#[cfg(test)]
mod tests;
