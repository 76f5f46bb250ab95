//! The group's public key as consumers' tools read it.

use base64::Engine;

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410).
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The Ed25519 key as PEM SubjectPublicKeyInfo, as `openssl pkeyutl -pubin`
/// reads it.
pub fn ed25519_public_key_pem(key: &[u8; 32]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(ed25519_spki_der(key));
    format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n")
}

/// The Ed25519 key's SubjectPublicKeyInfo DER.
pub fn ed25519_spki_der(key: &[u8; 32]) -> Vec<u8> {
    let mut der = ED25519_SPKI_PREFIX.to_vec();
    der.extend_from_slice(key);
    der
}

/// The Ed25519 key of a PEM SubjectPublicKeyInfo (`-----BEGIN PUBLIC
/// KEY-----`), or `None` if `text` is anything else.
pub fn parse_ed25519_public_key_pem(text: &str) -> Option<[u8; 32]> {
    let body = text
        .trim()
        .strip_prefix("-----BEGIN PUBLIC KEY-----")?
        .strip_suffix("-----END PUBLIC KEY-----")?;
    let b64: String = body.split_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    der.strip_prefix(ED25519_SPKI_PREFIX.as_slice())?
        .try_into()
        .ok()
}

#[cfg(test)]
mod tests;
