//! Pages of the ceremony list. Ceremonies are listed oldest first, in the
//! order of their requests in the record, and a page token names the last
//! ceremony a reply held by its request's index in the record. The record
//! is never rewritten, so a token stays good for as long as the record.

use tonic::Status;

/// Ceremonies per page when the caller does not say.
pub const DEFAULT_PAGE: u32 = 100;
/// Most ceremonies per page.
pub const MAX_PAGE: u32 = 1000;

/// Where a list stands: ceremonies whose request comes after this index
/// come next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor(pub u64);

impl Cursor {
    /// The token a reply gives to go on after this ceremony.
    pub fn token(&self) -> String {
        format!("r{}", self.0)
    }

    /// The cursor of `token`; None for the empty token (from the start).
    pub fn parse(token: &str) -> Result<Option<Self>, Status> {
        if token.is_empty() {
            return Ok(None);
        }
        let index = token
            .strip_prefix('r')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                Status::invalid_argument(format!(
                    "page_token {token:?} is not one this coordinator gave: pass a reply's next_page_token, or none to start at the oldest ceremony"
                ))
            })?;
        Ok(Some(Self(index)))
    }
}

/// The page size `asked` for: 0 means [`DEFAULT_PAGE`].
pub fn size(asked: u32) -> Result<usize, Status> {
    match asked {
        0 => Ok(DEFAULT_PAGE as usize),
        n if n > MAX_PAGE => Err(Status::invalid_argument(format!(
            "page_size {n} is too large: ask for at most {MAX_PAGE} ceremonies at a time"
        ))),
        n => Ok(n as usize),
    }
}

#[cfg(test)]
mod tests;
