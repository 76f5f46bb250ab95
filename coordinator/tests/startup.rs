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
