//! `quorate-sled-export DIR`: writes every tree of the sled database in
//! DIR to stdout, as quorate's migrations read it.
//!
//! Format `quorate-sled-export/v1`: that line, then for each key of each
//! tree, in order, three length-prefixed fields (u32 big-endian length,
//! then the bytes): the tree's name, the key, the value.
//!
//! sled may write to a database as it opens it (recovery), so the tool
//! opens a copy, made in a temporary directory and removed afterwards:
//! the store it reads stays as it was, to go back to.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const FORMAT: &[u8] = b"quorate-sled-export/v1\n";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir] = args.as_slice() else {
        eprintln!(
            "usage: quorate-sled-export DIR   (DIR: a sled store of an earlier quorate release)"
        );
        return ExitCode::from(2);
    };
    match export(Path::new(dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quorate-sled-export: {e}");
            ExitCode::FAILURE
        }
    }
}

fn export(dir: &Path) -> Result<(), String> {
    if !dir.join("conf").is_file() || !dir.join("db").is_file() {
        return Err(format!(
            "{} holds no sled store (no conf and db files)",
            dir.display()
        ));
    }
    let copy = Scratch::new()?;
    copy_dir(dir, &copy.0).map_err(|e| format!("cannot copy {}: {e}", dir.display()))?;
    let db = sled::open(&copy.0).map_err(|e| format!("cannot open {}: {e}", dir.display()))?;
    let mut out = BufWriter::new(io::stdout().lock());
    let failed = |e: io::Error| format!("cannot write to stdout: {e}");
    out.write_all(FORMAT).map_err(failed)?;
    for name in db.tree_names() {
        let tree = db
            .open_tree(&name)
            .map_err(|e| format!("cannot open a tree: {e}"))?;
        for kv in tree.iter() {
            let (k, v) = kv.map_err(|e| format!("cannot read the store: {e}"))?;
            for field in [&name[..], &k[..], &v[..]] {
                let len =
                    u32::try_from(field.len()).map_err(|_| "a field over 4 GiB".to_string())?;
                out.write_all(&len.to_be_bytes()).map_err(failed)?;
                out.write_all(field).map_err(failed)?;
            }
        }
    }
    out.flush().map_err(failed)
}

/// A temporary directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self, String> {
        let path = std::env::temp_dir().join(format!("quorate-sled-export-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    for item in std::fs::read_dir(from)? {
        let item = item?;
        let target = to.join(item.file_name());
        if item.file_type()?.is_dir() {
            copy_dir(&item.path(), &target)?;
        } else {
            std::fs::copy(item.path(), &target)?;
        }
    }
    Ok(())
}
