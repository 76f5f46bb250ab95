//! The agent's control socket as its clients (`quorate-participant
//! approve`, `show`, ...) see it: a call that the agent never answers ends
//! at the client's deadline instead of hanging the terminal.

use std::time::Duration;

use quorate_wire as proto;

#[tokio::test]
async fn a_call_the_agent_never_answers_ends_at_its_deadline() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("agent.sock");
    let listener = tokio::net::UnixListener::bind(&path)?;
    // An agent that takes connections and never answers on them.
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let mut client =
        quorate_participant::control::connect_within(&path, Duration::from_millis(500)).await?;
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        client.pending(proto::PendingRequest {}),
    )
    .await?;
    let status = answer
        .err()
        .ok_or_else(|| anyhow::anyhow!("a silent agent answered"))?;
    assert_eq!(status.code(), tonic::Code::Cancelled, "{status:?}");
    assert!(status.message().contains("Timeout expired"), "{status:?}");
    silent.abort();
    Ok(())
}
