//! Unit tests of the parent module.

use super::*;

#[test]
fn only_http_urls_with_a_host_are_taken() {
    check_url("http://127.0.0.1:9000/alert").unwrap();
    for bad in [
        "https://alerts.example/x",
        "alerts.example/x",
        "http:///x",
        "::",
    ] {
        assert!(check_url(bad).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn a_refused_connection_is_reported() {
    // Bind and drop: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/alert");
    let err = post_json(&url, "{}".into(), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(err.contains(&url), "{err}");
}
