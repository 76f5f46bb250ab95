//! Moving to a new group key with a hand-over consumers can follow, as TUF
//! clients follow root rotations.
//!
//! A [`HandOver`] names the old key group and key, the new key group, key,
//! threshold, roster and policy (by SHA-256), the time and the reason. Its
//! bytes (`quorate-handover/v1\n` and its JSON) are signed by an ordinary
//! ceremony of the old group, under its normal rules (break-glass, with its
//! review, for a compromise), so `openssl pkeyutl -verify` checks it under
//! the old key; and cosigned by a ceremony of the new group. A [`Link`]
//! holds the statement and both signatures.
//!
//! A consumer that trusts the old key follows a link to the new key
//! (`quorate_formats::trust::TrustPolicy::with_hand_overs`): the new key is
//! trusted for what the old one was. A hand-over for a compromise also
//! withdraws trust from the old key: nobody can tell which of its
//! signatures the thief made.

use serde::{Deserialize, Serialize};

use crate::PublicIdentity;

/// Whether `signature` is `key`'s over `message`.
fn ed25519_ok(key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    PublicIdentity::parse(&hex::encode(key)).is_ok_and(|k| k.verify(message, signature))
}

pub const HANDOVER_CONTEXT: &str = "quorate-handover/v1\n";

/// What the old group hands over to the new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandOver {
    pub old_key_group: String,
    /// The old group key, hex.
    #[serde(with = "fixed_hex")]
    pub old_key: [u8; 32],
    pub new_key_group: String,
    #[serde(with = "fixed_hex")]
    pub new_key: [u8; 32],
    pub new_threshold: u16,
    /// SHA-256 of the new group's roster's and policy's JSON, hex.
    pub new_roster_sha256: String,
    pub new_policy_sha256: String,
    pub at_unix_ms: i64,
    /// The old key is (suspected) compromised: stop trusting it.
    pub compromised: bool,
    pub reason: String,
}

impl HandOver {
    /// The bytes both groups sign: the context line and the JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::prefixed_json::encode(HANDOVER_CONTEXT.as_bytes(), self)
    }

    /// Reads the bytes of a statement, only in the form [`Self::to_bytes`]
    /// writes, so that each hand-over has one encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let statement: Self =
            crate::prefixed_json::decode(HANDOVER_CONTEXT.as_bytes(), bytes, "a hand-over")?;
        if statement.old_key == statement.new_key {
            return Err("the hand-over hands a key over to itself".into());
        }
        Ok(statement)
    }
}

/// Whether `message` is a hand-over statement saying that `group_key` is
/// compromised. The group whose key it is signs one only under break-glass,
/// with the review that follows, when its policy has an emergency table
/// (the coordinator and each agent refuse it otherwise); a group without
/// one has only its normal rules. The new group cosigns as usual.
pub fn compromise_of(message: &[u8], group_key: &[u8; 32]) -> bool {
    message.starts_with(HANDOVER_CONTEXT.as_bytes())
        && HandOver::from_bytes(message).is_ok_and(|h| h.compromised && &h.old_key == group_key)
}

/// How a hand-over names the new group's roster and policy: SHA-256 of
/// their JSON, hex.
pub fn digest_of(value: &impl Serialize) -> String {
    hex::encode(crate::sha256(
        &serde_json::to_vec(value).unwrap_or_default(),
    ))
}

/// A hand-over with the old group's signature and the new group's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// The statement's exact bytes (UTF-8 text).
    pub statement: String,
    #[serde(with = "fixed_hex")]
    pub old_signature: [u8; 64],
    #[serde(with = "fixed_hex")]
    pub new_signature: [u8; 64],
}

impl Link {
    /// The hand-over, once both signatures check out.
    pub fn check(&self) -> Result<HandOver, String> {
        let statement = HandOver::from_bytes(self.statement.as_bytes())?;
        let bytes = self.statement.as_bytes();
        if !ed25519_ok(&statement.old_key, bytes, &self.old_signature) {
            return Err(format!(
                "the hand-over from {} to {} is not signed by the old key",
                statement.old_key_group, statement.new_key_group
            ));
        }
        if !ed25519_ok(&statement.new_key, bytes, &self.new_signature) {
            return Err(format!(
                "the hand-over from {} to {} is not cosigned by the new key",
                statement.old_key_group, statement.new_key_group
            ));
        }
        Ok(statement)
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("not a hand-over link: {e}"))
    }
}

/// Where each key ends up along `links`: for every link's old key, the
/// newest key of its chain and the key group that holds it. Links are
/// checked first; a key handed over twice (a fork) is an error.
pub fn newest_keys(links: &[Link]) -> Result<Vec<Newest>, String> {
    let statements = check_all(links)?;
    for (i, h) in statements.iter().enumerate() {
        if let Some(other) = statements[..i].iter().find(|o| o.old_key == h.old_key)
            && other.new_key != h.new_key
        {
            return Err(format!(
                "key group {}'s key is handed over twice, to {} and to {}: a fork, which \
                 nobody can follow",
                h.old_key_group, other.new_key_group, h.new_key_group
            ));
        }
    }
    let next = |key: &[u8; 32]| statements.iter().find(|h| &h.old_key == key);
    let mut out = Vec::new();
    for h in &statements {
        let (mut key, mut group) = (h.new_key, h.new_key_group.clone());
        // A chain longer than the links is a cycle.
        for _ in 0..=statements.len() {
            match next(&key) {
                Some(n) => {
                    key = n.new_key;
                    group = n.new_key_group.clone();
                }
                None => break,
            }
        }
        if next(&key).is_some() {
            return Err("the hand-overs form a cycle".into());
        }
        out.push(Newest {
            from: h.old_key,
            to: key,
            key_group: group,
        });
    }
    Ok(out)
}

/// Where a key's chain of hand-overs ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Newest {
    pub from: [u8; 32],
    pub to: [u8; 32],
    /// The key group holding `to`.
    pub key_group: String,
}

/// Every link's hand-over, once its signatures check out; the error names
/// the link by its place.
pub fn check_all(links: &[Link]) -> Result<Vec<HandOver>, String> {
    links
        .iter()
        .enumerate()
        .map(|(i, link)| {
            link.check()
                .map_err(|e| format!("hand-over {}: {e}", i + 1))
        })
        .collect()
}

/// Fixed-size byte arrays (keys, signatures) as hex.
mod fixed_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<const N: usize, S: Serializer>(
        bytes: &[u8; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, const N: usize, D: Deserializer<'de>>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let bytes = hex::decode(String::deserialize(d)?).map_err(serde::de::Error::custom)?;
        bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom(format!("expected {N} bytes")))
    }
}
