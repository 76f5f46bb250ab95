//! A receipt: the coordinator's promise, signed with its log key, that its
//! record holds a given statement about a ceremony (as a CT log's signed
//! certificate timestamp promises inclusion). Issued once the statement is
//! durably recorded, so a receipted statement missing from any later
//! checkpoint of the log proves the coordinator dropped it.
//!
//! A receipt is a C2SP signed note whose text is
//!
//! ```text
//! quorate-receipt/v1
//! <log origin>
//! <ceremony id>
//! <base64 SHA-256 of the statement's bytes>
//! <time, ms since the Unix epoch>
//! ```
//!
//! Its first line cannot be a checkpoint's (a receipt's second line is not
//! a tree size), so neither note passes for the other.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::{LogKey, LogVerifier, RecordError};

const HEADER: &str = "quorate-receipt/v1";

/// What a receipt promises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The log's origin (its key's name).
    pub origin: String,
    pub ceremony: String,
    /// SHA-256 of the statement's bytes, as sent.
    pub statement_sha256: [u8; 32],
    /// When the coordinator recorded it, ms since the Unix epoch.
    pub at_unix_ms: i64,
}

impl Receipt {
    /// The receipt for `statement` (its bytes as sent) about `ceremony`.
    pub fn for_statement(origin: &str, ceremony: &str, statement: &[u8], at_unix_ms: i64) -> Self {
        Receipt {
            origin: origin.to_owned(),
            ceremony: ceremony.to_owned(),
            statement_sha256: Sha256::digest(statement).into(),
            at_unix_ms,
        }
    }

    /// Whether this receipt is for exactly these statement bytes.
    pub fn covers(&self, statement: &[u8]) -> bool {
        self.statement_sha256 == <[u8; 32]>::from(Sha256::digest(statement))
    }

    fn text(&self) -> String {
        format!(
            "{HEADER}\n{}\n{}\n{}\n{}\n",
            self.origin,
            self.ceremony,
            STANDARD.encode(self.statement_sha256),
            self.at_unix_ms
        )
    }

    fn parse(text: &str) -> Result<Self, RecordError> {
        let bad = |why: &str| RecordError::MalformedNote(format!("not a receipt: {why}"));
        let lines: Vec<&str> = text
            .strip_suffix('\n')
            .unwrap_or(text)
            .split('\n')
            .collect();
        let [header, origin, ceremony, digest, at] = lines.as_slice() else {
            return Err(bad("a receipt has five lines"));
        };
        if *header != HEADER {
            return Err(bad("its first line is not quorate-receipt/v1"));
        }
        let digest: [u8; 32] = STANDARD
            .decode(digest)
            .ok()
            .and_then(|d| d.try_into().ok())
            .ok_or_else(|| bad("its fourth line is not the base64 of a SHA-256"))?;
        let at_unix_ms = at
            .parse()
            .map_err(|_| bad("its fifth line is not a time in ms"))?;
        Ok(Receipt {
            origin: (*origin).to_owned(),
            ceremony: (*ceremony).to_owned(),
            statement_sha256: digest,
            at_unix_ms,
        })
    }
}

impl LogKey {
    /// Signs `receipt` as a note; its origin must be this key's name.
    pub fn sign_receipt(&self, receipt: &Receipt) -> Result<String, RecordError> {
        if receipt.origin != self.name() {
            return Err(RecordError::InvalidOrigin(receipt.origin.clone()));
        }
        if receipt.ceremony.is_empty() || receipt.ceremony.chars().any(|c| c < ' ') {
            return Err(RecordError::Signing(format!(
                "ceremony {:?} cannot be a line of a receipt",
                receipt.ceremony
            )));
        }
        self.sign_text(&receipt.text())
    }
}

impl LogVerifier {
    /// Checks a receipt note's signature by this log key and that it is of
    /// this log; returns what it promises.
    pub fn verify_receipt(&self, note: &str) -> Result<Receipt, RecordError> {
        let receipt = Receipt::parse(&self.verify_note(note)?)?;
        if receipt.origin != self.name() {
            return Err(RecordError::InvalidOrigin(receipt.origin));
        }
        Ok(receipt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Checkpoint;

    #[test]
    fn a_receipt_round_trips_and_binds_the_statement() {
        let key = LogKey::from_seed("log.test", &[5; 32]).unwrap();
        let receipt =
            Receipt::for_statement("log.test", "c1", b"statement bytes", 1_800_000_000_000);
        let note = key.sign_receipt(&receipt).unwrap();
        let verifier = key.verifier().unwrap();
        let back = verifier.verify_receipt(&note).unwrap();
        assert_eq!(back, receipt);
        assert!(back.covers(b"statement bytes"));
        assert!(!back.covers(b"other bytes"));
        // Altered, or signed by another key: refused.
        assert!(
            verifier
                .verify_receipt(&note.replace("\nc1\n", "\nc2\n"))
                .is_err()
        );
        let other = LogKey::from_seed("log.test", &[6; 32]).unwrap();
        assert!(other.verifier().unwrap().verify_receipt(&note).is_err());
        // A receipt is no checkpoint, and a checkpoint no receipt.
        assert!(verifier.verify_checkpoint(&note).is_err());
        let checkpoint = key
            .sign_checkpoint(&Checkpoint {
                origin: "log.test".into(),
                size: 1,
                root: crate::EMPTY_ROOT,
            })
            .unwrap();
        assert!(verifier.verify_receipt(&checkpoint).is_err());
        // Only for this log's origin.
        let foreign = Receipt::for_statement("other.test", "c1", b"x", 1);
        assert!(key.sign_receipt(&foreign).is_err());
    }
}
