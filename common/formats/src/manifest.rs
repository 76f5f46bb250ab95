//! Reading what a message names, so an agent can show its approver the
//! artifacts without trusting anyone's summary of them.

/// The artifact names of a `sha256sum`-style manifest (`<64 hex>  <name>`
/// per line), or `None` if the message is not one.
pub fn sha256sums_artifacts(message: &[u8]) -> Option<Vec<String>> {
    let text = std::str::from_utf8(message).ok()?;
    let mut names = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (digest, rest) = line.split_at_checked(64)?;
        if !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let name = rest
            .strip_prefix("  ")
            .or_else(|| rest.strip_prefix(" *"))?;
        names.push(name.to_string());
    }
    (!names.is_empty()).then_some(names)
}

/// A `sha256sum` line for `name` with contents `bytes`.
pub fn sha256sums_line(name: &str, bytes: &[u8]) -> String {
    format!("{}  {name}\n", hex::encode(quorate_types::sha256(bytes)))
}

/// The artifacts a message names: the file names of a SHA256SUMS manifest,
/// else the ceremony's label.
pub fn sha256s_or_label(message: &[u8], label: &str) -> Vec<String> {
    sha256sums_artifacts(message).unwrap_or_else(|| vec![label.to_string()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sha256sums() {
        let m = format!(
            "{}{}",
            sha256sums_line("a.tar.gz", b"a"),
            sha256sums_line("b.zip", b"b")
        );
        assert_eq!(
            sha256sums_artifacts(m.as_bytes()).unwrap(),
            ["a.tar.gz", "b.zip"]
        );
        assert_eq!(sha256sums_artifacts(b"hello world"), None);
        assert_eq!(sha256sums_artifacts(&[0xff, 0xfe]), None);
    }
}
