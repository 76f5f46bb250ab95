//! Before a share is released: the [`crate::release_check`] of the
//! ceremony's proven entries, asked again for a bounded while when the
//! record or the witnesses have not caught up.

use std::time::{Duration, Instant};

use quorate_ceremonies::Timestamp;
use quorate_types::{CeremonyId, CeremonyView};

use super::Agent;
use crate::journal::Entry;
use crate::record_check::fetch::{self, Transient};
use crate::release_check::{self, Evidence, Inputs, Verdict};

/// How long a share waits for the record and the witnesses.
const RELEASE_WAIT: Duration = Duration::from_secs(10);
/// How often the coordinator is asked meanwhile.
const ASK_EVERY: Duration = Duration::from_millis(50);

/// Why a share does not go (yet).
pub(super) enum Hold {
    /// Not within [`RELEASE_WAIT`]; the nonces stay.
    NotYet(String),
    /// The record forbids it; the nonces must go.
    Breach(String),
}

impl Agent {
    /// Ok once the record, proven (and witnessed, when the policy names
    /// witnesses), shows the policy kept for our share of `view`'s attempt.
    pub(super) async fn before_release(
        &self,
        id: &CeremonyId,
        entry: &Entry,
        view: &CeremonyView,
    ) -> Result<(), Hold> {
        let Some(log) = &self.verifier else {
            return Err(Hold::NotYet("the agent has no log key".into()));
        };
        let deadline = Instant::now() + RELEASE_WAIT;
        loop {
            let why = match self.audit_client().await {
                None => "not connected to the coordinator".to_owned(),
                Some(mut client) => {
                    match fetch::proven_entries(&mut client, id, self.witnesses.is_some()).await {
                        Err(Transient(why)) => why,
                        Ok(proven) => {
                            let inputs = Inputs {
                                me: &self.config.id,
                                ceremony: id,
                                requester: &view.requester,
                                ours: &entry.statement,
                                group: &self.group,
                                log,
                                witnesses: self.witnesses.as_ref(),
                                attempt: view.attempt,
                                signers: &view.signing_set,
                                now: Timestamp(crate::identity::now_unix_ms()),
                            };
                            let evidence = Evidence {
                                note: &proven.note,
                                entries: &proven.entries,
                                proofs: &proven.proofs,
                            };
                            match release_check::judge(&inputs, &evidence) {
                                Verdict::Release => return Ok(()),
                                Verdict::NotYet(why) => why,
                                Verdict::Breach(why) => return Err(Hold::Breach(why)),
                            }
                        }
                    }
                }
            };
            if Instant::now() >= deadline {
                return Err(Hold::NotYet(format!(
                    "not shown within {RELEASE_WAIT:?}: {why}"
                )));
            }
            tokio::time::sleep(ASK_EVERY).await;
        }
    }
}
