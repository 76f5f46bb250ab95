//! Alerts that arrive: the coordinator's alerts go out through an outbox
//! kept with the record, so a coordinator process killed with SIGKILL
//! after recording a break-glass request, but before its webhook took the
//! alert, delivers it after its restart. Expired ceremonies are alerted
//! too.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use quorate::local::{LocalDeployment, Options, REQUESTER, sample_roster};
use quorate_e2e::process::CoordinatorProcess;
use quorate_e2e::*;
use quorate_wire as proto;

const BIN: &str = env!("CARGO_BIN_EXE_quorate-coordinator-process");

/// A webhook on loopback that answers 503 until `accepting` is set, then
/// takes (and passes on) every body.
async fn flaky_webhook() -> (
    String,
    Arc<AtomicBool>,
    tokio::sync::mpsc::UnboundedReceiver<String>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let accepting = Arc::new(AtomicBool::new(false));
    let (tx, posted) = tokio::sync::mpsc::unbounded_channel::<String>();
    let open = Arc::clone(&accepting);
    let app = axum::Router::new().route(
        "/alert",
        axum::routing::post(move |body: String| {
            let (tx, open) = (tx.clone(), Arc::clone(&open));
            async move {
                if !open.load(Ordering::SeqCst) {
                    return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down");
                }
                let _ = tx.send(body);
                (axum::http::StatusCode::OK, "ok")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/alert", listener.local_addr().unwrap());
    let task = tokio::spawn(async move { axum::serve(listener, app).await });
    (url, accepting, posted, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_break_glass_alert_survives_a_kill_before_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let (url, accepting, mut posted, webhook) = flaky_webhook().await;
    let policy = quorate_types::Policy::from_toml(
        "[emergency]\ndeclarers = [\"release-manager\"]\nreviewers = [\"auditor\"]\n",
    )
    .unwrap();
    let mut d = LocalDeployment::start_with(
        dir.path(),
        "release",
        &sample_roster(None),
        3,
        Options {
            policy,
            alert_webhook: Some(url),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut coordinator = CoordinatorProcess::take_over(&mut d, BIN).await;
    let id = d
        .clients(REQUESTER)
        .await
        .unwrap()
        .ceremonies
        .create(proto::CreateCeremonyRequest {
            key_group: "release".into(),
            message: MANIFEST.as_bytes().to_vec(),
            label: "SHA256SUMS".into(),
            break_glass: true,
            justification: "CVE-2026-4242 is exploited".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .id;
    // The request is recorded; the webhook refuses the alert for a while,
    // then the coordinator dies as SIGKILL kills it.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(posted.try_recv().is_err());
    coordinator.kill();
    accepting.store(true, Ordering::SeqCst);
    coordinator.start(&d).await;
    let alert = tokio::time::timeout(T, posted.recv())
        .await
        .expect("the alert came after the restart")
        .unwrap();
    let alert: serde_json::Value = serde_json::from_str(&alert).unwrap();
    assert_eq!(alert["alert"], "break_glass_declared");
    assert_eq!(alert["ceremony"], id.as_str());
    assert_eq!(alert["justification"], "CVE-2026-4242 is exploited");
    coordinator.terminate().await;
    webhook.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_ceremony_is_alerted_through_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.jsonl");
    let hook = vec![
        "sh".into(),
        "-c".into(),
        format!("cat >> {}; echo >> {}", alerts.display(), alerts.display()),
    ];
    let policy = quorate_types::Policy::from_toml("[deadlines]\napproval = \"1s\"\n").unwrap();
    let d = LocalDeployment::start_with(
        dir.path(),
        "release",
        &sample_roster(None),
        3,
        Options {
            policy,
            alert_command: Some(hook),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let id = request(&d, MANIFEST).await;
    let expired = wait_for(&d, &id, "its expiry", |s| {
        s.state() == proto::CeremonyState::Expired
    })
    .await;
    assert_eq!(expired.state(), proto::CeremonyState::Expired);
    let alert = alert_line(&alerts, "ceremony_expired").await;
    assert_eq!(alert["ceremony"], id.as_str());
    assert!(
        alert["why"].as_str().unwrap().contains("approval"),
        "{alert}"
    );
    d.stop().await.unwrap();
}

/// An HTTPS webhook on loopback, its server certificate issued by `pki`:
/// its URL, the bodies POSTed to it, and its task.
async fn https_webhook(
    pki: &quorate::pki::LocalPki,
) -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<String>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let server = pki.server().unwrap();
    let certs = CertificateDer::pem_file_iter(&server.cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&server.key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let (tx, posted) = tokio::sync::mpsc::unbounded_channel::<String>();
    let app = axum::Router::new().route(
        "/alert",
        axum::routing::post(move |body: String| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
                "ok"
            }
        }),
    );
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/alert", tcp.local_addr().unwrap());
    let task = tokio::spawn(async move {
        // Serves until the test ends (the sender is never told to stop).
        let (_serving, stop) = tokio::sync::watch::channel(false);
        quorate_web::serve::serve(tcp, Some(Arc::new(config)), app, stop).await
    });
    (url, posted, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_https_webhook_gets_alerts_from_a_server_its_ca_issued() {
    let dir = tempfile::tempdir().unwrap();
    let webhook_pki = quorate::pki::LocalPki::create(&dir.path().join("webhook-pki")).unwrap();
    let stranger_pki = quorate::pki::LocalPki::create(&dir.path().join("other-pki")).unwrap();
    let (url, mut posted, webhook) = https_webhook(&webhook_pki).await;
    // Trusting another CA, the post fails, saying why.
    let wrong = quorate_wire::webhook::Webhook::new(&url, Some(&stranger_pki.ca_cert())).unwrap();
    let err = wrong
        .post_json("{}".into(), std::time::Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(err.contains("TLS") && err.contains("certificate"), "{err}");
    // An https:// URL without a CA file is refused at start.
    let err = quorate_wire::webhook::Webhook::new(&url, None).unwrap_err();
    assert!(err.contains("alert_webhook_ca"), "{err}");

    let policy = quorate_types::Policy::from_toml(
        "[emergency]\ndeclarers = [\"release-manager\"]\nreviewers = [\"auditor\"]\n",
    )
    .unwrap();
    let d = LocalDeployment::start_with(
        dir.path(),
        "release",
        &sample_roster(None),
        3,
        Options {
            policy,
            alert_webhook: Some(url),
            alert_webhook_ca: Some(webhook_pki.ca_cert()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let id = d
        .clients(REQUESTER)
        .await
        .unwrap()
        .ceremonies
        .create(proto::CreateCeremonyRequest {
            key_group: "release".into(),
            message: MANIFEST.as_bytes().to_vec(),
            label: "SHA256SUMS".into(),
            break_glass: true,
            justification: "CVE-2026-4242 is exploited".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .id;
    let alert = tokio::time::timeout(T, posted.recv())
        .await
        .unwrap()
        .unwrap();
    let alert: serde_json::Value = serde_json::from_str(&alert).unwrap();
    assert_eq!(alert["alert"], "break_glass_declared");
    assert_eq!(alert["ceremony"], id.as_str());
    d.stop().await.unwrap();
    webhook.abort();
}
