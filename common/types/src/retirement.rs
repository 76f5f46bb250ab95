//! A key group's retirement: a statement the group signs with its own key
//! through an ordinary ceremony (so its quorum agreed), which an operator
//! then records; the coordinator takes no new ceremony of a retired group.
//! The signed bytes are `quorate-retirement/v1\n` and the statement's JSON.

use serde::{Deserialize, Serialize};

use crate::{KeyGroupName, PublicIdentity};

pub const RETIREMENT_CONTEXT: &str = "quorate-retirement/v1\n";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retirement {
    pub key_group: KeyGroupName,
    /// The group key retired, hex.
    pub group_key: String,
    /// The key group that takes over, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successor: Option<KeyGroupName>,
    pub at_unix_ms: i64,
    pub reason: String,
}

impl Retirement {
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::prefixed_json::encode(RETIREMENT_CONTEXT.as_bytes(), self)
    }

    /// Reads a statement only in the form [`Self::to_bytes`] writes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        crate::prefixed_json::decode(RETIREMENT_CONTEXT.as_bytes(), bytes, "a retirement")
    }
}

/// The retirement `statement` states, if it retires `key_group` whose
/// group key is `group_key` (hex) and `signature` is that key's over it.
pub fn check(
    statement: &str,
    signature: &[u8; 64],
    key_group: &KeyGroupName,
    group_key: &str,
) -> Result<Retirement, String> {
    let retirement = Retirement::from_bytes(statement.as_bytes())?;
    if &retirement.key_group != key_group || retirement.group_key != group_key {
        return Err(format!(
            "the statement retires key group {} (key {}), not {key_group} (key {group_key})",
            retirement.key_group, retirement.group_key
        ));
    }
    let key = PublicIdentity::parse(group_key)?;
    if !key.verify(statement.as_bytes(), signature) {
        return Err(format!(
            "the retirement is not signed by key group {key_group}'s key: have the group sign \
             it (quorate sign --key-group {key_group} --message FILE)"
        ));
    }
    Ok(retirement)
}
