//! Signed git tags, checked with `git verify-tag` (`gpg.format=ssh`).
//!
//! An annotated tag object is a few header lines and a message:
//!
//! ```text
//! object <commit id>
//! type commit
//! tag <name>
//! tagger <name> <<email>> <unix time> <+hhmm>
//!
//! <message>
//! ```
//!
//! git signs it in SSH format by appending an armored SSH signature (namespace
//! `git`) over exactly those bytes. The key group signs, as the ceremony's
//! message, the SSHSIG signed data holding the tag object's SHA-512; the tag
//! object itself travels as the ceremony's *context*, which an agent shows
//! only after [`check_context`] confirmed it hashes to that SHA-512.

use sha2::Digest as _;

use super::sshsig::{self, Namespace};

mod verify;
pub use verify::verify;

/// The SSHSIG namespace git signs and verifies tags in.
pub const NAMESPACE: &str = "git";

/// What is wrong with a tag, or with a ceremony's context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitTagError {
    #[error("tag name {0:?}: must be non-empty, without spaces or control characters")]
    BadName(String),
    #[error("object {0:?}: must be a full hex object id (40 or 64 hex digits)")]
    BadObject(String),
    #[error("object type {0:?}: must be commit, tree, blob or tag")]
    BadType(String),
    #[error(
        "tagger {0:?}: must read `Name <email> <unix time> <+hhmm>` on one line (set user.name and user.email, or give --tagger \"Name <email>\")"
    )]
    BadTagger(String),
    #[error("tag message: must not be empty")]
    EmptyMessage,
    #[error(
        "tag message: must not hold a line starting with \"-----BEGIN\" (git would read it as a signature)"
    )]
    SignatureInMessage,
    #[error("not an unsigned annotated tag object: {0}")]
    Malformed(&'static str),
    #[error(
        "the ceremony carries a context, but its message is not SSHSIG signed data; refusing to show or approve it"
    )]
    ContextWithoutDigest,
    #[error(
        "the ceremony's context does not hash to the SHA-512 in the message it signs; refusing to show or approve it"
    )]
    ContextMismatch,
    #[error(
        "the ceremony's context is for namespace git, but the message signs in namespace {0}; refusing to show or approve it"
    )]
    ContextNamespace(String),
}

/// An unsigned annotated tag object, checked field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagObject {
    object: String,
    object_type: String,
    name: String,
    tagger: String,
    message: String,
}

impl TagObject {
    /// A tag named `name` on `object` (of `object_type`), by `tagger`
    /// (`Name <email> <time> <zone>`, as `git var GIT_COMMITTER_IDENT` prints
    /// it). A missing final newline is added to `message`, as git does.
    pub fn new(
        object: &str,
        object_type: &str,
        name: &str,
        tagger: &str,
        message: &str,
    ) -> Result<Self, GitTagError> {
        if !matches!(object.len(), 40 | 64)
            || !object
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(GitTagError::BadObject(object.to_string()));
        }
        if !matches!(object_type, "commit" | "tree" | "blob" | "tag") {
            return Err(GitTagError::BadType(object_type.to_string()));
        }
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(GitTagError::BadName(name.to_string()));
        }
        if !tagger_ok(tagger) {
            return Err(GitTagError::BadTagger(tagger.to_string()));
        }
        if message.trim().is_empty() {
            return Err(GitTagError::EmptyMessage);
        }
        if message.lines().any(|l| l.starts_with("-----BEGIN")) {
            return Err(GitTagError::SignatureInMessage);
        }
        let mut message = message.to_string();
        if !message.ends_with('\n') {
            message.push('\n');
        }
        Ok(Self {
            object: object.to_string(),
            object_type: object_type.to_string(),
            name: name.to_string(),
            tagger: tagger.to_string(),
            message,
        })
    }

    /// Reads back an unsigned tag object as [`TagObject::text`] writes it.
    pub fn parse(bytes: &[u8]) -> Result<Self, GitTagError> {
        let text = std::str::from_utf8(bytes).map_err(|_| GitTagError::Malformed("not UTF-8"))?;
        let (header, message) = text
            .split_once("\n\n")
            .ok_or(GitTagError::Malformed("no blank line before the message"))?;
        let mut lines = header.split('\n');
        let mut field = |key: &'static str| {
            lines
                .next()
                .and_then(|l| l.strip_prefix(key))
                .and_then(|l| l.strip_prefix(' '))
                .ok_or(GitTagError::Malformed(key))
        };
        let (object, object_type, name, tagger) = (
            field("object")?,
            field("type")?,
            field("tag")?,
            field("tagger")?,
        );
        if lines.next().is_some() {
            return Err(GitTagError::Malformed("extra header lines"));
        }
        if !message.ends_with('\n') {
            return Err(GitTagError::Malformed(
                "the message does not end with a newline",
            ));
        }
        Self::new(object, object_type, name, tagger, message)
    }

    /// The tag object's bytes, as `git cat-file tag` prints an unsigned tag.
    pub fn text(&self) -> String {
        format!(
            "object {}\ntype {}\ntag {}\ntagger {}\n\n{}",
            self.object, self.object_type, self.name, self.tagger, self.message
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn object(&self) -> &str {
        &self.object
    }

    pub fn tagger(&self) -> &str {
        &self.tagger
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The ceremony's message: SSHSIG signed data in namespace `git` over
    /// the tag object's SHA-512.
    pub fn signed_data(&self) -> Vec<u8> {
        let digest: [u8; 64] = sha2::Sha512::digest(self.text().as_bytes()).into();
        sshsig::signed_data(&git_namespace(), &digest)
    }

    /// The signed tag object git stores: the tag object, then the armored
    /// SSH signature of its bytes.
    pub fn signed(
        &self,
        public_key: &[u8; 32],
        signature: &[u8; 64],
    ) -> Result<String, sshsig::SshsigError> {
        let mut out = self.text();
        out.push_str(&sshsig::armor(public_key, &git_namespace(), signature)?);
        Ok(out)
    }

    /// What an approver is shown, one line each.
    pub fn describe(&self) -> Vec<String> {
        let mut out = vec![
            format!(
                "git tag {} on {} {}",
                self.name, self.object_type, self.object
            ),
            format!("tagger {}", self.tagger),
        ];
        out.extend(self.message.lines().map(|l| format!("message | {l}")));
        out
    }
}

fn git_namespace() -> Namespace {
    // A fixed, valid namespace.
    Namespace::new(NAMESPACE).unwrap_or_default()
}

/// `Name <email> 1700000000 +0000`: one line, an email in angle brackets,
/// then a time and a zone.
fn tagger_ok(tagger: &str) -> bool {
    if tagger.contains(['\n', '\r', '\0']) {
        return false;
    }
    let Some((who, when)) = tagger.rsplit_once("> ") else {
        return false;
    };
    let Some((_, email)) = who.split_once('<') else {
        return false;
    };
    let mut when = when.split(' ');
    let time_ok = when
        .next()
        .is_some_and(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()));
    let zone_ok = when.next().is_some_and(|z| {
        z.len() == 5
            && matches!(z.as_bytes()[0], b'+' | b'-')
            && z[1..].bytes().all(|b| b.is_ascii_digit())
    });
    !email.contains(['<', '>']) && time_ok && zone_ok && when.next().is_none()
}

/// The agent's check of a ceremony's `context` against the `message` it
/// signs. An empty context is `Ok(None)`; otherwise the message must be
/// SSHSIG signed data in namespace `git` holding the context's SHA-512, and
/// the context a tag object.
pub fn check_context(message: &[u8], context: &[u8]) -> Result<Option<TagObject>, GitTagError> {
    if context.is_empty() {
        return Ok(None);
    }
    let (namespace, digest) =
        sshsig::parse_signed_data(message).ok_or(GitTagError::ContextWithoutDigest)?;
    let actual: [u8; 64] = sha2::Sha512::digest(context).into();
    if actual != digest {
        return Err(GitTagError::ContextMismatch);
    }
    if namespace.as_str() != NAMESPACE {
        return Err(GitTagError::ContextNamespace(namespace.to_string()));
    }
    TagObject::parse(context).map(Some)
}

#[cfg(test)]
mod tests;
