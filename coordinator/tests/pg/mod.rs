//! The tests' PostgreSQL: the throwaway cluster `tests/run` starts
//! (`QUORATE_TEST_POSTGRES` names it), a database of its own per test.

mod cluster;

/// A database of its own in the test cluster; its URL.
pub async fn database() -> anyhow::Result<String> {
    let url = std::env::var("QUORATE_TEST_POSTGRES").map_err(|_| {
        anyhow::anyhow!(
            "QUORATE_TEST_POSTGRES is not set: run the tests with tests/run, which starts a \
             throwaway PostgreSQL cluster"
        )
    })?;
    let name = format!(
        "quorate_{}",
        hex::encode(rand_core::RngCore::next_u64(&mut rand_core::OsRng).to_be_bytes())
    );
    cluster::fresh_database(&url, &name).await
}
