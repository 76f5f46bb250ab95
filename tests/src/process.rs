//! A deployment's coordinator as a separate OS process, to be killed with
//! SIGKILL (or stopped with SIGTERM) and started again over the same store.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use quorate::local::LocalDeployment;
use serde::Serialize;

use crate::T;

/// A child process, killed if still running when dropped.
#[derive(Default)]
struct Running(Option<Child>);

impl Running {
    fn pid(&self) -> u32 {
        self.0.as_ref().expect("running").id()
    }

    /// SIGKILL: the process gets no chance to finish anything.
    fn kill(&mut self) {
        let mut child = self.0.take().expect("running");
        child.kill().expect("SIGKILL is sent");
        child.wait().expect("the process is reaped");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The coordinator of a [`LocalDeployment`], run by the real command line
/// (`bin`) as a child process: same port, store, TLS files and parties.
pub struct CoordinatorProcess {
    bin: PathBuf,
    /// The arguments before the configuration file's path.
    args: Vec<String>,
    config: PathBuf,
    child: Running,
}

#[derive(Serialize)]
struct Toml<'a> {
    listen: String,
    data_dir: &'a Path,
    log_origin: &'a str,
    tls: Tls<'a>,
    party: &'a [quorate_types::Party],
    limits: &'a quorate_coordinator::limits::Limits,
    #[serde(skip_serializing_if = "Option::is_none")]
    alert_command: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alert_webhook: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    witness: &'a [quorate_coordinator::witnessing::WitnessConfig],
}

#[derive(Serialize)]
struct Tls<'a> {
    cert: &'a Path,
    key: &'a Path,
    client_ca: &'a Path,
}

impl CoordinatorProcess {
    /// Stops `d`'s in-process coordinator and starts the same coordinator
    /// as a process of `bin` (`serve --config FILE`), serving before this
    /// returns.
    pub async fn take_over(d: &mut LocalDeployment, bin: &str) -> Self {
        Self::take_over_with(d, Path::new(bin), &["serve", "--config"]).await
    }

    /// As [`Self::take_over`], running `bin args... FILE`.
    pub async fn take_over_with(d: &mut LocalDeployment, bin: &Path, args: &[&str]) -> Self {
        d.stop_coordinator()
            .await
            .expect("the in-process coordinator stops");
        let c = &d.coordinator_config;
        let tls = c.tls.as_ref().expect("a local deployment serves TLS");
        let toml = toml::to_string(&Toml {
            listen: c.listen.to_string(),
            data_dir: &c.data_dir,
            log_origin: &c.log_origin,
            tls: Tls {
                cert: &tls.cert,
                key: &tls.key,
                client_ca: &tls.client_ca,
            },
            party: &c.parties,
            limits: &c.limits,
            alert_command: c.alert_command.as_deref(),
            alert_webhook: c.alert_webhook.as_deref(),
            witness: &c.witnesses,
        })
        .expect("the configuration encodes");
        let config = d.dir.join("coordinator.toml");
        std::fs::write(&config, toml).expect("the configuration is written");
        let mut process = Self {
            bin: bin.to_path_buf(),
            args: args.iter().map(|a| a.to_string()).collect(),
            config,
            child: Running::default(),
        };
        process.start(d).await;
        process
    }

    /// Starts the process and waits until it serves.
    pub async fn start(&mut self, d: &LocalDeployment) {
        self.spawn();
        self.wait_serving(d).await;
    }

    /// Waits (at most [`T`]) until the deployment's coordinator serves, at
    /// any of its addresses.
    pub async fn wait_serving(&self, d: &LocalDeployment) {
        let deadline = Instant::now() + T;
        loop {
            if let Ok(mut clients) = d.clients(quorate::local::AUDITOR).await
                && clients
                    .audit
                    .checkpoint(quorate_wire::CheckpointRequest {})
                    .await
                    .is_ok()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the coordinator did not serve within {T:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The address this process serves at (`https://<listen>`).
    pub fn url(&self) -> String {
        let listen = self.read_config()["listen"]
            .as_str()
            .expect("a listen address")
            .to_string();
        format!("https://{listen}")
    }

    /// Whether this process, a replica over PostgreSQL, takes writes now
    /// (its health service says [`quorate_wire::coordinators::WRITER_SERVICE`]
    /// serves); `false` if it does not answer.
    pub async fn writing(&self, d: &LocalDeployment) -> bool {
        let Ok(tls) = d.tls_files(quorate::local::AUDITOR) else {
            return false;
        };
        match quorate_wire::tls::channel(&self.url(), Some(&tls)).await {
            Ok(channel) => quorate_wire::tls::takes_writes(&channel).await,
            Err(_) => false,
        }
    }

    /// Waits (at most [`T`]) until this replica takes writes.
    pub async fn wait_writing(&self, d: &LocalDeployment) {
        let deadline = Instant::now() + T;
        while !self.writing(d).await {
            assert!(
                Instant::now() < deadline,
                "the replica at {} did not take writes within {T:?}",
                self.url()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the process, without waiting for it to serve.
    pub fn spawn(&mut self) {
        self.spawn_with(Stdio::inherit());
    }

    /// As [`Self::spawn`], its standard error (its log, and why it
    /// stopped) written to `file` instead of the test's.
    pub fn spawn_logging_to(&mut self, file: &Path) {
        let file = std::fs::File::create(file).expect("the log file is made");
        self.spawn_with(file.into());
    }

    fn spawn_with(&mut self, stderr: Stdio) {
        assert!(self.child.0.is_none(), "already running");
        let child = Command::new(&self.bin)
            .args(&self.args)
            .arg(&self.config)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("the coordinator process starts");
        self.child = Running(Some(child));
    }

    /// Another replica of this coordinator (which keeps its record in
    /// PostgreSQL): the same configuration but for its data directory
    /// (with a copy of this one's log key) and its address. Not started.
    pub fn replica(&self, data_dir: &Path, listen: std::net::SocketAddr) -> Self {
        let config = self.read_config();
        let from: PathBuf = config["data_dir"].as_str().expect("a data_dir").into();
        std::fs::create_dir_all(data_dir).expect("the replica's data_dir is made");
        let key = quorate_coordinator::log_key::FILE_NAME;
        std::fs::copy(from.join(key), data_dir.join(key)).expect("the log key is copied");
        let replica = Self {
            bin: self.bin.clone(),
            args: self.args.clone(),
            config: data_dir.join("coordinator.toml"),
            child: Running::default(),
        };
        replica.write_config(config, |c| {
            c.insert("data_dir".into(), data_dir.display().to_string().into());
            c.insert("listen".into(), listen.to_string().into());
        });
        replica
    }

    /// Changes this process's configuration with `edit` (it takes effect
    /// at the next start).
    pub fn configure(&self, edit: impl FnOnce(&mut toml::Table)) {
        self.write_config(self.read_config(), edit);
    }

    fn read_config(&self) -> toml::Table {
        let text = std::fs::read_to_string(&self.config).expect("the configuration is read");
        text.parse().expect("the configuration parses")
    }

    /// Writes `config`, changed by `edit`, as this process's configuration.
    fn write_config(&self, mut config: toml::Table, edit: impl FnOnce(&mut toml::Table)) {
        edit(&mut config);
        let text = toml::to_string(&config).expect("the configuration encodes");
        std::fs::write(&self.config, text).expect("the configuration is written");
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// SIGKILL: the process gets no chance to finish anything.
    pub fn kill(&mut self) {
        self.child.kill()
    }

    /// Sends `signal` (e.g. "STOP", "TERM") to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Its coordinator.toml.
    pub fn config(&self) -> &Path {
        &self.config
    }

    /// Keeps the record in PostgreSQL at `url` from the next start on:
    /// `store = "url"` in its configuration.
    pub fn use_store(&self, url: &str) {
        self.write_config(self.read_config(), |c| {
            c.insert("store".into(), url.into());
        });
    }

    /// Waits (at most [`T`]) for the process to exit by itself.
    pub async fn wait_exit(&mut self) -> ExitStatus {
        let mut child = self.child.0.take().expect("running");
        let deadline = Instant::now() + T;
        loop {
            if let Some(status) = child.try_wait().expect("the process is waited for") {
                return status;
            }
            if Instant::now() >= deadline {
                self.child = Running(Some(child));
                panic!("the coordinator did not exit within {T:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM, then waits (at most [`T`]) for the process to exit.
    pub async fn terminate(&mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait_exit().await
    }
}

/// An agent of a [`LocalDeployment`] run as a child process (`bin args...
/// FILE`, FILE its agent.toml; the passphrase in `QUORATE_PASSPHRASE`):
/// same key files, journal and control socket as in process.
pub struct AgentProcess {
    bin: PathBuf,
    args: Vec<String>,
    config: PathBuf,
    socket: PathBuf,
    passphrase: zeroize::Zeroizing<String>,
    child: Running,
}

impl AgentProcess {
    /// Stops `d`'s in-process agent `id` and starts the same agent as a
    /// process, serving its control socket before this returns.
    pub async fn take_over_with(
        d: &mut LocalDeployment,
        id: &quorate_types::ParticipantId,
        bin: &Path,
        args: &[&str],
    ) -> anyhow::Result<Self> {
        d.stop_agent(id).await;
        let config = d
            .agent_configs
            .get(id)
            .ok_or_else(|| anyhow::anyhow!("no agent {id} in the deployment"))?;
        let passphrase = config
            .passphrase
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("agent {id} has no passphrase in process"))?;
        let passphrase =
            zeroize::Zeroizing::new(String::from_utf8(passphrase.as_bytes().to_vec())?);
        let path = d.dir.join(format!("agent-{id}.toml"));
        std::fs::write(&path, toml::to_string(config)?)?;
        let mut process = Self {
            bin: bin.to_path_buf(),
            args: args.iter().map(|a| a.to_string()).collect(),
            config: path,
            socket: config.socket_path(),
            passphrase,
            child: Running::default(),
        };
        process.start().await?;
        Ok(process)
    }

    /// Starts the process and waits until its control socket answers.
    pub async fn start(&mut self) -> anyhow::Result<()> {
        if self.child.0.is_some() {
            anyhow::bail!("the agent process is running already");
        }
        let _ = std::fs::remove_file(&self.socket);
        let child = Command::new(&self.bin)
            .args(&self.args)
            .arg(&self.config)
            .env(
                quorate_secrets::passphrase::PASSPHRASE_ENV,
                &*self.passphrase,
            )
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", self.bin.display()))?;
        self.child = Running(Some(child));
        let deadline = Instant::now() + T;
        while quorate_participant::control::connect(&self.socket)
            .await
            .is_err()
        {
            if Instant::now() >= deadline {
                anyhow::bail!("the agent did not serve within {T:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// SIGKILL: the process gets no chance to finish anything.
    pub fn kill(&mut self) {
        self.child.kill()
    }
}
