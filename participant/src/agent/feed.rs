//! The work feed: one stream from the coordinator, reconnected with
//! backoff, whose items are handed to one queue and task per ceremony.
use super::*;

impl Agent {
    pub(super) async fn connect(&self) -> anyhow::Result<(Client, fetch::Client)> {
        // From the replica that answered last: when it went away, the
        // others are tried in turn.
        let from = self
            .coordinator_index
            .load(std::sync::atomic::Ordering::Relaxed);
        let (channel, index) = quorate_wire::tls::channel_any(
            &self.config.coordinator,
            from,
            self.config.tls.as_ref(),
            &self.config.network,
        )
        .await
        .map_err(anyhow::Error::msg)?;
        if index != from {
            tracing::info!(
                participant = %self.config.id,
                coordinator = %self.config.coordinator.addresses()[index],
                "connected to another of the coordinator's addresses"
            );
        }
        self.coordinator_index
            .store(index, std::sync::atomic::Ordering::Relaxed);
        let identify = Identify::new(self.config.id.as_str()).map_err(anyhow::Error::msg)?;
        Ok((
            SignerClient::with_interceptor(channel.clone(), identify.clone()),
            AuditClient::with_interceptor(channel, identify),
        ))
    }

    /// Keeps the work feed open until `stop` turns true, reconnecting with
    /// backoff whenever the coordinator goes away.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(50);
        loop {
            let mut queues = Queues::default();
            let mut connected = false;
            let stopped = {
                let session = async {
                    let (mut client, audit) = self.connect().await?;
                    let mut feed = client
                        .subscribe(proto::SubscribeRequest {})
                        .await?
                        .into_inner();
                    {
                        let mut state = self.state.lock().await;
                        state.client = Some(client.clone());
                        state.feed = Some(client);
                        state.audit = Some(audit);
                    }
                    tracing::info!(participant = %self.config.id, "connected to the coordinator");
                    connected = true;
                    if self.verifier.is_some() {
                        for request in record_task::catch_up(&self) {
                            self.record_checks.push(request);
                        }
                    }
                    let mut resend = tokio::time::interval(RESEND_EVERY);
                    loop {
                        tokio::select! {
                            work = feed.message() => match work? {
                                Some(work) => queues.dispatch(&self, work),
                                None => break,
                            },
                            _ = resend.tick() => {
                                // What the coordinator may have lost goes
                                // through its ceremony's queue again.
                                let owed: Vec<proto::Work> = {
                                    let state = self.state.lock().await;
                                    state
                                        .work
                                        .values()
                                        .filter(|w| {
                                            // Owed: something sent and not
                                            // acknowledged, or commitments
                                            // asked for (a send refused by
                                            // a rate limit, say); the gate
                                            // sends them once.
                                            w.ceremony.as_ref().is_some_and(|c| {
                                                is_open(c)
                                                    && !CeremonyId::new(&c.id)
                                                        .is_ok_and(|id| state.quiet.contains(&id))
                                                    && (self.owes_a_resend(c)
                                                        || w.commitments_wanted)
                                            })
                                        })
                                        .cloned()
                                        .collect()
                                };
                                for work in owed {
                                    queues.dispatch(&self, work);
                                }
                            }
                        }
                    }
                    anyhow::Ok(())
                };
                tokio::select! {
                    result = session => {
                        match result {
                            Ok(()) => tracing::warn!(participant = %self.config.id, "the coordinator closed the work feed"),
                            Err(e) => tracing::warn!(participant = %self.config.id, error = %e, "work feed lost"),
                        }
                        false
                    }
                    _ = stop.changed() => true,
                }
            };
            // The session's ceremony tasks end with it, and are waited
            // for: once stopped, nothing of this agent holds its journal.
            queues.tasks.shutdown().await;
            if stopped {
                return;
            }
            if connected {
                // A feed that worked starts the backoff afresh.
                backoff = Duration::from_millis(50);
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

/// The most work items waiting for one ceremony's task; past it the
/// oldest waiting one goes (a later status supersedes it, and carries
/// what is still wanted of this agent).
const MAX_WAITING: usize = 16;

/// One queue and task per ceremony: ceremonies proceed side by side, each
/// one's work in the order the coordinator sent it, at most
/// [`MAX_WAITING`] items waiting, however fast the coordinator sends. A
/// ceremony's task ends when the ceremony is finished; every task ends
/// with the feed's session.
#[derive(Default)]
struct Queues {
    queues: HashMap<CeremonyId, Arc<Queue>>,
    tasks: tokio::task::JoinSet<()>,
}

#[derive(Default)]
struct Queue {
    waiting: std::sync::Mutex<std::collections::VecDeque<proto::Work>>,
    arrived: tokio::sync::Notify,
    ended: std::sync::atomic::AtomicBool,
}

impl Queue {
    fn push(&self, work: proto::Work) {
        let mut waiting = self
            .waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if waiting.len() == MAX_WAITING {
            waiting.pop_front();
        }
        waiting.push_back(work);
        drop(waiting);
        self.arrived.notify_one();
    }

    fn pop(&self) -> Option<proto::Work> {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop_front()
    }
}

impl Queues {
    fn dispatch(&mut self, agent: &Arc<Agent>, work: proto::Work) {
        let Some(id) = work
            .ceremony
            .as_ref()
            .and_then(|c| CeremonyId::new(&c.id).ok())
        else {
            return;
        };
        while self.tasks.try_join_next().is_some() {}
        self.queues
            .retain(|_, q| !q.ended.load(std::sync::atomic::Ordering::Acquire));
        if let Some(queue) = self.queues.get(&id) {
            queue.push(work);
            return;
        }
        let queue = Arc::new(Queue::default());
        queue.push(work);
        self.queues.insert(id, Arc::clone(&queue));
        let agent = Arc::clone(agent);
        self.tasks.spawn(async move {
            loop {
                let Some(work) = queue.pop() else {
                    queue.arrived.notified().await;
                    continue;
                };
                let finished = work.ceremony.as_ref().is_some_and(|c| !is_open(c));
                agent.reconcile(work).await;
                if finished {
                    // Work that comes for it later starts a new task.
                    queue
                        .ended
                        .store(true, std::sync::atomic::Ordering::Release);
                    return;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests;
