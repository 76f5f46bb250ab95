//! The body of a [c2sp.org/tlog-checkpoint](https://c2sp.org/tlog-checkpoint).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::{Hash, RecordError};

/// c2sp tlog-checkpoint body
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: `"<origin>\n<size>\n<base64 root>\n"`.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root.0)
        )
    }

    /// Parses a checkpoint body (the text of a signed note, without its
    /// signatures). Extension lines are allowed and ignored.
    ///
    /// The text is not authenticated here; use
    /// [`crate::LogVerifier::verify_checkpoint`] for notes from elsewhere.
    pub fn parse(body: &str) -> Result<Self, RecordError> {
        match tlog_tiles::Checkpoint::from_bytes(body.as_bytes()) {
            Ok(c) => Ok(Checkpoint {
                origin: c.origin().to_owned(),
                size: c.size(),
                root: (*c.hash()).into(),
            }),
            Err(_) => Err(RecordError::MalformedCheckpoint(diagnose(body))),
        }
    }

    /// Checks that the origin can be the first line of a signed note.
    pub(crate) fn check_origin(&self) -> Result<(), RecordError> {
        if self.origin.is_empty() || self.origin.chars().any(|c| c < ' ') {
            return Err(RecordError::InvalidOrigin(self.origin.clone()));
        }
        Ok(())
    }
}

/// Says why tlog_tiles refused a checkpoint body (it only says "malformed").
fn diagnose(body: &str) -> String {
    let Some(text) = body.strip_suffix('\n') else {
        return "text does not end in a newline".into();
    };
    let lines: Vec<&str> = text.split('\n').collect();
    let [origin, size, root, extensions @ ..] = lines.as_slice() else {
        return "it needs origin, tree size and root hash lines".into();
    };
    if origin.is_empty() {
        return "the origin line is empty".into();
    }
    if size.parse::<u64>().map(|n| n.to_string()).as_deref() != Ok(*size) {
        return format!("tree size {size:?} is not a decimal u64 without leading zeros");
    }
    if STANDARD.decode(root).map(|r| r.len()).ok() != Some(32) {
        return format!("root hash {root:?} is not the base64 of 32 bytes");
    }
    if extensions.iter().any(|line| line.is_empty()) {
        return "an extension line is empty".into();
    }
    "it is not origin, tree size and root hash lines".into()
}
