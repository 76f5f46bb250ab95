//! A piece as printable text, for a custodian who keeps it on paper:
//! a header a person reads, then the piece's bytes in hex, 32 per line,
//! each line ending with a checksum of its number and bytes, so a typo
//! is found and named by line when the piece is typed back in.
//!
//! ```text
//! quorate share piece v1
//! custodian: carol-lawyer
//! piece 2 of 5 of alice's share in key group release; any 3 restore it
//! commitments: 5f1c…
//! 01: 7b22 666f 726d 6174 223a 2271 756f 7261 7465 2d73 6861 7265 2d70 6965 6365 2f76  9c41
//! ...
//! end
//! ```

use zeroize::Zeroizing;

use crate::{BackupError, Piece};

const HEADER: &str = "quorate share piece v1";
const PER_LINE: usize = 32;

/// The piece as text. The text holds the secret value: print it, hand it
/// over, and do not keep it on a disk.
pub fn to_text(piece: &Piece) -> Zeroizing<String> {
    let c = &piece.commitments;
    let bytes = Zeroizing::new(serde_json::to_vec(piece).unwrap_or_default());
    let mut out = Zeroizing::new(format!(
        "{HEADER}\ncustodian: {}\npiece {} of {} of {}'s share in key group {}; any {} restore it\ncommitments: {}\n",
        piece.custodian,
        piece.index,
        c.count,
        c.participant,
        c.key_group,
        c.threshold,
        c.hash()
    ));
    for (i, chunk) in bytes.chunks(PER_LINE).enumerate() {
        let number = i + 1;
        let groups: Vec<String> = chunk.chunks(2).map(hex::encode).collect();
        out.push_str(&format!(
            "{number:02}: {}  {}\n",
            groups.join(" "),
            checksum(number, chunk)
        ));
    }
    out.push_str("end\n");
    out
}

/// Reads a piece typed back in, checking every line's checksum.
pub fn from_text(text: &str) -> Result<Piece, BackupError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
    match lines.next() {
        Some((_, HEADER)) => {}
        _ => {
            return Err(BackupError::Malformed(format!(
                "a printed piece starts with {HEADER:?}"
            )));
        }
    }
    let mut bytes = Zeroizing::new(Vec::new());
    let mut expected = 1usize;
    let mut ended = false;
    for (line, text) in lines {
        if text == "end" {
            ended = true;
            break;
        }
        // The header lines are for people.
        if !starts_with_number(text) {
            continue;
        }
        let fail = |why: String| BackupError::Line { line, why };
        let (number, rest) = text
            .split_once(':')
            .ok_or_else(|| fail("expected NN: hex ... checksum".into()))?;
        let number: usize = number
            .trim()
            .parse()
            .map_err(|_| fail(format!("{number:?} is not a line number")))?;
        if number != expected {
            return Err(fail(format!(
                "data line {number} where {expected} was expected: a line is missing or out of order"
            )));
        }
        let mut words: Vec<&str> = rest.split_whitespace().collect();
        let sum = words
            .pop()
            .ok_or_else(|| fail("the line has no checksum".into()))?;
        let chunk = Zeroizing::new(
            hex::decode(words.concat()).map_err(|_| fail("it is not hex: a typo".into()))?,
        );
        if checksum(number, &chunk) != sum {
            return Err(fail(format!(
                "data line {number}'s checksum does not match: a typo on this line"
            )));
        }
        bytes.extend_from_slice(&chunk);
        expected += 1;
    }
    if !ended {
        return Err(BackupError::Malformed(
            "the printed piece has no \"end\" line: lines are missing at the end".into(),
        ));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| BackupError::Malformed(format!("the printed piece does not decode: {e}")))
}

fn starts_with_number(text: &str) -> bool {
    text.split_once(':')
        .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// 4 hex digits of SHA-256 over the line number and its bytes.
fn checksum(number: usize, chunk: &[u8]) -> String {
    let mut input = format!("{number}:").into_bytes();
    input.extend_from_slice(chunk);
    hex::encode(&quorate_types::sha256(&input)[..2])
}
