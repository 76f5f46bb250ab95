//! The coordinator's memory with many ceremonies open: a coordinator in a
//! process of its own (this binary, run as `serve-coordinator`), a 3-of-5
//! key group registered, and ceremonies requested that nobody approves.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use quorate::client::{Clients, Target};
use quorate::keygen;
use quorate::local::{OPERATOR, REQUESTER};
use quorate::pki::LocalPki;
use quorate_types::{KeyGroupName, Policy};
use quorate_wire as proto;

use crate::cluster::{KEY_GROUP, roster, unlimited};
use crate::size::THREE_OF_FIVE;

pub struct Memory {
    pub open: usize,
    /// Resident set with the key group registered and nothing open (KiB).
    pub idle_kib: u64,
    /// Resident set with `open` ceremonies open (KiB).
    pub open_kib: u64,
    /// The process's peak resident set (KiB).
    pub peak_kib: u64,
}

/// The hidden command the child runs: start the coordinator of `config`,
/// print its address and its `/metrics` address (`-` if none), and serve
/// until stdin closes.
pub async fn serve(config: &Path) -> anyhow::Result<()> {
    let config = quorate_coordinator::Config::load(config)?;
    let running = quorate_coordinator::start(&config).await?;
    println!("{}", running.addr);
    match running.metrics_addr {
        Some(addr) => println!("{addr}"),
        None => println!("-"),
    }
    std::io::stdout().flush()?;
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
    })
    .await?;
    running.stop().await
}

/// Starts `serve-coordinator` on `config` in a process of its own; returns
/// it with its gRPC address and its `/metrics` address (`-` if none).
pub(crate) async fn spawn(config: &Path) -> anyhow::Result<(Coordinator, String, String)> {
    let mut child = Coordinator(
        Command::new(std::env::current_exe()?)
            .arg("serve-coordinator")
            .arg(config)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?,
    );
    let stdout = child
        .0
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("the coordinator's stdout"))?;
    let (addr, metrics) = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        let mut next = || {
            lines
                .next()
                .unwrap_or_else(|| Err(std::io::Error::other("the coordinator printed nothing")))
        };
        Ok::<_, std::io::Error>((next()?, next()?))
    })
    .await??;
    Ok((child, addr.trim().to_string(), metrics.trim().to_string()))
}

/// A 3-of-5 key group of the benchmarks, dealt.
pub(crate) fn deal_three_of_five() -> anyhow::Result<keygen::Dealt> {
    keygen::deal(
        KeyGroupName::new(KEY_GROUP)?,
        &roster(THREE_OF_FIVE.n)?,
        THREE_OF_FIVE.t,
        Policy::default(),
    )
}

/// Kills the child if measuring fails half way.
pub(crate) struct Coordinator(pub(crate) Child);

impl Coordinator {
    /// Asks the child to stop (it serves until its stdin closes).
    pub(crate) fn stop(&mut self) {
        if let Some(mut stdin) = self.0.stdin.take() {
            let _ = stdin.write_all(b"\n");
        }
    }
}

impl Drop for Coordinator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The coordinator configuration of the benchmarks that run it as a
/// process, in `dir`, served with `pki`'s server certificate, with limits
/// that are never reached.
pub(crate) fn coordinator_config(dir: &Path, pki: &LocalPki) -> anyhow::Result<std::path::PathBuf> {
    let server = pki.server()?;
    let config = dir.join("coordinator.toml");
    let limits = unlimited();
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\n\
             data_dir = {data:?}\n\
             [limits]\n\
             max_open_ceremonies = {}\n\
             max_open_per_requester = {}\n\
             creations_per_minute = {}\n\
             creation_burst = {}\n\
             writes_per_minute = {}\n\
             write_burst = {}\n\
             [tls]\ncert = {cert:?}\nkey = {key:?}\nclient_ca = {ca:?}\n\
             [[party]]\nname = {REQUESTER:?}\nroles = [\"requester\"]\n\
             [[party]]\nname = {OPERATOR:?}\nroles = [\"operator\"]\n",
            limits.max_open_ceremonies,
            limits.max_open_per_requester,
            limits.creations_per_minute,
            limits.creation_burst,
            limits.writes_per_minute,
            limits.write_burst,
            data = dir.join("coordinator"),
            cert = server.cert,
            key = server.key,
            ca = server.client_ca,
        ),
    )?;
    Ok(config)
}

/// A coordinator process of the benchmarks' own over `dir`
/// ([`coordinator_config`]), with the PKI its callers' certificates come
/// from.
pub(crate) struct Served {
    pub(crate) child: Coordinator,
    pub(crate) pki: LocalPki,
    pub(crate) url: String,
}

impl Served {
    pub(crate) async fn start(dir: &Path) -> anyhow::Result<Self> {
        let pki = LocalPki::create(&dir.join("tls"))?;
        let config = coordinator_config(dir, &pki)?;
        let (child, addr, _) = spawn(&config).await?;
        Ok(Self {
            child,
            pki,
            url: format!("https://{addr}"),
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// Where `identity` calls it, with its certificate.
    pub(crate) fn target(&self, identity: &str) -> anyhow::Result<Target> {
        Ok(Target {
            url: self.url.clone(),
            identity: identity.into(),
            tls: Some(self.pki.client(identity)?),
        })
    }
}

pub async fn measure(dir: &Path, open: usize) -> anyhow::Result<Memory> {
    let mut served = Served::start(dir).await?;
    let pid = served.pid();
    let target = |identity: &str| served.target(identity);
    let dealt = deal_three_of_five()?;
    Clients::connect(&target(OPERATOR)?)
        .await?
        .key_groups
        .register(proto::RegisterKeyGroupRequest {
            key_group: Some(proto::KeyGroup::from(&dealt.group)),
        })
        .await?;
    let requester = Clients::connect(&target(REQUESTER)?).await?;
    let idle_kib = rss_kib(pid, "VmRSS")?;
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let mut clients = requester.clone();
        let next = Arc::clone(&next);
        tasks.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= open {
                    return anyhow::Ok(());
                }
                clients
                    .ceremonies
                    .create(proto::CreateCeremonyRequest {
                        key_group: KEY_GROUP.into(),
                        message: format!("{n:064x}  quorate-{n}.tar.gz\n").into_bytes(),
                        label: format!("open {n}"),
                        ..Default::default()
                    })
                    .await?;
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    let open_kib = rss_kib(pid, "VmRSS")?;
    let peak_kib = rss_kib(pid, "VmHWM")?;
    served.child.stop();
    Ok(Memory {
        open,
        idle_kib,
        open_kib,
        peak_kib,
    })
}

/// A `Vm*` line of `/proc/<pid>/status`, in KiB.
pub(crate) fn rss_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    proc_number(&format!("/proc/{pid}/status"), field)
}

/// The number on the `field:` line of a `/proc` file such as
/// `/proc/<pid>/status` or `/proc/self/io` (a `kB` unit is dropped).
pub fn proc_number(path: &str, field: &str) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .find_map(|line| {
            line.strip_prefix(field)?
                .strip_prefix(':')?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()
        })
        .ok_or_else(|| anyhow::anyhow!("no {field} in {path}"))
}
