//! Where the agent's writes go. Its feed comes from whichever of the
//! coordinator's addresses answered; with replicas over PostgreSQL that
//! may be one that follows the record, which refuses writes and names the
//! replica that takes them ([`quorate_wire::coordinators::WRITER`]). The
//! agent then sends its writes there, if it is one of its own addresses,
//! while its feed stays where it is.
use super::*;

impl Agent {
    /// Makes the call with `client`; if a follower refused it naming the
    /// writer, sends writes there from now on and makes it once more.
    pub(super) async fn write<T, F, Fut>(&self, client: &mut Client, call: F) -> Result<T, Status>
    where
        F: Fn(Client) -> Fut,
        Fut: std::future::Future<Output = Result<T, Status>>,
    {
        match call(client.clone()).await {
            Err(status) => match self.writer_named(&status).await {
                Some(writer) => {
                    *client = writer;
                    call(client.clone()).await
                }
                None => Err(status),
            },
            done => done,
        }
    }

    /// A client of the replica a follower's refusal names, which the
    /// agent's writes use from now on; `None` if the refusal names none,
    /// or one the agent was not given. A writer that went away (a
    /// refusal naming none) sends writes back to the feed's replica,
    /// which knows the next one.
    async fn writer_named(&self, status: &Status) -> Option<Client> {
        let Some(named) = quorate_wire::coordinators::writer_of(status) else {
            if status.code() == Code::Unavailable {
                let mut state = self.state.lock().await;
                state.client = state.feed.clone();
            }
            return None;
        };
        let Some(index) = self.config.coordinator.position(named) else {
            tracing::warn!(participant = %self.config.id, writer = named, "a follower named a writer that is not among this agent's coordinator addresses; ignored");
            return None;
        };
        let url = &self.config.coordinator.addresses()[index];
        let channel =
            quorate_wire::tls::channel_with(url, self.config.tls.as_ref(), &self.config.network)
                .await
                .map_err(|e| {
                    tracing::warn!(participant = %self.config.id, writer = %url, error = %e, "cannot reach the replica that takes writes");
                })
                .ok()?;
        let identify = Identify::new(self.config.id.as_str()).ok()?;
        let client = SignerClient::with_interceptor(channel, identify);
        self.state.lock().await.client = Some(client.clone());
        tracing::info!(participant = %self.config.id, writer = %url, "sending writes to the replica that takes them");
        Some(client)
    }
}
