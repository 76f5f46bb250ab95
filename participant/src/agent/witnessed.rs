//! Before a share is released: waits, a bounded while, until the agent's
//! own approval is in a checkpoint a quorum of its witnesses cosigned
//! ([`crate::witness_gate`]).

use std::time::{Duration, Instant};

use quorate_types::CeremonyId;

use super::Agent;
use crate::journal::Entry;
use crate::record_check::fetch::{self, Subject, Transient};
use crate::witness_gate::{self, Judgement};

/// How long a share waits for the witnesses before it is held back.
const WITNESS_WAIT: Duration = Duration::from_secs(10);
/// How often the coordinator is asked meanwhile.
const ASK_EVERY: Duration = Duration::from_millis(50);

impl Agent {
    /// Ok once our approval of `id` is witnessed (at once if the agent has
    /// no witnesses); else why the share is held back.
    pub(super) async fn witnessed(&self, id: &CeremonyId, entry: &Entry) -> Result<(), String> {
        let Some(policy) = &self.witnesses else {
            return Ok(());
        };
        let Some(verifier) = &self.verifier else {
            return Err("the agent has no log key to check the cosigned checkpoint".into());
        };
        let subject = Subject {
            ceremony: id,
            participant: &self.config.id,
            ours: &entry.statement,
        };
        let deadline = Instant::now() + WITNESS_WAIT;
        loop {
            let why = match self.audit_client().await {
                None => "not connected to the coordinator".to_owned(),
                Some(mut client) => {
                    match fetch::check_witnessed(&mut client, verifier, &subject).await {
                        Err(Transient(why)) => why,
                        Ok((checked, note)) => match witness_gate::judge(policy, &checked, &note) {
                            Judgement::Witnessed { index, size, by } => {
                                tracing::info!(participant = %self.config.id, ceremony = %id, index, size, witnesses = ?by, "approval witnessed");
                                return Ok(());
                            }
                            Judgement::NotYet(why) => why,
                            Judgement::Problem(problem) => {
                                tracing::error!(participant = %self.config.id, ceremony = %id, %problem, "the witnessed record is wrong; no share");
                                return Err(problem.to_string());
                            }
                        },
                    }
                }
            };
            if Instant::now() >= deadline {
                return Err(format!("not witnessed within {WITNESS_WAIT:?}: {why}"));
            }
            tokio::time::sleep(ASK_EVERY).await;
        }
    }
}
