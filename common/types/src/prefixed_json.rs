//! The one encoding of everything quorate signs: a context line naming
//! the kind and version, then the value's JSON as serde writes it (fields
//! in declaration order, no spaces).

use serde::Serialize;
use serde::de::DeserializeOwned;

/// `context` followed by `value`'s JSON.
pub fn encode(context: &[u8], value: &impl Serialize) -> Vec<u8> {
    let mut bytes = context.to_vec();
    // Our signed values are structs of strings and integers: they
    // serialize without fail.
    bytes.extend(serde_json::to_vec(value).unwrap_or_default());
    bytes
}

/// Reads `bytes` only in the form [`encode`] writes, so that each value
/// has one encoding; `what` names the kind in errors ("a hand-over").
pub fn decode<T: Serialize + DeserializeOwned>(
    context: &[u8],
    bytes: &[u8],
    what: &str,
) -> Result<T, String> {
    let body = bytes
        .strip_prefix(context)
        .ok_or_else(|| format!("{what} starts with {:?}", String::from_utf8_lossy(context)))?;
    let value: T = serde_json::from_slice(body).map_err(|e| format!("not {what}: {e}"))?;
    if encode(context, &value) != bytes {
        return Err(format!("{what} is not in its canonical form"));
    }
    Ok(value)
}
