//! The body of an `add-checkpoint` request: `old <size>\n`, up to 63
//! base64 consistency proof lines, a blank line, then the signed
//! checkpoint note.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use quorate_tlog::Hash;

/// The most proof lines a client may send.
pub const MAX_PROOF_LINES: usize = 63;

/// A parsed `add-checkpoint` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the client believes the witness last cosigned.
    pub old_size: u64,
    /// A consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, signatures included.
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// Parses a request body; the error says what is wrong with it.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let body = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_owned())?;
        let (head, checkpoint) = body.split_once("\n\n").ok_or(
            "the body needs an old size line and proof lines, a blank line, then the checkpoint",
        )?;
        let mut lines = head.split('\n');
        let old = lines.next().unwrap_or_default();
        let size = old
            .strip_prefix("old ")
            .ok_or_else(|| format!("the first line {old:?} is not \"old <size>\""))?;
        let old_size = size
            .parse::<u64>()
            .ok()
            .filter(|n| n.to_string() == size)
            .ok_or_else(|| {
                format!("old size {size:?} is not a decimal number without leading zeroes")
            })?;
        let proof = lines
            .enumerate()
            .map(|(i, line)| {
                let bytes = STANDARD.decode(line).ok().filter(|b| b.len() == 32);
                bytes
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .map(Hash)
                    .ok_or_else(|| {
                        format!(
                            "proof line {} {line:?} is not the base64 of a 32-byte hash",
                            i + 1
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if proof.len() > MAX_PROOF_LINES {
            return Err(format!(
                "{} proof lines; a consistency proof has at most {MAX_PROOF_LINES}",
                proof.len()
            ));
        }
        Ok(AddCheckpoint {
            old_size,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// The request body, as a log sends it.
    pub fn to_body(&self) -> String {
        let mut body = format!("old {}\n", self.old_size);
        for hash in &self.proof {
            body.push_str(&STANDARD.encode(hash.0));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&self.checkpoint);
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_names_what_is_wrong() {
        let request = AddCheckpoint {
            old_size: 3,
            proof: vec![Hash([1; 32]), Hash([2; 32])],
            checkpoint: "log\n5\nAAAA\n\n— log sig\n".into(),
        };
        assert_eq!(
            AddCheckpoint::parse(request.to_body().as_bytes()),
            Ok(request)
        );
        for (body, says) in [
            ("old 1\nlog\n", "blank line"),
            ("new 1\n\nx", "is not \"old <size>\""),
            ("old 01\n\nx", "leading zeroes"),
            ("old -1\n\nx", "without leading zeroes"),
            ("old 1\nAAAA\n\nx", "proof line 1"),
        ] {
            let err = AddCheckpoint::parse(body.as_bytes()).unwrap_err();
            assert!(err.contains(says), "{body:?}: {err}");
        }
        let long = format!(
            "old 1\n{}\nx",
            format!("{}\n", STANDARD.encode([0; 32])).repeat(64)
        );
        assert!(
            AddCheckpoint::parse(long.as_bytes())
                .unwrap_err()
                .contains("64 proof lines")
        );
        assert!(AddCheckpoint::parse(b"old 0\n\xff\n\nx").is_err());
    }
}
