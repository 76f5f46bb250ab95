//! A replica's name in the sequencing lease. Names must be unique (two
//! processes under one name would share its lease), so by default each
//! replica makes one at its first start and keeps it in its `data_dir`,
//! which only one process at a time can hold (the mirror's lock).

use std::path::Path;

use rand_core::{OsRng, RngCore};

/// The file in `data_dir` that keeps a replica's name.
pub const FILE_NAME: &str = "replica-name";

/// The replica's name: `configured`, else the one kept in `dir`, else a
/// new one (`replica-` and 16 random hex digits), kept there.
pub fn replica_name(dir: &Path, configured: Option<&str>) -> anyhow::Result<String> {
    if let Some(name) = configured {
        return check(name).map(|()| name.to_string());
    }
    let path = dir.join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let name = text.trim();
            check(name).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Ok(name.to_string())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 8];
            OsRng.fill_bytes(&mut bytes);
            let name = format!("replica-{}", hex::encode(bytes));
            std::fs::create_dir_all(dir)
                .and_then(|()| std::fs::write(&path, format!("{name}\n")))
                .map_err(|e| {
                    anyhow::anyhow!("cannot keep the replica's name in {}: {e}", path.display())
                })?;
            Ok(name)
        }
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

/// 1 to 64 letters, digits, `.`, `_` or `-`.
fn check(name: &str) -> anyhow::Result<()> {
    let fine = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if fine {
        Ok(())
    } else {
        anyhow::bail!("replica name {name:?} is not 1 to 64 letters, digits, '.', '_' or '-'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_made_once_and_kept() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let first = replica_name(dir.path(), None)?;
        assert!(
            first.starts_with("replica-") && first.len() == 24,
            "{first}"
        );
        assert_eq!(replica_name(dir.path(), None)?, first);
        let other = tempfile::tempdir()?;
        assert_ne!(replica_name(other.path(), None)?, first);
        assert_eq!(replica_name(dir.path(), Some("east-1"))?, "east-1");
        Ok(())
    }

    #[test]
    fn a_bad_name_is_refused_with_what_a_name_may_hold() {
        for bad in ["", "a b", "é", &"x".repeat(65)] {
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
            let e = replica_name(dir.path(), Some(bad))
                .err()
                .map(|e| e.to_string());
            assert!(
                e.as_deref().is_some_and(|e| e.contains("1 to 64 letters")),
                "{bad:?}: {e:?}"
            );
        }
    }
}
