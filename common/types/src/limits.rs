//! What a request and its decisions may carry, in one place. The CLI checks
//! these before it asks, the coordinator's service before it records, the
//! engine before it accepts a request, and an agent before its approver's
//! rejection leaves it; each says which field is wrong and what to do.

/// Largest message a ceremony signs. Approvers must be able to read all of
/// it, so it is a manifest of artifacts, never an artifact itself.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Largest context (what a digest-only message stands for: a tag object).
pub const MAX_CONTEXT_BYTES: usize = MAX_MESSAGE_BYTES;
/// Longest label of a request.
pub const MAX_LABEL_BYTES: usize = 256;
/// Longest break-glass justification.
pub const MAX_JUSTIFICATION_BYTES: usize = 4096;
/// Longest reason for a rejection or a cancellation.
pub const MAX_REASON_BYTES: usize = 1024;
/// Longest notes of an auditor's review.
pub const MAX_REVIEW_NOTES_BYTES: usize = 16 * 1024;

/// A field over its limit, or missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error(
        "message: {0} bytes is over the limit of {MAX_MESSAGE_BYTES}; sign a manifest of the \
         artifacts (e.g. SHA256SUMS) instead"
    )]
    Message(usize),
    #[error("context: {0} bytes is over the limit of {MAX_CONTEXT_BYTES}")]
    Context(usize),
    #[error("label: longer than {MAX_LABEL_BYTES} bytes")]
    Label,
    #[error("justification: a break-glass ceremony needs a written justification")]
    NoJustification,
    #[error("justification: only a break-glass ceremony takes a justification")]
    UnwantedJustification,
    #[error("justification: longer than {MAX_JUSTIFICATION_BYTES} bytes")]
    Justification,
    #[error("reason: give a reason of 1 to {MAX_REASON_BYTES} bytes")]
    Reason,
    #[error("notes: a review needs notes on what was checked, of at most 16 KiB")]
    Notes,
}

pub fn check_message(message: &[u8]) -> Result<(), LimitError> {
    match message.len() {
        n if n > MAX_MESSAGE_BYTES => Err(LimitError::Message(n)),
        _ => Ok(()),
    }
}

pub fn check_context(context: &[u8]) -> Result<(), LimitError> {
    match context.len() {
        n if n > MAX_CONTEXT_BYTES => Err(LimitError::Context(n)),
        _ => Ok(()),
    }
}

pub fn check_label(label: &str) -> Result<(), LimitError> {
    if label.len() > MAX_LABEL_BYTES {
        return Err(LimitError::Label);
    }
    Ok(())
}

/// The justification a request carries, trimmed: one exactly when it is
/// break-glass.
pub fn check_justification(
    break_glass: bool,
    justification: &str,
) -> Result<Option<&str>, LimitError> {
    match (break_glass, justification.trim()) {
        (false, "") => Ok(None),
        (false, _) => Err(LimitError::UnwantedJustification),
        (true, "") => Err(LimitError::NoJustification),
        (true, j) if j.len() > MAX_JUSTIFICATION_BYTES => Err(LimitError::Justification),
        (true, j) => Ok(Some(j)),
    }
}

/// A rejection's or cancellation's reason, trimmed: not empty, not too long.
pub fn check_reason(reason: &str) -> Result<&str, LimitError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.len() > MAX_REASON_BYTES {
        return Err(LimitError::Reason);
    }
    Ok(reason)
}

/// A review's notes: not blank, not too long.
pub fn check_notes(notes: &str) -> Result<(), LimitError> {
    if notes.trim().is_empty() || notes.len() > MAX_REVIEW_NOTES_BYTES {
        return Err(LimitError::Notes);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_limit_admits_its_bound_and_refuses_one_more() {
        assert_eq!(check_message(&vec![0; MAX_MESSAGE_BYTES]), Ok(()));
        assert_eq!(
            check_message(&vec![0; MAX_MESSAGE_BYTES + 1]),
            Err(LimitError::Message(MAX_MESSAGE_BYTES + 1))
        );
        assert_eq!(check_context(&vec![0; MAX_CONTEXT_BYTES]), Ok(()));
        assert!(check_context(&vec![0; MAX_CONTEXT_BYTES + 1]).is_err());
        assert_eq!(check_label(&"a".repeat(MAX_LABEL_BYTES)), Ok(()));
        assert_eq!(
            check_label(&"a".repeat(MAX_LABEL_BYTES + 1)),
            Err(LimitError::Label)
        );
        let j = "j".repeat(MAX_JUSTIFICATION_BYTES);
        assert_eq!(check_justification(true, &j), Ok(Some(j.as_str())));
        assert_eq!(
            check_justification(true, &format!("{j}j")),
            Err(LimitError::Justification)
        );
        let r = "r".repeat(MAX_REASON_BYTES);
        assert_eq!(check_reason(&format!("  {r} ")), Ok(r.as_str()));
        assert_eq!(check_reason(&format!("{r}r")), Err(LimitError::Reason));
        assert_eq!(check_notes(&"n".repeat(MAX_REVIEW_NOTES_BYTES)), Ok(()));
        assert_eq!(
            check_notes(&"n".repeat(MAX_REVIEW_NOTES_BYTES + 1)),
            Err(LimitError::Notes)
        );
    }

    #[test]
    fn what_must_be_there_is() {
        assert_eq!(check_justification(false, "  "), Ok(None));
        assert_eq!(
            check_justification(false, "why"),
            Err(LimitError::UnwantedJustification)
        );
        assert_eq!(
            check_justification(true, " \n"),
            Err(LimitError::NoJustification)
        );
        assert_eq!(check_reason("   "), Err(LimitError::Reason));
        assert_eq!(check_notes(" "), Err(LimitError::Notes));
    }
}
