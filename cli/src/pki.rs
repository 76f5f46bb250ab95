//! A throwaway certificate authority for local deployments: one CA, a
//! server certificate for loopback, and a client certificate per identity
//! (its common name is the identity). Real deployments bring their own CA.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use quorate_secrets::keyfile::write_file;
use quorate_wire::tls::TlsFiles;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use zeroize::Zeroizing;

pub struct LocalPki {
    dir: PathBuf,
    ca: CertifiedIssuer<'static, KeyPair>,
}

/// The coordinator's files.
pub struct ServerFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: PathBuf,
}

impl LocalPki {
    /// Makes a CA whose certificate is `dir/ca.crt`; its key stays in memory.
    pub fn create(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "quorate local CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        write_file(&dir.join("ca.crt"), ca.pem().as_bytes(), 0o644)?;
        Ok(Self {
            dir: dir.to_owned(),
            ca,
        })
    }

    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// A certificate for the coordinator on loopback.
    pub fn server(&self) -> anyhow::Result<ServerFiles> {
        let (cert, key) = self.issue_files(
            "coordinator",
            vec!["localhost".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        Ok(ServerFiles {
            cert,
            key,
            client_ca: self.ca_cert(),
        })
    }

    /// A server certificate named `name` for `localhost` and 127.0.0.1
    /// (an agent's page over HTTPS, say).
    pub fn server_named(&self, name: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
        self.issue_files(
            name,
            vec!["localhost".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    /// A client certificate whose common name is `identity`.
    pub fn client(&self, identity: &str) -> anyhow::Result<TlsFiles> {
        let (cert, key) =
            self.issue_files(identity, Vec::new(), ExtendedKeyUsagePurpose::ClientAuth)?;
        Ok(TlsFiles {
            ca: self.ca_cert(),
            cert,
            key,
        })
    }

    fn issue_files(
        &self,
        name: &str,
        dns: Vec<String>,
        usage: ExtendedKeyUsagePurpose,
    ) -> anyhow::Result<(PathBuf, PathBuf)> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(dns)?;
        if usage == ExtendedKeyUsagePurpose::ServerAuth {
            params
                .subject_alt_names
                .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        }
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &self.ca)?;
        let cert_path = self.dir.join(format!("{name}.crt"));
        let key_path = self.dir.join(format!("{name}.key"));
        write_file(&cert_path, cert.pem().as_bytes(), 0o644)?;
        let pem = Zeroizing::new(key.serialize_pem());
        write_file(&key_path, pem.as_bytes(), 0o600)?;
        Ok((cert_path, key_path))
    }
}
