//! DSSE envelopes (Dead Simple Signing Envelope) of in-toto Statements v1.
//!
//! The key group signs, as the ceremony's message, the DSSE pre-authentication
//! encoding of the statement:
//!
//! ```text
//! PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
//! ```
//!
//! (`LEN` in ASCII decimal), so approvers see the statement itself and agents
//! read its subjects back out of the message ([`describe_pae`]). The envelope
//! is `{"payload": b64(body), "payloadType": type, "signatures": [{"keyid",
//! "sig"}]}`; the `keyid` quorate writes is [`keyid`] of the group key.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

mod verify;
pub use verify::verify;

/// The payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The statement type this module writes.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The predicate type when a predicate is given without one.
pub const SLSA_PROVENANCE: &str = "https://slsa.dev/provenance/v1";
/// The predicate type of a statement without a predicate: the key group's
/// quorum approved the release of exactly these subjects, nothing more.
pub const RELEASE_APPROVAL: &str = "https://quorate.dev/release-approval/v1";

/// What is wrong with a statement, a PAE or an envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsseError {
    #[error("a statement needs at least one subject (give --artifact FILE)")]
    NoSubjects,
    #[error("subject name {0:?}: must be non-empty, on one line")]
    BadSubjectName(String),
    #[error("subject {0:?} is named twice")]
    DuplicateSubject(String),
    #[error("predicate: must be a JSON object")]
    PredicateNotObject,
    #[error("predicate type {0:?}: must be a non-empty URI on one line")]
    BadPredicateType(String),
    #[error("not a DSSE envelope: {0}")]
    BadEnvelope(String),
    #[error("not an in-toto Statement v1: {0}")]
    BadStatement(String),
}

/// One artifact a statement names: its file name and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub name: String,
    pub sha256: [u8; 32],
}

/// An in-toto Statement v1 as this module reads and writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct InTotoStatement {
    pub subjects: Vec<Subject>,
    pub predicate_type: String,
    /// A JSON object, or `None`.
    pub predicate: Option<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
struct WireStatement {
    #[serde(rename = "_type")]
    statement_type: String,
    subject: Vec<WireSubject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    predicate: Option<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
struct WireSubject {
    name: String,
    digest: std::collections::BTreeMap<String, String>,
}

impl InTotoStatement {
    /// A statement over `subjects`; with a `predicate` (a JSON object) its
    /// type defaults to SLSA provenance v1, without one it is
    /// [`RELEASE_APPROVAL`].
    pub fn new(
        subjects: Vec<Subject>,
        predicate_type: Option<String>,
        predicate: Option<serde_json::Value>,
    ) -> Result<Self, DsseError> {
        if subjects.is_empty() {
            return Err(DsseError::NoSubjects);
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in &subjects {
            if s.name.is_empty() || s.name.contains(['\n', '\r']) {
                return Err(DsseError::BadSubjectName(s.name.clone()));
            }
            if !seen.insert(&s.name) {
                return Err(DsseError::DuplicateSubject(s.name.clone()));
            }
        }
        if predicate.as_ref().is_some_and(|p| !p.is_object()) {
            return Err(DsseError::PredicateNotObject);
        }
        let predicate_type = match (predicate_type, &predicate) {
            (Some(t), _) => t,
            (None, Some(_)) => SLSA_PROVENANCE.to_string(),
            (None, None) => RELEASE_APPROVAL.to_string(),
        };
        if predicate_type.trim().is_empty()
            || predicate_type.contains(char::is_whitespace)
            || !predicate_type.contains(':')
        {
            return Err(DsseError::BadPredicateType(predicate_type));
        }
        Ok(Self {
            subjects,
            predicate_type,
            predicate,
        })
    }

    /// The statement's JSON (the DSSE payload).
    pub fn to_json(&self) -> Vec<u8> {
        let wire = WireStatement {
            statement_type: STATEMENT_TYPE.to_string(),
            subject: self
                .subjects
                .iter()
                .map(|s| WireSubject {
                    name: s.name.clone(),
                    digest: [("sha256".to_string(), hex::encode(s.sha256))].into(),
                })
                .collect(),
            predicate_type: self.predicate_type.clone(),
            predicate: self.predicate.clone(),
        };
        // Serializing plain strings, maps and JSON values cannot fail.
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// Reads a statement's JSON; every subject must have a sha256 digest.
    pub fn parse(json: &[u8]) -> Result<Self, DsseError> {
        let wire: WireStatement =
            serde_json::from_slice(json).map_err(|e| DsseError::BadStatement(e.to_string()))?;
        if wire.statement_type != STATEMENT_TYPE {
            return Err(DsseError::BadStatement(format!(
                "_type is {:?}, not {STATEMENT_TYPE}",
                wire.statement_type
            )));
        }
        let mut subjects = Vec::new();
        for s in wire.subject {
            let sha256 = s
                .digest
                .get("sha256")
                .and_then(|h| hex::decode(h).ok())
                .and_then(|d| <[u8; 32]>::try_from(d).ok())
                .ok_or_else(|| {
                    DsseError::BadStatement(format!("subject {:?} has no sha256 digest", s.name))
                })?;
            subjects.push(Subject {
                name: s.name,
                sha256,
            });
        }
        Self::new(subjects, Some(wire.predicate_type), wire.predicate)
    }
}

/// DSSE's pre-authentication encoding of `payload` of `payload_type`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// The payload type and payload of a PAE exactly as [`pae`] writes it, or
/// `None`.
pub fn parse_pae(bytes: &[u8]) -> Option<(String, Vec<u8>)> {
    let rest = bytes.strip_prefix(b"DSSEv1 ")?;
    let (type_len, rest) = take_len(rest)?;
    let (payload_type, rest) = rest.split_at_checked(type_len)?;
    let rest = rest.strip_prefix(b" ")?;
    let (body_len, body) = take_len(rest)?;
    if body.len() != body_len {
        return None;
    }
    Some((
        String::from_utf8(payload_type.to_vec()).ok()?,
        body.to_vec(),
    ))
}

/// A decimal length without leading zeros, then a space.
fn take_len(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let space = bytes.iter().position(|&b| b == b' ')?;
    let digits = std::str::from_utf8(&bytes[..space]).ok()?;
    if digits.is_empty()
        || (digits.len() > 1 && digits.starts_with('0'))
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some((digits.parse().ok()?, &bytes[space + 1..]))
}

/// What an approver is shown for a PAE of an in-toto statement: the
/// predicate type and one line per subject; `None` if `bytes` is not one.
pub fn describe_pae(bytes: &[u8]) -> Option<Vec<String>> {
    let (payload_type, payload) = parse_pae(bytes)?;
    if payload_type != PAYLOAD_TYPE {
        return None;
    }
    let statement = InTotoStatement::parse(&payload).ok()?;
    let mut out = vec![format!(
        "in-toto statement (DSSE), predicate type {}{}",
        statement.predicate_type,
        if statement.predicate.is_some() {
            " with a predicate (see the message)"
        } else {
            ""
        }
    )];
    out.extend(
        statement
            .subjects
            .iter()
            .map(|s| format!("subject {} sha256 {}", s.name, hex::encode(s.sha256))),
    );
    Some(out)
}

/// The `keyid` quorate writes: lowercase hex SHA-256 of the key's
/// SubjectPublicKeyInfo DER (the bytes of its PEM).
pub fn keyid(public_key: &[u8; 32]) -> String {
    hex::encode(sha2::Sha256::digest(crate::pem::ed25519_spki_der(
        public_key,
    )))
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    #[serde(default)]
    pub keyid: String,
    pub sig: String,
}

/// A DSSE envelope (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub payload: String,
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub signatures: Vec<EnvelopeSignature>,
}

impl Envelope {
    /// The envelope of `pae` (a message [`pae`] wrote) signed by `public_key`.
    pub fn from_pae(
        pae_bytes: &[u8],
        public_key: &[u8; 32],
        signature: &[u8; 64],
    ) -> Result<Self, DsseError> {
        let (payload_type, payload) = parse_pae(pae_bytes)
            .ok_or_else(|| DsseError::BadEnvelope("the message is not a DSSE PAE".into()))?;
        let b64 = base64::engine::general_purpose::STANDARD;
        Ok(Self {
            payload: b64.encode(payload),
            payload_type,
            signatures: vec![EnvelopeSignature {
                keyid: keyid(public_key),
                sig: b64.encode(signature),
            }],
        })
    }

    pub fn parse(json: &[u8]) -> Result<Self, DsseError> {
        let envelope: Self =
            serde_json::from_slice(json).map_err(|e| DsseError::BadEnvelope(e.to_string()))?;
        if envelope.signatures.is_empty() {
            return Err(DsseError::BadEnvelope("it has no signatures".into()));
        }
        Ok(envelope)
    }

    /// The envelope's JSON, pretty-printed, with a final newline.
    pub fn to_json(&self) -> String {
        let mut out = serde_json::to_string_pretty(self).unwrap_or_default();
        out.push('\n');
        out
    }

    /// The decoded payload.
    pub fn payload(&self) -> Result<Vec<u8>, DsseError> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.payload)
            .map_err(|e| DsseError::BadEnvelope(format!("payload is not base64: {e}")))
    }

    /// What the signatures sign: PAE(payloadType, payload).
    pub fn pae(&self) -> Result<Vec<u8>, DsseError> {
        Ok(pae(&self.payload_type, &self.payload()?))
    }
}

#[cfg(test)]
mod tests;
