//! The tests' PostgreSQL: the throwaway cluster `tests/run` starts
//! (`QUORATE_TEST_POSTGRES` names it), a database of its own per test.

/// A database of its own in the test cluster; its URL.
pub async fn database() -> anyhow::Result<String> {
    let url = std::env::var("QUORATE_TEST_POSTGRES").map_err(|_| {
        anyhow::anyhow!(
            "QUORATE_TEST_POSTGRES is not set: run the tests with tests/run, which starts a \
             throwaway PostgreSQL cluster"
        )
    })?;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    let connection = tokio::spawn(connection);
    let name = format!(
        "quorate_{}",
        hex::encode(rand_core::RngCore::next_u64(&mut rand_core::OsRng).to_be_bytes())
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    drop(client);
    let _ = connection.await;
    let (base, _) = url
        .rsplit_once('/')
        .ok_or_else(|| anyhow::anyhow!("{url} names no database"))?;
    Ok(format!("{base}/{name}"))
}
