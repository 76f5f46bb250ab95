//! The consumer's verification gate, without I/O: a trust policy naming key
//! groups' public keys and what each may sign, and one check per signature
//! format that walks the same steps and stops at the first that fails:
//!
//! 1. [`Check::Present`]: there is a signature (the caller reads the files);
//! 2. [`Check::Valid`]: it is well formed (and, where the format lets us tell
//!    it apart from step 4, it verifies);
//! 3. [`Check::Trusted`]: it is by a key group of the policy that may sign
//!    this format, name and namespace;
//! 4. [`Check::Matches`]: what it signs matches the artifact (its digest, or
//!    the tag it is stored as).
//!
//! Each format's check lives beside the format: [`crate::raw::verify`],
//! [`crate::sshsig::verify`], [`crate::dsse::verify`],
//! [`crate::minisign::verify`], [`crate::git_tag::verify`]. This module holds
//! the policy and what those checks share.
//!
//! A trust policy (TOML):
//!
//! ```toml
//! [[key_group]]
//! name = "release"
//! public_key = "ssh-ed25519 AAAA..."     # or a PEM "-----BEGIN PUBLIC KEY-----" block, or a minisign public key
//! formats = ["raw", "sshsig", "dsse", "git-tag", "minisign"]
//! artifacts = ["app-*.tar.gz", "v*"]     # file names, statement subjects and tag names (`*`, `?`); default any
//! namespaces = ["file"]                  # SSHSIG namespaces for sshsig; default ["file"]
//! ```

use std::fmt;

use serde::Deserialize;

use crate::minisign;
use crate::sshsig::{self, Namespace};

/// The signature formats the gate checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Dsse,
    GitTag,
    Minisign,
    Raw,
    Sshsig,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Self::Dsse => "dsse",
            Self::GitTag => "git-tag",
            Self::Minisign => "minisign",
            Self::Raw => "raw",
            Self::Sshsig => "sshsig",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "dsse" => Self::Dsse,
            "git-tag" => Self::GitTag,
            "minisign" => Self::Minisign,
            "raw" => Self::Raw,
            "sshsig" => Self::Sshsig,
            _ => {
                return Err(format!(
                    "unknown format {s:?}; use raw, sshsig, dsse, git-tag or minisign"
                ));
            }
        })
    }
}

/// The steps of the gate, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Present,
    Valid,
    Trusted,
    Matches,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Present => "signature present",
            Self::Valid => "signature valid",
            Self::Trusted => "signed by a trusted key group",
            Self::Matches => "artifact matches what was signed",
        })
    }
}

/// The first check that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub check: Check,
    pub reason: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "check \"{}\" failed: {}", self.check, self.reason)
    }
}

pub(crate) fn fail<T>(check: Check, reason: impl Into<String>) -> Result<T, Failure> {
    Err(Failure {
        check,
        reason: reason.into(),
    })
}

/// Every check passed: signed by this key group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub key_group: String,
}

/// One key group a consumer trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedGroup {
    pub name: String,
    pub key: [u8; 32],
    pub formats: Vec<Format>,
    pub artifacts: Vec<String>,
    pub namespaces: Vec<String>,
}

/// The key groups a consumer trusts, and for what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    pub groups: Vec<TrustedGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WirePolicy {
    #[serde(default)]
    key_group: Vec<WireGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireGroup {
    name: String,
    public_key: String,
    formats: Vec<String>,
    #[serde(default)]
    artifacts: Option<Vec<String>>,
    #[serde(default)]
    namespaces: Option<Vec<String>>,
}

impl TrustPolicy {
    /// Reads a trust policy; the error names the key group and field.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let wire: WirePolicy = toml::from_str(text).map_err(|e| e.to_string())?;
        if wire.key_group.is_empty() {
            return Err("no [[key_group]]: name at least one key group to trust".into());
        }
        let mut groups = Vec::new();
        for g in wire.key_group {
            let key = sshsig::parse_public_key_line(&g.public_key)
                .or_else(|| crate::pem::parse_ed25519_public_key_pem(&g.public_key))
                .map(Ok)
                .or_else(|| quorate_minisign_key(&g.public_key))
                .ok_or_else(|| {
                    format!(
                        "key group {:?}: public_key must be an `ssh-ed25519 AAAA...` line, a PEM Ed25519 public key or a minisign public key (`quorate pubkey --format ssh`, `--format pem` or `--format minisign` prints it)",
                        g.name
                    )
                })?
                .map_err(|why| format!("key group {:?}: public_key: {why}", g.name))?;
            if g.formats.is_empty() {
                return Err(format!(
                    "key group {:?}: formats is empty; list what it may sign (raw, sshsig, dsse, git-tag, minisign)",
                    g.name
                ));
            }
            let formats = g
                .formats
                .iter()
                .map(|f| f.parse())
                .collect::<Result<Vec<Format>, _>>()
                .map_err(|e| format!("key group {:?}: formats: {e}", g.name))?;
            let namespaces = g
                .namespaces
                .unwrap_or_else(|| vec![sshsig::DEFAULT_NAMESPACE.to_string()]);
            for ns in &namespaces {
                Namespace::new(ns.as_str())
                    .map_err(|e| format!("key group {:?}: namespaces: {e}", g.name))?;
            }
            groups.push(TrustedGroup {
                name: g.name,
                key,
                formats,
                artifacts: g.artifacts.unwrap_or_else(|| vec!["*".into()]),
                namespaces,
            });
        }
        Ok(Self { groups })
    }

    /// The policy extended along hand-overs ([`crate::handover`]): each
    /// link whose old key the policy trusts (directly or through an
    /// earlier link) makes its new key trusted for what the old one was,
    /// under the name `<name> -> <new key group>`; a link for a compromise
    /// also withdraws trust from the old key. Links whose old key is not
    /// trusted are left aside: they are not in the chain. A link whose
    /// signatures do not check out is an error naming it.
    pub fn with_hand_overs(&self, links: &[crate::handover::Link]) -> Result<Self, String> {
        let statements = crate::handover::check_all(links)?;
        let mut groups = self.groups.clone();
        let mut withdrawn: Vec<[u8; 32]> = Vec::new();
        let mut followed = vec![false; statements.len()];
        // Follow until nothing changes: links may come in any order.
        loop {
            let mut changed = false;
            for (i, h) in statements.iter().enumerate() {
                if followed[i] {
                    continue;
                }
                let from: Vec<TrustedGroup> = groups
                    .iter()
                    .filter(|g| g.key == h.old_key)
                    .cloned()
                    .collect();
                if from.is_empty() {
                    continue;
                }
                followed[i] = true;
                changed = true;
                for g in from {
                    if !groups
                        .iter()
                        .any(|t| t.key == h.new_key && t.formats == g.formats)
                    {
                        groups.push(TrustedGroup {
                            name: format!("{} -> {}", g.name, h.new_key_group),
                            key: h.new_key,
                            ..g
                        });
                    }
                }
                if h.compromised {
                    withdrawn.push(h.old_key);
                }
            }
            if !changed {
                break;
            }
        }
        groups.retain(|g| !withdrawn.contains(&g.key));
        Ok(Self { groups })
    }

    /// The policy file `text` with each key group's `public_key` moved to
    /// the newest key its hand-overs lead to (an OpenSSH line naming the
    /// new key group), and what moved: `(name, new key group)`. Comments
    /// are not kept.
    pub fn update_toml(
        text: &str,
        links: &[crate::handover::Link],
    ) -> Result<(String, Vec<(String, String)>), String> {
        // Checked as a policy first, so every key parses.
        let policy = Self::from_toml(text)?;
        let newest = crate::handover::newest_keys(links)?;
        let mut doc: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut moved = Vec::new();
        if let Some(toml::Value::Array(groups)) = doc.get_mut("key_group") {
            for (group, trusted) in groups.iter_mut().zip(&policy.groups) {
                let Some(n) = newest.iter().find(|n| n.from == trusted.key) else {
                    continue;
                };
                let line =
                    sshsig::public_key_line(&n.to, &n.key_group).map_err(|e| e.to_string())?;
                if let toml::Value::Table(table) = group {
                    table.insert("public_key".into(), toml::Value::String(line));
                    moved.push((trusted.name.clone(), n.key_group.clone()));
                }
            }
        }
        let text = toml::to_string(&doc).map_err(|e| e.to_string())?;
        Ok((text, moved))
    }

    /// The groups holding `key`, or a "trusted" failure naming it.
    pub(crate) fn by_key(&self, key: &[u8; 32]) -> Result<Vec<&TrustedGroup>, Failure> {
        let groups: Vec<_> = self.groups.iter().filter(|g| &g.key == key).collect();
        if groups.is_empty() {
            return fail(Check::Trusted, unknown_key(key));
        }
        Ok(groups)
    }
}

impl TrustedGroup {
    /// May this group sign `name` in `format`?
    pub(crate) fn allows(&self, format: Format, names: &[&str]) -> Result<(), Failure> {
        if !self.formats.contains(&format) {
            return fail(
                Check::Trusted,
                format!(
                    "key group {} is trusted only for {}, not {}",
                    self.name,
                    self.formats
                        .iter()
                        .map(|f| f.name())
                        .collect::<Vec<_>>()
                        .join(", "),
                    format.name()
                ),
            );
        }
        for name in names {
            if !self.artifacts.iter().any(|p| glob(p, name)) {
                return fail(
                    Check::Trusted,
                    format!(
                        "key group {} may not sign {name:?} (it may sign {})",
                        self.name,
                        self.artifacts.join(", ")
                    ),
                );
            }
        }
        Ok(())
    }
}

/// The first of `candidates` (groups with the signing key) that `allows`
/// this signature, or why the first one does not.
pub(crate) fn pick<'a>(
    candidates: &[&'a TrustedGroup],
    allows: impl Fn(&TrustedGroup) -> Result<(), Failure>,
) -> Result<&'a TrustedGroup, Failure> {
    let mut first = None;
    for g in candidates {
        match allows(g) {
            Ok(()) => return Ok(g),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    Err(first.unwrap_or_else(|| Failure {
        check: Check::Trusted,
        reason: "no key group of the trust policy has the signing key".into(),
    }))
}

/// `*` matches any run of characters, `?` any one character.
pub fn glob(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

pub(crate) fn ed25519_ok(key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(key)
        .and_then(|k| k.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature)))
        .is_ok()
}

/// The signature verifies, but not over the artifact `name` as it is.
pub(crate) fn altered_artifact<T>(name: &str) -> Result<T, Failure> {
    fail(
        Check::Matches,
        format!(
            "the signature is not over {name} as it is now (the artifact or the signature was altered)"
        ),
    )
}

pub(crate) fn unknown_key(key: &[u8; 32]) -> String {
    let line = sshsig::public_key_line(key, "").unwrap_or_default();
    format!("signed by {line}, which no key group of the trust policy has")
}

/// The group key of a minisign public key (a key file's text or its base64
/// line), if `text` is one; an error if its key id is not the one quorate
/// derives from the key, as every signature of that key group names.
fn quorate_minisign_key(text: &str) -> Option<Result<[u8; 32], String>> {
    let key = minisign::PublicKey::parse(text).ok()?;
    let derived = minisign::key_id(&key.key);
    Some(if key.key_id == derived {
        Ok(key.key)
    } else {
        Err(format!(
            "a minisign key with key id {}, but a quorate key group's key has key id {} (`quorate pubkey --format minisign` writes it)",
            minisign::key_id_hex(&key.key_id),
            minisign::key_id_hex(&derived)
        ))
    })
}

#[cfg(test)]
mod tests;
