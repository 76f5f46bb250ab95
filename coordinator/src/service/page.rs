//! Pages of the ceremony list. Ceremonies are listed oldest first, by
//! creation time and then id, and a page token names the last ceremony a
//! reply held: `<created_at in unix ms>:<ceremony id>`. A ceremony is never
//! removed, so a token stays good for as long as the coordinator's record.

use quorate_ceremonies::Timestamp;
use quorate_types::CeremonyId;
use tonic::Status;

/// Ceremonies per page when the caller does not say.
pub const DEFAULT_PAGE: u32 = 100;
/// Most ceremonies per page.
pub const MAX_PAGE: u32 = 1000;

/// Where a list stands: ceremonies after this one come next.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub created_at: Timestamp,
    pub id: CeremonyId,
}

impl Cursor {
    /// The token a reply gives to go on after this ceremony.
    pub fn token(&self) -> String {
        format!("{}:{}", self.created_at.unix_ms(), self.id)
    }

    /// The cursor of `token`; None for the empty token (from the start).
    pub fn parse(token: &str) -> Result<Option<Self>, Status> {
        if token.is_empty() {
            return Ok(None);
        }
        let bad = || {
            Status::invalid_argument(format!(
                "page_token {token:?} is not one this coordinator gave: pass a reply's next_page_token, or none to start at the oldest ceremony"
            ))
        };
        let (ms, id) = token.split_once(':').ok_or_else(bad)?;
        Ok(Some(Self {
            created_at: Timestamp(ms.parse().map_err(|_| bad())?),
            id: CeremonyId::new(id).map_err(|_| bad())?,
        }))
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
