//! Rebuilding a key ceremony from the record: the proposal, then every
//! event through the same engine, each recorded decision checked against
//! the one the engine makes now, and the registration that follows checked
//! against the group the engine computed. A restarted coordinator resumes
//! this way; an auditor's replay runs the very same code.

use quorate_types::KeyGroupFile;

use super::KeyCeremony;
use crate::Entry;

/// Where a key ceremony's record and the engine disagree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key ceremony {ceremony}: {why}")]
pub struct RebuildError {
    pub ceremony: String,
    pub why: String,
}

/// The ceremony the proposal entry `proposed` and the events `events`
/// (in record order, `seq` from 0) make.
pub fn rebuild<'a>(
    proposed: &Entry,
    events: impl IntoIterator<Item = &'a Entry>,
) -> Result<KeyCeremony, RebuildError> {
    let Entry::KeyCeremonyProposed {
        at,
        by,
        ceremony,
        proposal,
    } = proposed
    else {
        return Err(RebuildError {
            ceremony: "?".into(),
            why: format!("starts with a {} entry, not a proposal", proposed.kind()),
        });
    };
    let fail = |why: String| RebuildError {
        ceremony: ceremony.to_string(),
        why,
    };
    let mut key = KeyCeremony::propose(ceremony.clone(), proposal.clone(), *at, by.clone())
        .map_err(|e| fail(format!("the proposal is refused: {e}")))?;
    for entry in events {
        let Entry::KeyCeremonyEvent {
            at,
            ceremony: of,
            seq,
            event,
            decisions,
        } = entry
        else {
            return Err(fail(format!(
                "holds a {} entry among its events",
                entry.kind()
            )));
        };
        if of != ceremony || *seq != key.version() {
            return Err(fail(format!(
                "event {seq} of {of} is where event {} of {ceremony} belongs",
                key.version()
            )));
        }
        let now = key
            .handle(event.clone(), *at)
            .map_err(|e| fail(format!("event {seq} is refused by the engine: {e}")))?;
        if &now != decisions {
            return Err(fail(format!(
                "event {seq}: the record says {decisions:?}, the engine decides {now:?}"
            )));
        }
    }
    Ok(key)
}

/// Checks that `registered` (the key group registration following the
/// ceremony's last event) is the group the ceremony made.
pub fn check_registration(
    key: &KeyCeremony,
    registered: &KeyGroupFile,
) -> Result<(), RebuildError> {
    let fail = |why: &str| RebuildError {
        ceremony: key.id().to_string(),
        why: why.into(),
    };
    match key.registered() {
        Some(made) if made == registered => Ok(()),
        Some(_) => Err(fail(
            "the registered key group is not the one its participants computed and confirmed",
        )),
        None => Err(fail(
            "a key group is registered that the ceremony never made",
        )),
    }
}

/// Who registers a key group made by a key ceremony.
pub fn registered_by(id: &quorate_types::KeyCeremonyId) -> String {
    format!("{BY_KEY_CEREMONY}{id}")
}

/// The key ceremony that registered a group `by` it, if a key ceremony
/// did (the inverse of [`registered_by`]).
pub fn registering_ceremony(by: &str) -> Option<quorate_types::KeyCeremonyId> {
    by.strip_prefix(BY_KEY_CEREMONY)
        .and_then(|id| quorate_types::KeyCeremonyId::new(id).ok())
}

const BY_KEY_CEREMONY: &str = "key ceremony ";
