//! Real browsers for the page tests, headless, from Debian's packages
//! (`tests/run` installs them): Chromium through its chromedriver's W3C
//! WebDriver API ([`chromium`]), and Firefox ESR through Marionette, the
//! WebDriver protocol built into Firefox ([`firefox`]; Debian has no
//! geckodriver). Both on loopback. Each [`Browser`] is one browser with one
//! session, a fresh profile and a home of its own, whose certificate store
//! may trust a CA and hold a client certificate ([`Certificates`]);
//! dropping it kills the browser. Chromium presents a client certificate
//! through the policy `tests/run` installs, Firefox through its profile's
//! preferences.

mod chromium;
mod firefox;

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use base64::Engine;
use serde_json::{Value, json};

/// The key W3C WebDriver names an element reference with.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The longest any one WebDriver command may take.
const COMMAND_WITHIN: Duration = Duration::from_secs(30);

/// The longest a browser may take to start and take a session.
const START_WITHIN: Duration = Duration::from_secs(30);

/// Which browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Chromium,
    Firefox,
}

pub struct Browser {
    kind: Kind,
    driver: Driver,
    _profile: tempfile::TempDir,
    _home: tempfile::TempDir,
}

enum Driver {
    Chromium(Box<chromium::Chromium>),
    Firefox(Box<firefox::Firefox>),
}

/// What the browser's certificate store holds: a CA it trusts for
/// servers, and perhaps a client certificate (PEM files).
pub struct Certificates<'a> {
    pub ca: &'a Path,
    pub client: Option<(&'a Path, &'a Path)>,
}

/// One WebDriver command, as the page tests use them; each driver maps it
/// to its protocol.
enum Command<'a> {
    Navigate(&'a str),
    CurrentUrl,
    Find(&'a str),
    FindAll(&'a str),
    Text(&'a str),
    Click(&'a str),
    SendKeys(&'a str, &'a str),
    ExecuteAsync(&'a str),
    Screenshot,
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

/// An NSS database in `dir` (Chromium's `~/.pki/nssdb`, or a Firefox
/// profile) holding `certificates`; `scratch` takes the PKCS#12 file.
fn nss_database(dir: &Path, scratch: &Path, certificates: &Certificates<'_>) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let db = format!("sql:{}", dir.display());
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
        let p12 = scratch.join("client.p12").display().to_string();
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

/// A port for the browser's remote control, which the browser binds.
fn free_port() -> anyhow::Result<u16> {
    Ok(quorate::local::ports::unused_loopback()?.port())
}

/// A command's value: the `value` a reply wraps it in, or the reply
/// itself (Marionette sends some lists bare).
fn value_of(reply: Value) -> Value {
    match reply {
        Value::Object(mut map) if map.contains_key("value") => {
            map.remove("value").unwrap_or(Value::Null)
        }
        other => other,
    }
}

impl Browser {
    /// Starts a headless browser of `kind` with a session.
    pub async fn start(kind: Kind) -> anyhow::Result<Self> {
        Self::start_with(kind, None).await
    }

    /// As [`Self::start`], with `certificates` in the browser's store.
    pub async fn start_with(
        kind: Kind,
        certificates: Option<Certificates<'_>>,
    ) -> anyhow::Result<Self> {
        let home = tempfile::tempdir()?;
        let profile = tempfile::tempdir()?;
        let driver = match kind {
            Kind::Chromium => {
                if let Some(certificates) = &certificates {
                    nss_database(&home.path().join(".pki/nssdb"), home.path(), certificates)?;
                }
                Driver::Chromium(Box::new(
                    chromium::Chromium::start(home.path(), profile.path()).await?,
                ))
            }
            Kind::Firefox => {
                if let Some(certificates) = &certificates {
                    nss_database(profile.path(), home.path(), certificates)?;
                }
                Driver::Firefox(Box::new(
                    firefox::Firefox::start(home.path(), profile.path()).await?,
                ))
            }
        };
        Ok(Self {
            kind,
            driver,
            _profile: profile,
            _home: home,
        })
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    async fn call(&self, command: Command<'_>) -> anyhow::Result<Value> {
        match &self.driver {
            Driver::Chromium(c) => c.call(command).await,
            Driver::Firefox(f) => f.call(command).await,
        }
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.call(Command::Navigate(url)).await.map(|_| ())
    }

    /// The current page's address.
    pub async fn url(&self) -> anyhow::Result<String> {
        let value = self.call(Command::CurrentUrl).await?;
        Ok(value.as_str().unwrap_or_default().to_string())
    }

    async fn element(&self, css: &str) -> anyhow::Result<String> {
        let found = self
            .call(Command::Find(css))
            .await
            .with_context(|| format!("no element {css}"))?;
        Ok(found[ELEMENT]
            .as_str()
            .ok_or_else(|| anyhow!("{css}: not an element: {found}"))?
            .to_string())
    }

    /// How many elements `css` selects.
    pub async fn count(&self, css: &str) -> anyhow::Result<usize> {
        let found = self.call(Command::FindAll(css)).await?;
        Ok(found.as_array().map_or(0, Vec::len))
    }

    /// The rendered text of the element `css` selects.
    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        let element = self.element(css).await?;
        let value = self.call(Command::Text(&element)).await?;
        Ok(value.as_str().unwrap_or_default().to_string())
    }

    /// Clicks the element `css` selects, as a user would.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let element = self.element(css).await?;
        self.call(Command::Click(&element)).await.map(|_| ())
    }

    /// Presses Enter on the element `css` selects (focusing it first), as
    /// a keyboard user would.
    pub async fn press_enter(&self, css: &str) -> anyhow::Result<()> {
        self.type_into(css, "\u{E007}").await
    }

    /// Types `text` into the element `css` selects.
    pub async fn type_into(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let element = self.element(css).await?;
        self.call(Command::SendKeys(&element, text))
            .await
            .map(|_| ())
    }

    /// Runs `script` (a function body; `arguments[0]` is a callback) in the
    /// page, and returns what it passes to the callback.
    pub async fn run_async(&self, script: &str) -> anyhow::Result<Value> {
        self.call(Command::ExecuteAsync(script)).await
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

    /// Waits until the current page's address ends with `suffix` (a
    /// navigation that a key press started may still be under way), or
    /// `within`.
    pub async fn wait_for_url(&self, suffix: &str, within: Duration) -> anyhow::Result<String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let url = self.url().await?;
            if url.ends_with(suffix) {
                return Ok(url);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("the page did not come to {suffix:?} within {within:?}: it is at {url}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG of the window to `path`.
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let value = self.call(Command::Screenshot).await?;
        let png =
            base64::engine::general_purpose::STANDARD.decode(value.as_str().unwrap_or_default())?;
        std::fs::write(path, png)?;
        Ok(())
    }

    /// Ends the session and the browser.
    pub async fn stop(self) -> anyhow::Result<()> {
        match self.driver {
            Driver::Chromium(c) => (*c).stop().await,
            Driver::Firefox(f) => (*f).stop().await,
        }
    }
}

impl Command<'_> {
    /// The W3C WebDriver request: method, path under the session, body.
    fn webdriver(&self) -> (&'static str, String, Option<Value>) {
        let find = |css: &str| Some(json!({ "using": "css selector", "value": css }));
        match self {
            Command::Navigate(url) => ("POST", "/url".into(), Some(json!({ "url": url }))),
            Command::CurrentUrl => ("GET", "/url".into(), None),
            Command::Find(css) => ("POST", "/element".into(), find(css)),
            Command::FindAll(css) => ("POST", "/elements".into(), find(css)),
            Command::Text(id) => ("GET", format!("/element/{id}/text"), None),
            Command::Click(id) => ("POST", format!("/element/{id}/click"), Some(json!({}))),
            Command::SendKeys(id, text) => (
                "POST",
                format!("/element/{id}/value"),
                Some(json!({ "text": text })),
            ),
            Command::ExecuteAsync(script) => (
                "POST",
                "/execute/async".into(),
                Some(json!({ "script": script, "args": [] })),
            ),
            Command::Screenshot => ("GET", "/screenshot".into(), None),
        }
    }

    /// The Marionette command: name and parameters.
    fn marionette(&self) -> (&'static str, Value) {
        let find = |css: &str| json!({ "using": "css selector", "value": css });
        match self {
            Command::Navigate(url) => ("WebDriver:Navigate", json!({ "url": url })),
            Command::CurrentUrl => ("WebDriver:GetCurrentURL", json!({})),
            Command::Find(css) => ("WebDriver:FindElement", find(css)),
            Command::FindAll(css) => ("WebDriver:FindElements", find(css)),
            Command::Text(id) => ("WebDriver:GetElementText", json!({ "id": id })),
            Command::Click(id) => ("WebDriver:ElementClick", json!({ "id": id })),
            Command::SendKeys(id, text) => (
                "WebDriver:ElementSendKeys",
                json!({ "id": id, "text": text }),
            ),
            Command::ExecuteAsync(script) => (
                "WebDriver:ExecuteAsyncScript",
                json!({ "script": script, "args": [] }),
            ),
            Command::Screenshot => ("WebDriver:TakeScreenshot", json!({})),
        }
    }
}
