//! The approver's side: what is pending, what a ceremony shows, and the
//! approver's decision, signed with the identity key and journaled before
//! it is sent.
use super::*;
use quorate_types::KeyGroupName;
use quorate_types::signed_request::{Asked, SignedRequest};

/// The ceremony's context (a git tag object) must hash to the digest its
/// message signs before it is shown or approved.
fn check_context(id: &CeremonyId, status: &proto::CeremonyStatus) -> Result<(), AgentError> {
    quorate_formats::git_tag::check_context(&status.message, &status.context)
        .map(|_| ())
        .map_err(|problem| AgentError::Context {
            id: id.clone(),
            problem,
        })
}

/// The request must stand as its requester's (signed by the requester when
/// the policy lists requester keys, by one the policy lets ask) before it
/// is shown or approved.
fn check_request(
    group: &KeyGroup,
    id: &CeremonyId,
    status: &proto::CeremonyStatus,
) -> Result<(), AgentError> {
    let refused = |problem: String| AgentError::Request {
        id: id.clone(),
        problem,
    };
    let key_group = KeyGroupName::new(&status.key_group).map_err(|e| refused(e.to_string()))?;
    if !status.break_glass
        && group.policy.emergency.is_some()
        && quorate_types::handover::compromise_of(&status.message, &group.group_key())
    {
        return Err(refused(
            "it hands our key over as compromised outside break-glass; our policy signs that \
             only under break-glass, with its review"
                .into(),
        ));
    }
    let follow_ups = follow_ups_of(id, status)?;
    let signed = match status.signed_request.as_slice() {
        [] => None,
        bytes => Some(SignedRequest::from_bytes(bytes).map_err(refused)?),
    };
    let asked = Asked {
        ceremony: id,
        key_group: &key_group,
        requester: &status.requester,
        label: &status.label,
        message: &status.message,
        break_glass: status.break_glass.then_some(status.justification.as_str()),
        context: &status.context,
        follow_ups: &follow_ups,
        created_at_unix_ms: status.created_at_unix_ms,
    };
    crate::request_check::check(&group.policy, signed.as_ref(), &asked).map_err(refused)
}

/// The ceremony's follow-up messages, checked.
fn follow_ups_of(
    id: &CeremonyId,
    status: &proto::CeremonyStatus,
) -> Result<Vec<FollowUp>, AgentError> {
    proto::convert::follow_ups("follow_ups", &status.follow_ups).map_err(|e| AgentError::Batch {
        id: id.clone(),
        problem: e.to_string(),
    })
}

impl Agent {
    /// Ceremonies waiting on this approver's decision, oldest first.
    pub async fn pending(&self) -> Vec<ReviewItem> {
        let state = self.state.lock().await;
        let mut out = Vec::new();
        for work in state.work.values() {
            let Some(status) = &work.ceremony else {
                continue;
            };
            let Ok(id) = CeremonyId::new(&status.id) else {
                continue;
            };
            match self.journal.get(&id) {
                Ok(None) if is_open(status) => {
                    if let Err(e) = check_request(&self.group, &id, status) {
                        tracing::warn!(participant = %self.config.id, error = %e, "not shown");
                        continue;
                    }
                    out.push(ReviewItem {
                        status: status.clone(),
                        decision: None,
                        record: None,
                        refusals: Vec::new(),
                    })
                }
                // A decided ceremony whose record shows a problem stays in
                // front of the approver.
                Ok(Some(entry)) if entry.record.as_ref().is_some_and(RecordCheck::is_problem) => {
                    out.push(ReviewItem {
                        status: status.clone(),
                        decision: Some(entry.decision),
                        record: entry.record,
                        refusals: entry.refusals,
                    })
                }
                _ => {}
            }
        }
        out
    }

    /// A number that changes whenever a ceremony the agent follows does
    /// (each status's version), or its own decision or record check: the
    /// approver's page reloads when it changes.
    pub async fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        let state = self.state.lock().await;
        for work in state.work.values() {
            if let Some(status) = &work.ceremony {
                (&status.id, status.version).hash(&mut hasher);
                if let Ok(id) = CeremonyId::new(&status.id)
                    && let Ok(Some(entry)) = self.journal.get(&id)
                {
                    (entry.decision == Decision::Approved).hash(&mut hasher);
                    entry.record.map(|r| r.describe()).hash(&mut hasher);
                }
            }
        }
        hasher.finish()
    }

    /// The key group's policy, as the agent enforces it.
    pub fn policy(&self) -> &quorate_types::policy::Policy {
        &self.group.policy
    }

    pub async fn show(&self, id: &CeremonyId) -> Result<ReviewItem, AgentError> {
        let status = self.status_of(&*self.state.lock().await, id)?;
        check_request(&self.group, id, &status)?;
        check_context(id, &status)?;
        let entry = self.journal_entry(id)?;
        let decision = entry.as_ref().map(|e| e.decision);
        let (record, refusals) = entry.map_or((None, Vec::new()), |e| (e.record, e.refusals));
        Ok(ReviewItem {
            status,
            decision,
            record,
            refusals,
        })
    }

    pub(super) fn status_of(
        &self,
        state: &State,
        id: &CeremonyId,
    ) -> Result<proto::CeremonyStatus, AgentError> {
        let status = state
            .work
            .get(id)
            .and_then(|w| w.ceremony.clone())
            .ok_or_else(|| AgentError::Unknown(id.clone()))?;
        if Sha256Digest::of(&status.message).0.as_slice() != status.message_sha256.as_slice() {
            return Err(AgentError::DigestMismatch(id.clone()));
        }
        Ok(status)
    }

    /// Whether a finished ceremony must stay in the work book: a check of
    /// the record is still to come for it, or one found a problem, which
    /// stays in front of the approver.
    pub(super) fn still_needed(&self, id: &CeremonyId) -> bool {
        if self.verifier.is_none() {
            return false;
        }
        match self.journal.get(id) {
            Ok(Some(entry)) => {
                entry.record.as_ref().is_some_and(RecordCheck::is_problem)
                    || record_task::wanted(id, &entry, false).is_some()
            }
            Ok(None) => false,
            // Unknown: keep it.
            Err(_) => true,
        }
    }

    pub(super) fn journal_entry(&self, id: &CeremonyId) -> Result<Option<Entry>, AgentError> {
        self.journal
            .get(id)
            .map_err(|e| AgentError::Journal(e.to_string()))
    }

    /// The approver approves: journal it, make nonces, send the approval
    /// with the commitments.
    pub async fn approve(&self, id: &CeremonyId) -> Result<ReviewItem, AgentError> {
        let _turn = self.turns.take(id).await;
        self.decide(id, Decision::Approved, None).await
    }

    pub async fn reject(&self, id: &CeremonyId, reason: String) -> Result<ReviewItem, AgentError> {
        let _turn = self.turns.take(id).await;
        self.decide(id, Decision::Rejected, Some(reason)).await
    }

    /// Signs, journals and sends the approver's decision. The caller holds
    /// the ceremony's lock.
    pub(super) async fn decide(
        &self,
        id: &CeremonyId,
        decision: Decision,
        reason: Option<String>,
    ) -> Result<ReviewItem, AgentError> {
        let state = self.state.lock().await;
        let status = self.status_of(&state, id)?;
        // A context that does not hash to what the message signs is never
        // approved; the approver may still reject the ceremony.
        if decision == Decision::Approved {
            check_request(&self.group, id, &status)?;
            check_context(id, &status)?;
        }
        if !is_open(&status) {
            return Err(AgentError::Closed {
                id: id.clone(),
                state: state_name(&status),
            });
        }
        if let Some(entry) = self.journal_entry(id)? {
            // The same decision, not delivered yet: deliver it now.
            if entry.decision == decision && !entry.acknowledged {
                let mut client = state
                    .client
                    .clone()
                    .ok_or_else(|| AgentError::Offline("not connected yet".into()))?;
                drop(state);
                let ack = self.deliver(id, entry, &mut client).await.map_err(|e| {
                    AgentError::Undelivered {
                        id: id.clone(),
                        why: e.to_string(),
                    }
                })?;
                return Ok(ReviewItem {
                    status: ack.ceremony.unwrap_or(status),
                    decision: Some(decision),
                    record: None,
                    refusals: Vec::new(),
                });
            }
            return Err(AgentError::Decided {
                id: id.clone(),
                decision: entry.decision,
            });
        }
        let mut client = state
            .client
            .clone()
            .ok_or_else(|| AgentError::Offline("not connected yet".into()))?;
        // The ceremony's lock keeps its work waiting; other ceremonies go on.
        drop(state);
        let digest = Sha256Digest::of(&status.message);
        if status.key_group != self.group.name.as_str() {
            return Err(AgentError::WrongKeyGroup(status.key_group.clone()));
        }
        let follow_ups = follow_ups_of(id, &status)?;
        let statement = sign_decision(
            &self.identity,
            DecisionOf {
                ceremony: id,
                key_group: &self.group.name,
                participant: &self.config.id,
                message_sha256: digest,
                break_glass: status.break_glass,
                follow_ups: &follow_ups,
                decision: match decision {
                    Decision::Approved => quorate_types::Decision::Approve,
                    Decision::Rejected => quorate_types::Decision::Reject {
                        reason: reason.clone().unwrap_or_default(),
                    },
                },
            },
        )
        .to_bytes();
        let entry = Entry {
            decision,
            message_sha256: digest,
            break_glass: status.break_glass,
            follow_ups,
            reason: reason.clone(),
            signed_attempts: Vec::new(),
            statement: statement.clone(),
            acknowledged: false,
            receipt: None,
            record: None,
            refusals: Vec::new(),
        };
        self.journal
            .put(id, &entry)
            .await
            .map_err(|e| AgentError::Journal(e.to_string()))?;
        let ack =
            self.deliver(id, entry, &mut client)
                .await
                .map_err(|e| AgentError::Undelivered {
                    id: id.clone(),
                    why: e.to_string(),
                })?;
        let status = ack.ceremony.unwrap_or(status);
        Ok(ReviewItem {
            status,
            decision: Some(decision),
            record: None,
            refusals: Vec::new(),
        })
    }

    /// Sends the journaled decision `entry`: an approval with fresh
    /// commitments (whose nonces are then held), or a rejection. Once the
    /// coordinator acknowledges it, the journal notes so. Until then the
    /// agent sends it again at each news of the ceremony and every
    /// [`RESEND_EVERY`] (DESIGN invariant 7); the coordinator takes a
    /// resend as the same decision.
    pub(super) async fn deliver(
        &self,
        id: &CeremonyId,
        entry: Entry,
        client: &mut Client,
    ) -> Result<proto::Ack, AgentError> {
        let reply = match entry.decision {
            Decision::Approved => {
                let (nonces, commitments) = self.fresh_nonces()?;
                let request = proto::ApproveRequest {
                    ceremony: id.to_string(),
                    statement: entry.statement.clone(),
                    commitments,
                };
                let reply = self
                    .write(client, |mut c| {
                        let request = request.clone();
                        async move { c.approve(request).await }
                    })
                    .await;
                if let Ok(ack) = &reply {
                    let since = ack.get_ref().ceremony.as_ref().map_or(0, |c| c.version);
                    let held = Held { nonces, since };
                    self.state.lock().await.nonces.insert(id.clone(), held);
                }
                reply
            }
            Decision::Rejected => {
                let request = proto::RejectRequest {
                    ceremony: id.to_string(),
                    statement: entry.statement.clone(),
                };
                self.write(client, |mut c| {
                    let request = request.clone();
                    async move { c.reject(request).await }
                })
                .await
            }
        };
        let ack = reply.map_err(AgentError::Coordinator)?.into_inner();
        tracing::info!(participant = %self.config.id, ceremony = %id, decision = ?entry.decision, "decision delivered");
        self.keep_receipt(id, &entry, &ack.receipt);
        let entry = self.acknowledge(id, entry);
        self.want_record_check(id, &entry, true);
        Ok(ack)
    }

    /// Journals the coordinator's receipt for our statement on `id`, once
    /// checked: signed by the log key, for this ceremony and these exact
    /// statement bytes. A missing or wrong receipt is logged, not kept.
    fn keep_receipt(&self, id: &CeremonyId, entry: &Entry, receipt: &str) {
        let Some(log) = &self.verifier else {
            return;
        };
        if receipt.is_empty() {
            tracing::warn!(participant = %self.config.id, ceremony = %id, "the coordinator gave no receipt for our statement");
            return;
        }
        let checked = log
            .verify_receipt(receipt)
            .map_err(|e| e.to_string())
            .and_then(|r| {
                if r.ceremony != id.as_str() {
                    Err(format!("it is for ceremony {}", r.ceremony))
                } else if !r.covers(&entry.statement) {
                    Err("it is for other statement bytes".into())
                } else {
                    Ok(())
                }
            });
        match checked {
            Ok(()) => {
                if let Err(e) = self
                    .journal
                    .note(id, |e| e.receipt = Some(receipt.to_owned()))
                {
                    tracing::error!(ceremony = %id, error = %e, "cannot journal the receipt");
                }
            }
            Err(why) => {
                tracing::warn!(participant = %self.config.id, ceremony = %id, %why, "the coordinator's receipt for our statement does not check out")
            }
        }
    }
}
