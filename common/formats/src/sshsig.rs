//! OpenSSH signatures (`PROTOCOL.sshsig`), checked with `ssh-keygen -Y verify`.
//!
//! The key group signs, as the ceremony's message, the SSHSIG signed data:
//!
//! ```text
//! "SSHSIG" || string(namespace) || string("") || string("sha512") || string(SHA-512(artifact))
//! ```
//!
//! so an artifact of any size is signed through its SHA-512, and the message
//! approvers review is these few bytes ([`parse_signed_data`] reads them
//! back). [`armor`] wraps the resulting Ed25519 signature as the
//! `-----BEGIN SSH SIGNATURE-----` file `ssh-keygen` reads. A `string` is a
//! big-endian `uint32` length, then the bytes (RFC 4251).
//!
//! The signed data is ours to build: the ceremony signs it from the
//! artifact's digest, which the `ssh-key` crate's `SshSig::signed_data`
//! cannot take (it hashes the whole message itself). The signature file and
//! the public key line are the `ssh-key` crate's encodings; this module adds
//! what quorate requires of them (Ed25519, sha512, a checked namespace).

use std::fmt;

use ssh_key::public::{Ed25519PublicKey, KeyData};
use ssh_key::{Algorithm, HashAlg, LineEnding, PublicKey, Signature, SshSig};

mod verify;
pub use verify::verify;

/// The magic preamble of the signed data and of the signature blob.
pub const MAGIC: &[u8; 6] = b"SSHSIG";
/// The signature blob version this module writes.
pub const SIG_VERSION: u32 = 1;
/// The only hash algorithm this module writes and reads.
pub const HASH_ALGORITHM: &str = "sha512";
/// The namespace `ssh-keygen -Y sign` uses for files.
pub const DEFAULT_NAMESPACE: &str = "file";
const KEY_TYPE: &str = "ssh-ed25519";
const BEGIN: &str = "-----BEGIN SSH SIGNATURE-----";
const END: &str = "-----END SSH SIGNATURE-----";
/// `ssh-keygen` wraps the armored base64 at 70 columns (and
/// `SshSig::from_pem` reads only that).
const LINE: usize = 70;
/// Longest namespace accepted: namespaces are short names like `file` or `git`.
pub const MAX_NAMESPACE_BYTES: usize = 128;

/// What is wrong with a namespace, principal or comment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SshsigError {
    #[error("namespace: must not be empty (OpenSSH uses e.g. \"file\" or \"git\")")]
    EmptyNamespace,
    #[error("namespace: longer than {MAX_NAMESPACE_BYTES} bytes")]
    LongNamespace,
    #[error(
        "namespace {0:?}: only printable ASCII without spaces, quotes or commas (it goes into allowed_signers' namespaces=\"...\")"
    )]
    BadNamespace(String),
    #[error(
        "principal {0:?}: must be non-empty, without spaces, control characters, quotes or commas, and not start with '#'"
    )]
    BadPrincipal(String),
    #[error("comment: must be on one line")]
    BadComment,
    #[error("not an Ed25519 SSH signature file (-----BEGIN SSH SIGNATURE-----): {0}")]
    BadSignatureFile(&'static str),
    #[error("cannot encode it in OpenSSH's format: {0}")]
    Encoding(String),
}

/// A checked SSHSIG namespace: non-empty printable ASCII with no space, `"`
/// or `,` (so it fits `namespaces="..."` in an allowed_signers line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace(String);

impl Namespace {
    pub fn new(value: impl Into<String>) -> Result<Self, SshsigError> {
        let value = value.into();
        if value.is_empty() {
            return Err(SshsigError::EmptyNamespace);
        }
        if value.len() > MAX_NAMESPACE_BYTES {
            return Err(SshsigError::LongNamespace);
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b',')
        {
            return Err(SshsigError::BadNamespace(value));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Namespace {
    fn default() -> Self {
        Self(DEFAULT_NAMESPACE.to_string())
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Namespace {
    type Err = SshsigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    // Every string written here is at most a few hundred bytes.
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The exact bytes Ed25519 signs for an SSHSIG signature in `namespace`
/// over an artifact whose SHA-512 is `sha512`.
pub fn signed_data(namespace: &Namespace, sha512: &[u8; 64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(6 + 4 + namespace.0.len() + 4 + 4 + 6 + 4 + 64);
    out.extend_from_slice(MAGIC);
    put_string(&mut out, namespace.0.as_bytes());
    put_string(&mut out, b"");
    put_string(&mut out, HASH_ALGORITHM.as_bytes());
    put_string(&mut out, sha512);
    out
}

/// The namespace and artifact SHA-512 of SSHSIG signed data exactly as
/// [`signed_data`] writes it (empty reserved field, `sha512`, nothing
/// after), or `None` if `bytes` is anything else.
pub fn parse_signed_data(bytes: &[u8]) -> Option<(Namespace, [u8; 64])> {
    let mut rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let namespace = std::str::from_utf8(take_string(&mut rest)?).ok()?;
    let namespace = Namespace::new(namespace).ok()?;
    if !take_string(&mut rest)?.is_empty() || take_string(&mut rest)? != HASH_ALGORITHM.as_bytes() {
        return None;
    }
    let digest: [u8; 64] = take_string(&mut rest)?.try_into().ok()?;
    rest.is_empty().then_some((namespace, digest))
}

/// What an approver is shown for SSHSIG signed data: `SSH signature
/// (namespace X) over an artifact with SHA-512 <hex>`, or `None` if `bytes`
/// is not SSHSIG signed data.
pub fn describe_signed_data(bytes: &[u8]) -> Option<String> {
    let (namespace, digest) = parse_signed_data(bytes)?;
    Some(format!(
        "SSH signature (namespace {namespace}) over an artifact with SHA-512 {}",
        hex::encode(digest)
    ))
}

fn take_string<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, tail) = rest.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
    let (value, tail) = tail.split_at_checked(len)?;
    *rest = tail;
    Some(value)
}

fn key_data(key: &[u8; 32]) -> KeyData {
    KeyData::Ed25519(Ed25519PublicKey(*key))
}

/// The armored SSH signature file (`-----BEGIN SSH SIGNATURE-----`) for an
/// Ed25519 `signature` by `public_key` over [`signed_data`] in `namespace`.
///
/// `ssh-key` checks what the types here already guarantee (a 64-byte
/// Ed25519 signature, a non-empty namespace), so it fails only if the crate
/// changes what it accepts.
pub fn armor(
    public_key: &[u8; 32],
    namespace: &Namespace,
    signature: &[u8; 64],
) -> Result<String, SshsigError> {
    let encoding = |e: ssh_key::Error| SshsigError::Encoding(e.to_string());
    let signature = Signature::new(Algorithm::Ed25519, signature.to_vec()).map_err(encoding)?;
    let sshsig = SshSig::new(
        key_data(public_key),
        namespace.as_str(),
        HashAlg::Sha512,
        signature,
    )
    .map_err(encoding)?;
    // ssh-keygen's 70 columns and LF line ends, and a final LF.
    sshsig.to_pem(LineEnding::LF).map_err(encoding)
}

/// An OpenSSH public key line: `ssh-ed25519 AAAA... comment` (no comment if
/// `comment` is empty).
pub fn public_key_line(key: &[u8; 32], comment: &str) -> Result<String, SshsigError> {
    if comment.contains(['\n', '\r']) {
        return Err(SshsigError::BadComment);
    }
    PublicKey::new(key_data(key), comment)
        .to_openssh()
        .map_err(|e| SshsigError::Encoding(e.to_string()))
}

/// An allowed_signers line (see `ssh-keygen(1)`, ALLOWED SIGNERS) trusting
/// `key` for `principal`, only in `namespace`:
/// `principal namespaces="file" ssh-ed25519 AAAA...`.
pub fn allowed_signers_line(
    principal: &str,
    namespace: &Namespace,
    key: &[u8; 32],
) -> Result<String, SshsigError> {
    let ok = !principal.is_empty()
        && !principal.starts_with('#')
        && !principal
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == ',');
    if !ok {
        return Err(SshsigError::BadPrincipal(principal.to_string()));
    }
    Ok(format!(
        "{principal} namespaces=\"{namespace}\" {}\n",
        public_key_line(key, "")?
    ))
}

/// What an armored SSH signature file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureFile {
    pub public_key: [u8; 32],
    pub namespace: Namespace,
    pub signature: [u8; 64],
}

/// Reads an armored Ed25519 SSH signature as [`armor`] writes it (and
/// `ssh-keygen -Y sign` with an Ed25519 key and sha512).
pub fn parse_armor(text: &str) -> Result<SignatureFile, SshsigError> {
    let bad = SshsigError::BadSignatureFile;
    let body = text
        .trim()
        .strip_prefix(BEGIN)
        .and_then(|t| t.strip_suffix(END))
        .ok_or(bad("no BEGIN/END SSH SIGNATURE lines"))?;
    // OpenSSH reads the base64 however it is wrapped; `SshSig::from_pem`
    // only as ssh-keygen writes it, at 70 columns, so rewrap it so.
    let b64: String = body.split_whitespace().collect();
    let mut pem = format!("{BEGIN}\n");
    for line in b64.as_bytes().chunks(LINE) {
        pem.push_str(std::str::from_utf8(line).map_err(|_| bad("not base64"))?);
        pem.push('\n');
    }
    pem.push_str(END);
    pem.push('\n');
    let sshsig = SshSig::from_pem(&pem).map_err(|e| bad(decode_error(&e)))?;
    // ssh-key 0.6 does not check that a length-prefixed field (the key,
    // the signature) is read to its end: it would read the rest of the file
    // from inside the key field. ssh-keygen refuses such a file; so does a
    // check that the file is the one encoding of what was read.
    if sshsig.to_pem(LineEnding::LF).ok().as_ref() != Some(&pem) {
        return Err(bad("not the canonical encoding of its fields"));
    }
    if sshsig.version() != SIG_VERSION {
        return Err(bad("unknown version"));
    }
    let Some(public_key) = sshsig.public_key().ed25519() else {
        return Err(bad("not an ssh-ed25519 key"));
    };
    let namespace = Namespace::new(sshsig.namespace()).map_err(|_| bad("bad namespace"))?;
    if sshsig.hash_alg() != HashAlg::Sha512 {
        return Err(bad("hash algorithm is not sha512"));
    }
    if sshsig.algorithm() != Algorithm::Ed25519 {
        return Err(bad("not an ssh-ed25519 signature"));
    }
    let signature = <[u8; 64]>::try_from(sshsig.signature_bytes())
        .map_err(|_| bad("the signature is not 64 bytes"))?;
    Ok(SignatureFile {
        public_key: public_key.0,
        namespace,
        signature,
    })
}

/// Why `SshSig::from_pem` refused a file, in the terms of this module.
fn decode_error(e: &ssh_key::Error) -> &'static str {
    match e {
        ssh_key::Error::FormatEncoding => "no SSHSIG magic",
        ssh_key::Error::Version { .. } => "unknown version",
        ssh_key::Error::Namespace => "bad namespace",
        ssh_key::Error::AlgorithmUnknown | ssh_key::Error::AlgorithmUnsupported { .. } => {
            "unknown key, hash or signature algorithm"
        }
        ssh_key::Error::TrailingData { .. } => "trailing data",
        _ => "not base64, or a field is truncated or malformed",
    }
}

/// The key of an OpenSSH `ssh-ed25519 AAAA... [comment]` line, or `None`.
pub fn parse_public_key_line(line: &str) -> Option<[u8; 32]> {
    let mut words = line.split_whitespace();
    if words.next()? != KEY_TYPE {
        return None;
    }
    // `from_openssh` wants single spaces and no leading blanks; the comment
    // is not needed, so it gets just the two words.
    let key = PublicKey::from_openssh(&format!("{KEY_TYPE} {}", words.next()?)).ok()?;
    key.key_data().ed25519().map(|k| k.0)
}

#[cfg(test)]
mod tests;
