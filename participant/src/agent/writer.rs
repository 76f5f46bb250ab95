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

    /// A client of the replica that takes writes, which the agent's
    /// writes use from now on: the one a follower's refusal names, if it
    /// is one of the agent's addresses, else the one whose health service
    /// says it takes writes (a replica may advertise an address the agent
    /// knows by another name). `None` if the refusal came from no
    /// follower. A writer that went away (no answer at all) sends writes
    /// back to the feed's replica, which knows the next one.
    async fn writer_named(&self, status: &Status) -> Option<Client> {
        if status.code() != Code::Unavailable {
            return None;
        }
        let named = quorate_wire::coordinators::writer_of(status);
        let answered = status.metadata().get("content-type").is_some();
        if named.is_none() {
            if !answered {
                let mut state = self.state.lock().await;
                state.client = state.feed.clone();
            }
            return None;
        }
        let coordinators = &self.config.coordinator;
        let (tls, network) = (self.config.tls.as_ref(), &self.config.network);
        let channel = match named.and_then(|n| coordinators.position(n)) {
            Some(index) => {
                let url = &coordinators.addresses()[index];
                quorate_wire::tls::channel_with(url, tls, network).await
            }
            None => quorate_wire::tls::channel_writer(coordinators, tls, network).await,
        };
        let channel = channel
            .map_err(|e| {
                tracing::warn!(participant = %self.config.id, writer = ?named, error = %e, "cannot reach the replica that takes writes");
            })
            .ok()?;
        let identify = Identify::new(self.config.id.as_str()).ok()?;
        let client = SignerClient::with_interceptor(channel, identify);
        self.state.lock().await.client = Some(client.clone());
        tracing::info!(participant = %self.config.id, writer = ?named, "sending writes to the replica that takes them");
        Some(client)
    }
}
