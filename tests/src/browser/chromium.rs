//! Chromium through chromedriver's W3C WebDriver API over HTTP on
//! loopback: one chromedriver process per browser, run with its own home
//! (whose NSS database Chromium reads) and profile.

use std::path::Path;
use std::process::Stdio;

use anyhow::{Context, anyhow, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use super::{COMMAND_WITHIN, Command, START_WITHIN, free_port, value_of};

pub(super) struct Chromium {
    driver: tokio::process::Child,
    base: String,
    session: String,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl Chromium {
    pub(super) async fn start(home: &Path, profile: &Path) -> anyhow::Result<Self> {
        let port = free_port()?;
        let driver = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .env("HOME", home)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot run chromedriver (tests/run installs Debian's chromium-driver)")?;
        let mut browser = Self {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        };
        let deadline = tokio::time::Instant::now() + START_WITHIN;
        loop {
            let ready = browser.request("GET", "/status", None).await;
            if ready.as_ref().is_ok_and(|v| v["ready"] == true) {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                bail!("chromedriver did not become ready: {ready:?}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let profile = profile.display().to_string();
        let created = browser
            .request(
                "POST",
                "/session",
                Some(json!({ "capabilities": { "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": "/usr/bin/chromium",
                        "args": [
                            "--headless=new", "--no-sandbox", "--disable-gpu",
                            "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                            "--disable-background-networking", "--disable-component-update",
                            "--disable-sync", "--window-size=1200,900",
                            format!("--user-data-dir={profile}"),
                        ]
                    }
                }}})),
            )
            .await?;
        browser.session = created["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no session id in {created}"))?
            .to_string();
        Ok(browser)
    }

    pub(super) async fn call(&self, command: Command<'_>) -> anyhow::Result<Value> {
        let (method, path, body) = command.webdriver();
        self.request(method, &format!("/session/{}{path}", self.session), body)
            .await
    }

    /// One WebDriver request; its `value`, or the driver's error.
    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))?;
        let response = tokio::time::timeout(COMMAND_WITHIN, self.client.request(request))
            .await
            .map_err(|_| anyhow!("{method} {path}: no answer within {COMMAND_WITHIN:?}"))??;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        let value: Value = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{method} {path}: not JSON: {}",
                String::from_utf8_lossy(&bytes)
            )
        })?;
        if !status.is_success() {
            bail!("{method} {path}: {status}: {}", value["value"]);
        }
        Ok(value_of(value))
    }

    pub(super) async fn stop(mut self) -> anyhow::Result<()> {
        let session = format!("/session/{}", self.session);
        let _ = self.request("DELETE", &session, None).await;
        let _ = self.driver.kill().await;
        Ok(())
    }
}
