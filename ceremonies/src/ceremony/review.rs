//! The post-incident review of a break-glass ceremony: by one of the
//! emergency policy's reviewers, with notes, once the ceremony has ended.
use super::*;

/// An auditor's review of a break-glass ceremony.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub by: String,
    pub notes: String,
    pub at: Timestamp,
}

impl Ceremony {
    pub(super) fn review(
        &mut self,
        by: &str,
        notes: &str,
        now: Timestamp,
    ) -> Result<Vec<Action>, CeremonyError> {
        let Some(emergency) = &self.key_group.policy.emergency else {
            return Err(CeremonyError::NoReviewNeeded(
                "it is not break-glass".into(),
            ));
        };
        if self.request.break_glass.is_none() {
            return Err(CeremonyError::NoReviewNeeded(
                "it is not break-glass".into(),
            ));
        }
        if !emergency.reviewers.iter().any(|r| r == by) {
            return Err(CeremonyError::NotAllowed {
                who: by.into(),
                action: "review break-glass ceremonies of this key group".into(),
            });
        }
        quorate_types::limits::check_notes(notes)
            .map_err(|e| CeremonyError::InvalidRequest(e.to_string()))?;
        if self.review.is_some() {
            return Err(CeremonyError::NoReviewNeeded(
                "it was reviewed already".into(),
            ));
        }
        if !matches!(self.phase, Phase::Done(_)) {
            return Err(CeremonyError::NoReviewNeeded(
                "it is still open; review it once it has ended".into(),
            ));
        }
        self.review = Some(Review {
            by: by.into(),
            notes: notes.into(),
            at: now,
        });
        Ok(Vec::new())
    }
}
