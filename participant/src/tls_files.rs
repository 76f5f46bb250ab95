//! The agent's own checks of its TLS files before it connects: its client
//! certificate must name this agent's roster id (the coordinator takes the
//! caller from it, so a certificate for someone else would act as them),
//! and its private key must be readable by its owner only.

use std::path::Path;

use quorate_types::ParticipantId;
use quorate_wire::tls::TlsFiles;

/// Checks `tls` for the agent `id`.
pub fn check(tls: &TlsFiles, id: &ParticipantId) -> anyhow::Result<()> {
    check_private(&tls.key)?;
    let named = common_name(&tls.cert)?;
    if named != id.as_str() {
        anyhow::bail!(
            "{} is a certificate for {named:?}, but this agent is {id}: the coordinator would \
             take every call for {named:?}'s; use the certificate the CA issued for {id}",
            tls.cert.display()
        );
    }
    Ok(())
}

/// The common name of the first certificate in the PEM file at `path`.
fn common_name(path: &Path) -> anyhow::Result<String> {
    let pem = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("cannot read the TLS certificate {}: {e}", path.display()))?;
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem)
        .map_err(|e| anyhow::anyhow!("{} is not a PEM certificate: {e}", path.display()))?;
    let cert = pem
        .parse_x509()
        .map_err(|e| anyhow::anyhow!("{} is not an X.509 certificate: {e}", path.display()))?;
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("{} has no common name", path.display()))
}

/// Refuses a key file that its group or others may read or write.
fn check_private(path: &Path) -> anyhow::Result<()> {
    let metadata = std::fs::metadata(path)
        .map_err(|e| anyhow::anyhow!("cannot read the TLS key {}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            anyhow::bail!(
                "the TLS key {} may be read by others (mode {mode:o}): `chmod 600` it",
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = metadata;
    Ok(())
}
