//! The signature formats `quorate sign`, `signature` and `pubkey` write: the
//! raw 64-byte Ed25519 signature, OpenSSH's SSHSIG (`ssh-keygen -Y verify`)
//! over an artifact of any size, signed git tags (`git verify-tag`), DSSE
//! envelopes of in-toto statements and minisign signature files
//! (`minisign -V`).

pub mod dsse;
pub mod git_tag;
pub mod minisign;

use quorate_types::limits::MAX_LABEL_BYTES;
use std::io::Read;
use std::path::Path;

use clap::ValueEnum;
use quorate_formats::signature_file::{self, FileError};
use quorate_formats::sshsig::{self, Namespace};
use quorate_wire as proto;

use crate::client::{Clients, status_error};

/// What `quorate sign` and `quorate signature` write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignatureFormat {
    /// The raw 64-byte Ed25519 signature over the message (`--message`).
    Raw,
    /// An OpenSSH signature file over an artifact (`--artifact`), for
    /// `ssh-keygen -Y verify`.
    Sshsig,
    /// A signed annotated git tag (`--git-tag NAME --repo PATH`), for
    /// `git verify-tag`.
    GitTag,
    /// A DSSE envelope of an in-toto statement naming the artifacts
    /// (`--artifact`, repeatable).
    Dsse,
    /// A minisign signature file (prehashed, with a trusted comment) over
    /// an artifact (`--artifact`), for `minisign -V`.
    Minisign,
}

/// What `quorate pubkey` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PubkeyFormat {
    /// PEM SubjectPublicKeyInfo, for openssl.
    Pem,
    /// An OpenSSH `ssh-ed25519 AAAA...` line.
    Ssh,
    /// A minisign public key file, for `minisign -V -p`.
    Minisign,
}

/// SHA-512 of the file at `path`, read in chunks (any size).
pub fn sha512_file(path: &Path) -> anyhow::Result<[u8; 64]> {
    Ok(digest_file::<sha2::Sha512>(path)?.into())
}

/// The digest `D` of the file at `path`, read in chunks (any size).
pub fn digest_file<D: sha2::Digest>(path: &Path) -> anyhow::Result<sha2::digest::Output<D>> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let mut hasher = D::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
        };
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize())
}

/// The ceremony's message and label for an SSHSIG signature over
/// `artifact`: the SSHSIG signed data holding the artifact's SHA-512, and
/// `sshsig:<namespace>:<file name>` (cut to the coordinator's 256 bytes).
pub fn sshsig_request(artifact: &Path, namespace: &Namespace) -> anyhow::Result<(Vec<u8>, String)> {
    let digest = sha512_file(artifact)?;
    let name = artifact
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut label = format!("sshsig:{namespace}:{name}");
    truncate_label(&mut label);
    Ok((sshsig::signed_data(namespace, &digest), label))
}

/// Cuts a label to the longest a request takes.
pub fn truncate_label(label: &mut String) {
    if label.len() > MAX_LABEL_BYTES {
        let mut end = MAX_LABEL_BYTES;
        while !label.is_char_boundary(end) {
            end -= 1;
        }
        label.truncate(end);
    }
}

/// The file name of `path`, for labels and statement subjects.
pub fn file_name(path: &Path) -> anyhow::Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| anyhow::anyhow!("{}: not a file name", path.display()))
}

/// The key group's 32-byte Ed25519 public key, from the coordinator.
pub async fn group_key(clients: &mut Clients, key_group: &str) -> anyhow::Result<[u8; 32]> {
    let group = clients
        .key_groups
        .get(proto::GetKeyGroupRequest {
            name: key_group.to_string(),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let package = frost_ed25519::keys::PublicKeyPackage::deserialize(&group.public_key_package)
        .map_err(|e| anyhow::anyhow!("key group {key_group}: bad public key package: {e}"))?;
    package
        .verifying_key()
        .serialize()
        .map_err(|e| anyhow::anyhow!("key group {key_group}: bad group key: {e}"))?
        .try_into()
        .map_err(|_| anyhow::anyhow!("key group {key_group}: group key is not 32 bytes"))
}

/// Says which ceremony a signature file could not be written for.
pub fn of_ceremony(s: &proto::CeremonyStatus) -> impl Fn(FileError) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("ceremony {} (key group {}): {e}", s.id, s.key_group)
}

/// The armored SSH signature of a signed ceremony whose message is SSHSIG
/// signed data, after checking the signature under `key`.
pub fn sshsig_armor(s: &proto::CeremonyStatus, key: &[u8; 32]) -> anyhow::Result<String> {
    signature_file::sshsig(&s.message, &s.signature, key).map_err(of_ceremony(s))
}

/// A signed ceremony's 64-byte signature, after checking it over the
/// ceremony's message under the group `key`.
pub fn checked_signature(s: &proto::CeremonyStatus, key: &[u8; 32]) -> anyhow::Result<[u8; 64]> {
    signature_file::checked(&s.message, &s.signature, key).map_err(of_ceremony(s))
}

/// Writes `contents` to `path`, saying which file could not be written.
pub fn write(path: &Path, contents: impl AsRef<[u8]>) -> anyhow::Result<()> {
    std::fs::write(path, contents)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}
