//! A new, empty database in a PostgreSQL cluster: for the tests (one per
//! test) and the benchmarks (one per run), which include this file.

/// Makes database `name` afresh (dropping one of that name) in the
/// cluster at `url`; its URL.
pub async fn fresh_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let connection = tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .await?;
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
