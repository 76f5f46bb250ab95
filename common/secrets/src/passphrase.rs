//! The passphrase that seals a participant's secret files (see
//! [`crate::sealed`]), and where a program gets it: a file descriptor
//! (`--passphrase-fd N`), the `QUORATE_PASSPHRASE` environment variable, or
//! a prompt on the terminal. Never a command-line argument, which other
//! users see in `ps`. In-process callers hand one over directly with
//! [`Passphrase::new`].
//!
//! A [`Passphrase`] is zeroized when dropped, and its `Debug` prints no
//! part of it; it has no `Display`.

use std::fmt;
use std::io::Read;

use zeroize::Zeroizing;

/// The environment variable a passphrase may come from.
pub const PASSPHRASE_ENV: &str = "QUORATE_PASSPHRASE";

/// Longest passphrase read from a file descriptor, in bytes.
const MAX_LEN: usize = 4096;

/// A passphrase, zeroized on drop.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    pub fn new(text: Zeroizing<String>) -> Self {
        Self(text)
    }

    /// A fresh passphrase of 256 random bits (64 hex digits), for secrets
    /// that no person types (the local deployment's agents).
    pub fn random() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, bytes.as_mut());
        Self(Zeroizing::new(hex::encode(bytes.as_ref())))
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Zeroizing<String>> for Passphrase {
    fn from(text: Zeroizing<String>) -> Self {
        Self(text)
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// Why no passphrase could be had. Never holds any part of one.
#[derive(Debug, thiserror::Error)]
pub enum PassphraseError {
    #[error("cannot read the passphrase from file descriptor {fd}: {source}")]
    Fd { fd: u32, source: std::io::Error },
    #[error("{0}")]
    Invalid(String),
    #[error(
        "no passphrase: pass --passphrase-fd N, set {PASSPHRASE_ENV}, or run on a terminal to be asked ({0})"
    )]
    NoTerminal(std::io::Error),
    #[error("the two passphrases differ; try again")]
    Mismatch,
}

/// The agent's passphrase: from file descriptor `fd` if given, else from
/// `QUORATE_PASSPHRASE` if set, else asked on the terminal with `prompt`.
pub fn obtain(fd: Option<u32>, prompt: &str) -> Result<Passphrase, PassphraseError> {
    if let Some(fd) = fd {
        return from_fd(fd);
    }
    if let Some(passphrase) = from_env()? {
        return Ok(passphrase);
    }
    ask(prompt)
}

/// `QUORATE_PASSPHRASE`, if it is set.
pub fn from_env() -> Result<Option<Passphrase>, PassphraseError> {
    match std::env::var(PASSPHRASE_ENV) {
        Ok(text) => nonempty(Zeroizing::new(text), PASSPHRASE_ENV).map(Some),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(PassphraseError::Invalid(format!(
            "{PASSPHRASE_ENV} is not UTF-8"
        ))),
    }
}

/// The first line read from file descriptor `fd` (without its line end).
pub fn from_fd(fd: u32) -> Result<Passphrase, PassphraseError> {
    let err = |source| PassphraseError::Fd { fd, source };
    let mut file = std::fs::File::open(format!("/dev/fd/{fd}")).map_err(err)?;
    let mut buf = Zeroizing::new([0u8; MAX_LEN + 1]);
    let mut len = 0;
    while len < buf.len() && !buf[..len].contains(&b'\n') {
        match file.read(&mut buf[len..]).map_err(err)? {
            0 => break,
            n => len += n,
        }
    }
    let line = buf[..len].split(|&b| b == b'\n').next().unwrap_or_default();
    if line.len() > MAX_LEN {
        return Err(PassphraseError::Invalid(format!(
            "the passphrase on file descriptor {fd} is longer than {MAX_LEN} bytes"
        )));
    }
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line).map_err(|_| {
        PassphraseError::Invalid(format!(
            "the passphrase on file descriptor {fd} is not UTF-8"
        ))
    })?;
    nonempty(
        Zeroizing::new(text.to_owned()),
        &format!("file descriptor {fd}"),
    )
}

/// Asks for a passphrase on the terminal (`/dev/tty`), without echo.
pub fn ask(prompt: &str) -> Result<Passphrase, PassphraseError> {
    let text =
        Zeroizing::new(rpassword::prompt_password(prompt).map_err(PassphraseError::NoTerminal)?);
    nonempty(text, "the terminal")
}

/// Asks for a new passphrase twice on the terminal; they must match.
pub fn ask_new(prompt: &str) -> Result<Passphrase, PassphraseError> {
    let first = ask(prompt)?;
    let again = ask("the same passphrase again: ")?;
    if first.as_bytes() != again.as_bytes() {
        return Err(PassphraseError::Mismatch);
    }
    Ok(first)
}

fn nonempty(text: Zeroizing<String>, from: &str) -> Result<Passphrase, PassphraseError> {
    if text.is_empty() {
        return Err(PassphraseError::Invalid(format!(
            "the passphrase from {from} is empty"
        )));
    }
    Ok(Passphrase(text))
}

#[cfg(test)]
mod tests;
