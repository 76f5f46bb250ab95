//! A real browser for the page tests: Debian's Chromium, headless, driven
//! through its chromedriver's W3C WebDriver API on loopback (`tests/run`
//! installs both). Each [`Browser`] is one chromedriver process with one
//! session, a fresh profile and a home of its own, whose NSS database may
//! trust a CA and hold a client certificate ([`Certificates`]); dropping it
//! kills the driver and its browser. `tests/run` installs the policy that
//! has Chromium present a client certificate the local deployments' CA
//! issued to https://127.0.0.1, without a picker.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

/// The key W3C WebDriver names an element reference with.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The longest any one WebDriver command may take.
const COMMAND_WITHIN: Duration = Duration::from_secs(30);

pub struct Browser {
    driver: tokio::process::Child,
    base: String,
    session: String,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    _profile: tempfile::TempDir,
    _home: tempfile::TempDir,
}

/// What the browser's certificate store holds: a CA it trusts for
/// servers, and perhaps a client certificate (PEM files).
pub struct Certificates<'a> {
    pub ca: &'a Path,
    pub client: Option<(&'a Path, &'a Path)>,
}

fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {program} (tests/run installs it)"))?;
    if !out.status.success() {
        bail!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// An NSS database in `home`, as Chromium on Linux reads it, holding
/// `certificates`.
fn nss_database(home: &Path, certificates: &Certificates<'_>) -> anyhow::Result<()> {
    let db = home.join(".pki/nssdb");
    std::fs::create_dir_all(&db)?;
    let db = format!("sql:{}", db.display());
    run("certutil", &["-N", "-d", &db, "--empty-password"])?;
    let ca = certificates.ca.display().to_string();
    run(
        "certutil",
        &[
            "-A",
            "-d",
            &db,
            "-n",
            "deployment CA",
            "-t",
            "C,,",
            "-i",
            &ca,
        ],
    )?;
    if let Some((cert, key)) = certificates.client {
        let p12 = home.join("client.p12").display().to_string();
        let (cert, key) = (cert.display().to_string(), key.display().to_string());
        run(
            "openssl",
            &[
                "pkcs12", "-export", "-in", &cert, "-inkey", &key, "-out", &p12, "-passout",
                "pass:",
            ],
        )?;
        run("pk12util", &["-i", &p12, "-d", &db, "-W", ""])?;
    }
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(None).await
    }

    /// As [`Self::start`], with `certificates` in the browser's store.
    pub async fn start_with(certificates: Option<Certificates<'_>>) -> anyhow::Result<Self> {
        let home = tempfile::tempdir()?;
        if let Some(certificates) = &certificates {
            nss_database(home.path(), certificates)?;
        }
        let port = free_port()?;
        let driver = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .env("HOME", home.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot run chromedriver (tests/run installs Debian's chromium-driver)")?;
        let profile = tempfile::tempdir()?;
        let mut browser = Self {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            _profile: profile,
            _home: home,
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let ready = browser.call("GET", "/status", None).await;
            if ready.as_ref().is_ok_and(|v| v["ready"] == true) {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                bail!("chromedriver did not become ready: {ready:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = browser._profile.path().display().to_string();
        let created = browser
            .call(
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

    /// One WebDriver command; its `value`, or the driver's error.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
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
        Ok(value["value"].clone())
    }

    fn at(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.call("POST", &self.at("/url"), Some(json!({ "url": url })))
            .await
            .map(|_| ())
    }

    /// The current page's address.
    pub async fn url(&self) -> anyhow::Result<String> {
        let value = self.call("GET", &self.at("/url"), None).await?;
        Ok(value.as_str().unwrap_or_default().to_string())
    }

    async fn element(&self, css: &str) -> anyhow::Result<String> {
        let found = self
            .call(
                "POST",
                &self.at("/element"),
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await
            .with_context(|| format!("no element {css}"))?;
        Ok(found[ELEMENT]
            .as_str()
            .ok_or_else(|| anyhow!("{css}: not an element: {found}"))?
            .to_string())
    }

    /// How many elements `css` selects.
    pub async fn count(&self, css: &str) -> anyhow::Result<usize> {
        let found = self
            .call(
                "POST",
                &self.at("/elements"),
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await?;
        Ok(found.as_array().map_or(0, Vec::len))
    }

    /// The rendered text of the element `css` selects.
    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        let element = self.element(css).await?;
        let value = self
            .call("GET", &self.at(&format!("/element/{element}/text")), None)
            .await?;
        Ok(value.as_str().unwrap_or_default().to_string())
    }

    /// Clicks the element `css` selects, as a user would.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let element = self.element(css).await?;
        self.call(
            "POST",
            &self.at(&format!("/element/{element}/click")),
            Some(json!({})),
        )
        .await
        .map(|_| ())
    }

    /// Presses Enter on the element `css` selects (focusing it first), as
    /// a keyboard user would.
    pub async fn press_enter(&self, css: &str) -> anyhow::Result<()> {
        self.type_into(css, "\u{E007}").await
    }

    /// Types `text` into the element `css` selects.
    pub async fn type_into(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let element = self.element(css).await?;
        self.call(
            "POST",
            &self.at(&format!("/element/{element}/value")),
            Some(json!({ "text": text })),
        )
        .await
        .map(|_| ())
    }

    /// Runs `script` (a function body; `arguments[0]` is a callback) in the
    /// page, and returns what it passes to the callback.
    pub async fn run_async(&self, script: &str) -> anyhow::Result<Value> {
        self.call(
            "POST",
            &self.at("/execute/async"),
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Waits until the element `css` selects holds `wanted`, or `within`.
    pub async fn wait_for_text(
        &self,
        css: &str,
        wanted: &str,
        within: Duration,
    ) -> anyhow::Result<String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let text = self.text(css).await;
            if let Ok(text) = &text
                && text.contains(wanted)
            {
                return Ok(text.clone());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("{css} did not come to hold {wanted:?} within {within:?}: {text:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG of the window to `path`.
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let value = self.call("GET", &self.at("/screenshot"), None).await?;
        let png =
            base64::engine::general_purpose::STANDARD.decode(value.as_str().unwrap_or_default())?;
        std::fs::write(path, png)?;
        Ok(())
    }

    /// Ends the session and the driver.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.call("DELETE", &self.at(""), None).await;
        let _ = self.driver.kill().await;
        Ok(())
    }
}
