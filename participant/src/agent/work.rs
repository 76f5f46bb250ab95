//! The coordinator's news of a ceremony, brought in line with what the
//! approver decided: acknowledgements and record checks followed, and the
//! signing gate's verdict carried out (fresh commitments, a share, or a
//! journaled refusal).
use super::*;

impl Agent {
    /// Brings one ceremony in line with the approver's decision.
    pub(super) async fn reconcile(&self, work: proto::Work) {
        let Some(status) = work.ceremony.clone() else {
            return;
        };
        let Ok(id) = CeremonyId::new(&status.id) else {
            return;
        };
        let _turn = self.turns.take(&id).await;
        let open = is_open(&status);
        {
            let mut state = self.state.lock().await;
            let seen = state
                .work
                .get(&id)
                .and_then(|w| w.ceremony.as_ref())
                .map_or(0, |c| c.version);
            if status.version < seen {
                return;
            }
            // News of the ceremony: resends may go again.
            if status.version > seen {
                state.quiet.remove(&id);
            }
            state
                .work
                .insert(id.clone(), work.clone(), !open, |c| self.still_needed(c));
            if !open {
                // Destroy any nonces left for a finished ceremony.
                state.nonces.remove(&id);
            }
        }
        let entry = match self.journal.get(&id) {
            Ok(Some(entry)) => Some(self.follow_record(&id, &status, entry, open).await),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(ceremony = %id, error = %e, "cannot read the journal");
                return;
            }
        };
        if !open {
            return;
        }
        let result = match entry {
            None if self.config.auto_approve => {
                self.decide(&id, Decision::Approved, None).await.map(|_| ())
            }
            None => Ok(()),
            // Journaled, not yet held by the coordinator: send it again.
            Some(entry) if !entry.acknowledged => self.redeliver(&id, entry).await,
            Some(entry) if entry.decision == Decision::Rejected => Ok(()),
            Some(entry) => self.carry_on(&id, &status, &work, entry).await,
        };
        if let Err(e) = result {
            tracing::warn!(participant = %self.config.id, ceremony = %id, error = %e, "could not act on the ceremony");
        }
    }

    /// Notes in the journal that the coordinator holds our decision, and
    /// returns the entry as it now stands.
    pub(super) fn acknowledge(&self, id: &CeremonyId, entry: Entry) -> Entry {
        match self.journal.note(id, |e| e.acknowledged = true) {
            Ok(Some(updated)) => updated,
            Ok(None) => entry,
            Err(e) => {
                tracing::warn!(ceremony = %id, error = %e, "cannot note the acknowledgement in the journal");
                entry
            }
        }
    }

    /// Sends a journaled decision the coordinator does not list yet. A
    /// refusal that sending again cannot change (the ceremony ended
    /// meanwhile, say) quiets the resends until news of the ceremony.
    async fn redeliver(&self, id: &CeremonyId, entry: Entry) -> Result<(), AgentError> {
        let client = self.state.lock().await.client.clone();
        let mut client = client.ok_or_else(|| AgentError::Offline("not connected".into()))?;
        let result = self.deliver(id, entry, &mut client).await.map(|_| ());
        self.quiet_if_final(id, &result).await;
        result
    }

    /// Stops the periodic resends of ceremony `id` after a final refusal.
    /// A rate limit's refusal (`RESOURCE_EXHAUSTED` with `retry-after`)
    /// passes: the resends go on.
    pub(super) async fn quiet_if_final<T>(&self, id: &CeremonyId, result: &Result<T, AgentError>) {
        if let Err(AgentError::Coordinator(status)) = result
            && !matches!(
                status.code(),
                Code::Unavailable | Code::Unknown | Code::Cancelled | Code::DeadlineExceeded
            )
            && !(status.code() == Code::ResourceExhausted
                && status.metadata().get("retry-after").is_some())
        {
            self.state.lock().await.quiet.insert(id.clone());
        }
    }

    /// Whether the ceremony waits on something this agent sent that the
    /// coordinator may have lost: a decision it has not acknowledged, or a
    /// share of the current attempt it does not hold.
    pub(super) fn owes_a_resend(&self, status: &proto::CeremonyStatus) -> bool {
        let Ok(id) = CeremonyId::new(&status.id) else {
            return false;
        };
        let Ok(Some(entry)) = self.journal.get(&id) else {
            return false;
        };
        let me = self.config.id.as_str();
        !entry.acknowledged
            || (status.signing_set.iter().any(|s| s == me)
                && !status.shares_received.iter().any(|s| s == me)
                && entry.sent_share(status.attempt).is_some())
    }

    /// Marks the decision acknowledged once the coordinator lists it, and
    /// asks for the record check the ceremony's progress calls for.
    pub(super) async fn follow_record(
        &self,
        id: &CeremonyId,
        status: &proto::CeremonyStatus,
        entry: Entry,
        open: bool,
    ) -> Entry {
        let me = self.config.id.as_str();
        // Listed with the decision journaled, not another.
        let listed = match entry.decision {
            Decision::Approved => status.approvals.iter().any(|a| a.participant == me),
            Decision::Rejected => status.rejections.iter().any(|r| r.participant == me),
        };
        let entry = if listed && !entry.acknowledged {
            self.acknowledge(id, entry)
        } else {
            entry
        };
        self.want_record_check(id, &entry, open);
        entry
    }

    /// Carries out what the signing gate decides about the ceremony.
    pub(super) async fn carry_on(
        &self,
        id: &CeremonyId,
        status: &proto::CeremonyStatus,
        work: &proto::Work,
        entry: Entry,
    ) -> Result<(), AgentError> {
        let view = match CeremonyView::try_from(status) {
            Ok(view) => view,
            Err(e) => {
                tracing::error!(ceremony = %id, error = %e, "malformed ceremony status refused");
                return Ok(());
            }
        };
        let mut state = self.state.lock().await;
        let mut client = state
            .client
            .clone()
            .ok_or_else(|| AgentError::Offline("not connected".into()))?;
        let held = state.nonces.get(id);
        let verdict = gate::decide(&gate::Inputs {
            me: &self.config.id,
            group: &self.group,
            entry: &entry,
            held: held.map(|h| gate::Held {
                commitments: h.nonces.commitments(),
                since: h.since,
            }),
            ceremony: &view,
            package: &work.signing_package,
            commitments_wanted: work.commitments_wanted,
        });
        match verdict {
            Verdict::Wait => Ok(()),
            Verdict::Resend { share } => {
                drop(state);
                let request = proto::SubmitShareRequest {
                    ceremony: id.to_string(),
                    attempt: view.attempt,
                    signature_share: share,
                };
                let reply = self
                    .write(&mut client, |mut c| {
                        let request = request.clone();
                        async move { c.submit_share(request).await }
                    })
                    .await;
                tracing::info!(participant = %self.config.id, ceremony = %id, attempt = view.attempt, ok = reply.is_ok(), "signature share sent again");
                let result = match reply {
                    // It arrived after all.
                    Err(status) if status.code() == Code::AlreadyExists => Ok(()),
                    reply => reply.map(|_| ()).map_err(AgentError::Coordinator),
                };
                self.quiet_if_final(id, &result).await;
                result
            }
            Verdict::CommitAfresh => {
                state.nonces.remove(id);
                drop(state);
                self.send_fresh_commitments(id, &mut client).await
            }
            Verdict::Refuse(refusal) => {
                if refusal.destroys_nonces() {
                    // A coordinator that sends a forbidden package gets
                    // nothing, and these nonces are never used.
                    state.nonces.remove(id);
                }
                drop(state);
                self.refused(id, &view, refusal).await
            }
            Verdict::Sign {
                package,
                message,
                expected,
            } => {
                drop(state);
                // This ceremony's work waits here, in its own queue.
                match self.before_release(id, &entry, &view).await {
                    Ok(()) => {}
                    Err(release::Hold::NotYet(why)) => {
                        tracing::warn!(participant = %self.config.id, ceremony = %id, %why, "share held back");
                        return Ok(());
                    }
                    Err(release::Hold::Breach(why)) => {
                        tracing::error!(participant = %self.config.id, ceremony = %id, %why, "the record forbids this share");
                        self.state.lock().await.nonces.remove(id);
                        return self
                            .refused(id, &view, Refusal::PolicyViolation { why })
                            .await;
                    }
                }
                // Taken out: these nonces sign this package or nothing.
                let Some(held) = self.state.lock().await.nonces.remove(id) else {
                    return Ok(());
                };
                let commitments = held.nonces.commitments().serialize().unwrap_or_default();
                let share = match signer::sign(&expected, &package, held.nonces, &self.key) {
                    Ok(share) => share,
                    Err(refusal) => {
                        let refusal = Refusal::WrongMessage {
                            why: refusal.to_string(),
                        };
                        return self.refused(id, &view, refusal).await;
                    }
                };
                let signed = SignedAttempt {
                    attempt: view.attempt,
                    message,
                    sent: Some(SentShare {
                        package_sha256: Sha256Digest::of(&work.signing_package),
                        share: share.serialize(),
                        commitments,
                    }),
                };
                self.journal
                    .update(id, |e| e.signed_attempts.push(signed.clone()))
                    .await
                    .map_err(|e| AgentError::Journal(e.to_string()))?;
                let request = proto::SubmitShareRequest {
                    ceremony: id.to_string(),
                    attempt: view.attempt,
                    signature_share: share.serialize(),
                };
                let reply = self
                    .write(&mut client, |mut c| {
                        let request = request.clone();
                        async move { c.submit_share(request).await }
                    })
                    .await;
                tracing::info!(participant = %self.config.id, ceremony = %id, attempt = view.attempt, ok = reply.is_ok(), "signature share sent");
                reply.map(|_| ()).map_err(AgentError::Coordinator)
            }
        }
    }

    /// Journals and reports a refusal of the signing gate.
    pub(super) async fn refused(
        &self,
        id: &CeremonyId,
        view: &CeremonyView,
        refusal: Refusal,
    ) -> Result<(), AgentError> {
        tracing::error!(participant = %self.config.id, ceremony = %id, attempt = view.attempt, %refusal, "refused to take part");
        let refused = Refused {
            version: view.version,
            attempt: view.attempt,
            refusal,
        };
        self.journal
            .update(id, |e| {
                e.note_refusal(refused.clone());
            })
            .await
            .map(|_| ())
            .map_err(|e| AgentError::Journal(e.to_string()))
    }

    /// Round 1: new nonces and their encoded commitments.
    pub(super) fn fresh_nonces(&self) -> Result<(Nonces, Vec<u8>), AgentError> {
        let nonces = Nonces::generate(&self.key, &mut OsRng);
        let commitments = nonces
            .commitments()
            .serialize()
            .map_err(|e| AgentError::Journal(format!("cannot encode commitments: {e}")))?;
        Ok((nonces, commitments))
    }

    pub(super) async fn send_fresh_commitments(
        &self,
        id: &CeremonyId,
        client: &mut Client,
    ) -> Result<(), AgentError> {
        let (nonces, commitments) = self.fresh_nonces()?;
        let request = proto::CommitRequest {
            ceremony: id.to_string(),
            commitments,
        };
        let reply = self
            .write(client, |mut c| {
                let request = request.clone();
                async move { c.commit(request).await }
            })
            .await;
        match reply {
            Ok(ack) => {
                let since = ack.get_ref().ceremony.as_ref().map_or(0, |c| c.version);
                self.state
                    .lock()
                    .await
                    .nonces
                    .insert(id.clone(), Held { nonces, since });
                tracing::info!(participant = %self.config.id, ceremony = %id, "fresh commitments sent");
                Ok(())
            }
            Err(status) if status.code() == Code::AlreadyExists => Ok(()),
            Err(status) => Err(AgentError::Coordinator(status)),
        }
    }
}
