//! A ceremony as one version left it, shared by everyone who serves it.
//!
//! Every change of a ceremony goes to each agent's work feed and to each
//! requester watching it. Its status (statements re-encoded, points
//! compressed) and signing package are made once, at the first ask, and
//! shared, rather than once per feed; a reader holds the snapshot, not a
//! copy of the ceremony. A snapshot keeps its status (about a kilobyte)
//! until the next change.

use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use quorate_ceremonies::{Ceremony, Phase};
use quorate_wire as proto;

use crate::service::to_status;

pub struct Snapshot {
    ceremony: Ceremony,
    status: OnceLock<proto::CeremonyStatus>,
    package: OnceLock<Vec<u8>>,
}

impl Snapshot {
    pub fn new(ceremony: Ceremony) -> Arc<Self> {
        Arc::new(Self {
            ceremony,
            status: OnceLock::new(),
            package: OnceLock::new(),
        })
    }

    pub fn ceremony(&self) -> &Ceremony {
        &self.ceremony
    }

    /// The ceremony's status as the services show it, made at the first
    /// ask.
    pub fn status(&self) -> proto::CeremonyStatus {
        self.status
            .get_or_init(|| to_status(&self.ceremony))
            .clone()
    }

    /// The encoded signing package of the attempt under way; empty if none.
    pub fn package(&self) -> &[u8] {
        self.package.get_or_init(|| match self.ceremony.phase() {
            Phase::ExpectShares(round) => round.package().serialize().unwrap_or_default(),
            _ => Vec::new(),
        })
    }
}

impl Deref for Snapshot {
    type Target = Ceremony;

    fn deref(&self) -> &Ceremony {
        &self.ceremony
    }
}
