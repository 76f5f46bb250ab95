//! Firefox ESR through Marionette, the WebDriver protocol built into
//! Firefox (what geckodriver speaks to it): JSON over TCP on loopback,
//! each message `<length>:<json>`; a command is `[0, id, name, params]`,
//! its answer `[1, id, error, result]`. The browser runs headless with a
//! profile of our own: Marionette on a port we chose, no first-run pages
//! or calls home, a client certificate presented without asking.

use std::path::Path;
use std::process::Stdio;

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use super::{COMMAND_WITHIN, Command, START_WITHIN, free_port, value_of};

/// The largest message taken from Firefox (a screenshot is the largest).
const MAX_MESSAGE: usize = 64 << 20;

/// The profile's preferences: Marionette's port is added.
const PREFS: &str = r#"
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.update.disabledForTesting", true);
user_pref("app.normandy.enabled", false);
user_pref("messaging-system.rsexperimentloader.enabled", false);
user_pref("services.settings.server", "http://127.0.0.1:9/");
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("security.default_personal_cert", "Select Automatically");
"#;

pub(super) struct Firefox {
    process: tokio::process::Child,
    connection: Mutex<Connection>,
}

struct Connection {
    stream: BufReader<TcpStream>,
    next_id: u64,
    /// Set when a command was given up on part-way: the stream may hold
    /// half a message, so nothing more is sent on it.
    broken: bool,
}

impl Connection {
    async fn send(&mut self, message: &Value) -> anyhow::Result<()> {
        let json = message.to_string();
        let stream = self.stream.get_mut();
        stream
            .write_all(format!("{}:{json}", json.len()).as_bytes())
            .await?;
        Ok(stream.flush().await?)
    }

    async fn receive(&mut self) -> anyhow::Result<Value> {
        let mut length = 0usize;
        loop {
            let byte = self.stream.read_u8().await?;
            match byte {
                b':' => break,
                b'0'..=b'9' if length < MAX_MESSAGE => {
                    length = length * 10 + usize::from(byte - b'0')
                }
                _ => bail!("Marionette sent a message of a bad length"),
            }
        }
        if length > MAX_MESSAGE {
            bail!("Marionette sent a message of {length} bytes");
        }
        let mut json = vec![0; length];
        self.stream.read_exact(&mut json).await?;
        Ok(serde_json::from_slice(&json)?)
    }

    /// One command; its result, or Firefox's error.
    async fn command(&mut self, name: &str, params: Value) -> anyhow::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!([0, id, name, params])).await?;
        loop {
            let answer = self.receive().await?;
            // Answers only: Marionette sends no commands of its own here.
            if answer[0] != 1 || answer[1] != id {
                continue;
            }
            if !answer[2].is_null() {
                bail!(
                    "{name}: {}: {}",
                    answer[2]["error"].as_str().unwrap_or("error"),
                    answer[2]["message"].as_str().unwrap_or_default()
                );
            }
            return Ok(answer[3].clone());
        }
    }
}

impl Firefox {
    pub(super) async fn start(home: &Path, profile: &Path) -> anyhow::Result<Self> {
        let port = free_port()?;
        std::fs::write(
            profile.join("user.js"),
            format!("{PREFS}user_pref(\"marionette.port\", {port});\n"),
        )?;
        let process = tokio::process::Command::new("firefox-esr")
            .args(["--headless", "--marionette", "--no-remote", "--profile"])
            .arg(profile)
            .arg("about:blank")
            .env("HOME", home)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot run firefox-esr (tests/run installs Debian's firefox-esr)")?;
        let deadline = tokio::time::Instant::now() + START_WITHIN;
        let stream = loop {
            match TcpStream::connect(("127.0.0.1", port)).await {
                Ok(stream) => break stream,
                Err(e) if tokio::time::Instant::now() > deadline => {
                    bail!("Firefox's Marionette did not listen on port {port}: {e}")
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        };
        stream.set_nodelay(true)?;
        let mut connection = Connection {
            stream: BufReader::new(stream),
            next_id: 1,
            broken: false,
        };
        let hello = tokio::time::timeout(START_WITHIN, connection.receive())
            .await
            .map_err(|_| anyhow!("Firefox's Marionette said nothing"))??;
        if hello["applicationType"] != "gecko" || hello["marionetteProtocol"] != 3 {
            bail!("not Firefox's Marionette protocol 3: {hello}");
        }
        let session = tokio::time::timeout(
            START_WITHIN,
            connection.command(
                "WebDriver:NewSession",
                json!({ "acceptInsecureCerts": false, "pageLoadStrategy": "normal" }),
            ),
        )
        .await
        .map_err(|_| anyhow!("Firefox took no session within {START_WITHIN:?}"))??;
        if session["sessionId"].as_str().is_none() {
            bail!("no session id in {session}");
        }
        connection
            .command(
                "WebDriver:SetWindowRect",
                json!({ "width": 1200, "height": 900 }),
            )
            .await?;
        Ok(Self {
            process,
            connection: Mutex::new(connection),
        })
    }

    pub(super) async fn call(&self, command: Command<'_>) -> anyhow::Result<Value> {
        let (name, params) = command.marionette();
        let mut connection = self.connection.lock().await;
        if connection.broken {
            bail!("{name}: not sent, an earlier command was given up on part-way");
        }
        match tokio::time::timeout(COMMAND_WITHIN, connection.command(name, params)).await {
            Ok(answer) => answer.map(value_of),
            Err(_) => {
                connection.broken = true;
                bail!("{name}: no answer within {COMMAND_WITHIN:?}")
            }
        }
    }

    /// Asks Firefox to quit, and kills it if it has not within a few
    /// seconds.
    pub(super) async fn stop(mut self) -> anyhow::Result<()> {
        let quit = async {
            let mut connection = self.connection.lock().await;
            connection
                .command("Marionette:Quit", json!({ "flags": ["eForceQuit"] }))
                .await
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), quit).await;
        match tokio::time::timeout(std::time::Duration::from_secs(5), self.process.wait()).await {
            Ok(_) => Ok(()),
            Err(_) => Ok(self.process.kill().await?),
        }
    }
}
