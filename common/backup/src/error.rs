//! What can go wrong with a backup, naming the piece or the line.

/// Why a backup cannot be made, a piece does not check out, or the
/// pieces do not restore the share.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Parameters(String),
    #[error(
        "{custodian}'s piece ({index} of {count}) does not match its commitments: it was altered or mistyped"
    )]
    Tampered {
        custodian: String,
        index: u16,
        count: u16,
    },
    #[error("{custodian}'s piece is not of this backup: {why}")]
    Foreign { custodian: String, why: String },
    #[error(
        "the backup's commitments are not {participant}'s: they commit to another share than \
         the verifying share the key group lists for {participant}"
    )]
    NotTheParticipants { participant: String },
    #[error("{got} distinct piece(s) given; this backup needs {needed}")]
    TooFew { got: usize, needed: u16 },
    #[error(
        "the restored share is not {participant}'s: it does not match the verifying share the \
         key group lists for {participant}"
    )]
    Mismatch { participant: String },
    #[error("{0}")]
    Malformed(String),
    #[error("line {line}: {why}")]
    Line { line: usize, why: String },
}
