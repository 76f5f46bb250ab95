//! The coordinator refuses to serve plaintext unless told to, and then only
//! on loopback.

use quorate_coordinator::Config;

fn config(dir: &std::path::Path, listen: &str) -> Config {
    toml::from_str(&format!(
        "listen = \"{listen}\"\ndata_dir = \"{}\"\n",
        dir.join("data").display()
    ))
    .unwrap()
}

#[tokio::test]
async fn plaintext_needs_the_insecure_flag_and_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let err = quorate_coordinator::start(&config(dir.path(), "127.0.0.1:0"))
        .await
        .err()
        .expect("no TLS and no insecure flag is refused");
    assert!(err.to_string().contains("no [tls]"), "{err}");

    let mut anywhere = config(dir.path(), "0.0.0.0:0");
    anywhere.insecure_plaintext = true;
    let err = quorate_coordinator::start(&anywhere)
        .await
        .err()
        .expect("plaintext beyond loopback is refused");
    assert!(err.to_string().contains("only on loopback"), "{err}");

    let mut local = config(dir.path(), "127.0.0.1:0");
    local.insecure_plaintext = true;
    let running = quorate_coordinator::start(&local).await.unwrap();
    assert!(running.addr.ip().is_loopback());
    running.stop().await.unwrap();
}

#[tokio::test]
async fn log_key_prints_the_verifier_key_of_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("coordinator.toml");
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\ninsecure_plaintext = true\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let log_key = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_quorate-coordinator"))
            .args(["log-key", "--config"])
            .arg(&path)
            .output()
            .unwrap()
    };
    // Before the first start there is none, and it says so.
    let out = log_key();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("holds no log key yet"), "{err}");
    assert!(
        !dir.path().join("data/log-key.json").exists(),
        "nothing was made"
    );

    let mut config = config(dir.path(), "127.0.0.1:0");
    config.insecure_plaintext = true;
    let running = quorate_coordinator::start(&config).await.unwrap();
    let expected = running.log_verifier_key.clone();
    // While it runs, and after.
    let out = log_key();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), expected);
    running.stop().await.unwrap();
    let out = log_key();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), expected);
}

/// Whatever refuses a start, it refuses it before anything is written: no
/// data directory, no log key, no record entry.
#[tokio::test]
async fn a_refused_start_writes_nothing_and_says_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    // A certificate that is not there.
    let mut missing_cert: quorate_coordinator::Config = toml::from_str(&format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n[tls]\ncert = \"{}\"\nkey = \"{}\"\nclient_ca = \"{}\"\n",
        data.display(),
        dir.path().join("nope.crt").display(),
        dir.path().join("nope.key").display(),
        dir.path().join("ca.crt").display(),
    ))
    .unwrap();
    missing_cert.insecure_plaintext = false;
    let err = quorate_coordinator::start(&missing_cert)
        .await
        .err()
        .expect("a missing certificate is refused");
    assert!(err.to_string().contains("nope.crt"), "{err}");
    assert!(!data.exists(), "nothing was written");

    // A port another process holds.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut busy = config(dir.path(), &taken.local_addr().unwrap().to_string());
    busy.insecure_plaintext = true;
    let err = quorate_coordinator::start(&busy)
        .await
        .err()
        .expect("a port in use is refused");
    assert!(err.to_string().contains("cannot listen on"), "{err}");
    assert!(!data.exists(), "nothing was written");

    // A store another coordinator holds: the first keeps serving.
    let mut first = config(dir.path(), "127.0.0.1:0");
    first.insecure_plaintext = true;
    let running = quorate_coordinator::start(&first).await.unwrap();
    let key = std::fs::read(data.join("log-key.json")).unwrap();
    let err = quorate_coordinator::start(&first)
        .await
        .err()
        .expect("a held store is refused");
    assert!(
        err.to_string().contains("another coordinator holds"),
        "{err}"
    );
    assert_eq!(std::fs::read(data.join("log-key.json")).unwrap(), key);
    running.stop().await.unwrap();
}

#[test]
fn a_store_that_is_not_postgres_is_refused_and_its_url_never_printed() {
    let parse = |store: &str| {
        toml::from_str::<Config>(&format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"/tmp/x\"\nstore = \"{store}\"\n"
        ))
    };
    let err = parse("mysql://quorate@db/quorate")
        .err()
        .map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("store must be a postgres:// URL")),
        "{err:?}"
    );
    let config = parse("postgres://quorate:hunter2@db.internal/quorate")
        .unwrap_or_else(|e| panic!("a PostgreSQL URL is taken: {e}"));
    assert!(config.store.is_some());
    let shown = format!("{config:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    let config: Config = toml::from_str(
        "listen = \"127.0.0.1:0\"\ndata_dir = \"/tmp/x\"\nstore_ca = \"/tmp/ca.pem\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let err = config.database().err().map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some("store_ca is set but store is not"));
}
