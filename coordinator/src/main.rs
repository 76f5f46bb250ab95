//! `quorate-coordinator`: the coordinator server (`quorate_coordinator::cli`).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    quorate_coordinator::cli::main().await
}
