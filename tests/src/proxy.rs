//! A TCP proxy on loopback between agents and the coordinator, whose
//! faults a test turns on and off while ceremonies run: every chunk held
//! back a while (delay), every open connection cut (drop), or every open
//! connection gone silent without closing (half-open: both sockets stay
//! open and nothing more crosses, as when a NAT or firewall forgets the
//! flow), or a partition (those, and new connections silent too). TLS runs
//! end to end through it: it sees only ciphertext. It carries any TCP: a
//! coordinator's connections to PostgreSQL too.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does to the connections it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward everything at once.
    None,
    /// Hold each chunk back this long before forwarding it.
    Delay(Duration),
}

/// The running proxy: connect to [`Proxy::url`] instead of the coordinator.
pub struct Proxy {
    pub addr: std::net::SocketAddr,
    fault: watch::Sender<Fault>,
    /// Connections of an earlier generation are cut ([`Proxy::drop_all`]).
    cut: watch::Sender<u64>,
    /// Connections of an earlier generation go silent
    /// ([`Proxy::half_open_all`]).
    silenced: watch::Sender<u64>,
    generation: Arc<AtomicU64>,
    connections: Arc<AtomicU64>,
    /// Connections opened during a partition (held, carried nowhere).
    held: Arc<AtomicU64>,
    /// New connections are held open and silent ([`Proxy::partition`]).
    partitioned: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// A proxy on a free loopback port, forwarding to `upstream`.
    pub async fn start(upstream: std::net::SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (fault, fault_rx) = watch::channel(Fault::None);
        let (cut, cut_rx) = watch::channel(0);
        let (silenced, silenced_rx) = watch::channel(0);
        let (partitioned, partitioned_rx) = watch::channel(false);
        let generation = Arc::new(AtomicU64::new(1));
        let connections = Arc::new(AtomicU64::new(0));
        let held = Arc::new(AtomicU64::new(0));
        let (g, n, h) = (
            Arc::clone(&generation),
            Arc::clone(&connections),
            Arc::clone(&held),
        );
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if *partitioned_rx.borrow() {
                    // A black hole: the connection opens, nothing crosses.
                    h.fetch_add(1, Ordering::Relaxed);
                    let mut healed = partitioned_rx.clone();
                    tokio::spawn(async move {
                        let _held = inbound;
                        let _ = healed.wait_for(|p| !*p).await;
                    });
                    continue;
                }
                let Ok(outbound) = TcpStream::connect(upstream).await else {
                    continue;
                };
                n.fetch_add(1, Ordering::Relaxed);
                let born = g.load(Ordering::Relaxed);
                let link = Link {
                    born,
                    fault: fault_rx.clone(),
                    cut: cut_rx.clone(),
                    silenced: silenced_rx.clone(),
                };
                tokio::spawn(link.carry(inbound, outbound));
            }
        });
        Ok(Self {
            addr,
            fault,
            cut,
            silenced,
            generation,
            connections,
            held,
            partitioned,
            task,
        })
    }

    /// The coordinator's URL through this proxy.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn set(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }

    /// Cuts every connection open now; new ones go through.
    pub fn drop_all(&self) {
        let old = self.generation.fetch_add(1, Ordering::Relaxed);
        self.cut.send_replace(old);
    }

    /// Silences every connection open now, leaving it open at both ends;
    /// new ones go through.
    pub fn half_open_all(&self) {
        let old = self.generation.fetch_add(1, Ordering::Relaxed);
        self.silenced.send_replace(old);
    }

    /// A network partition: every connection open now goes silent and
    /// new ones open but carry nothing, until [`Proxy::heal`].
    pub fn partition(&self) {
        self.partitioned.send_replace(true);
        self.half_open_all();
    }

    /// Ends a partition: new connections go through again.
    pub fn heal(&self) {
        self.partitioned.send_replace(false);
    }

    /// How many connections the proxy has carried.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// How many connections a partition has held (opened, carried
    /// nowhere).
    pub fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One connection's faults, by the generation it was born in.
#[derive(Clone)]
struct Link {
    born: u64,
    fault: watch::Receiver<Fault>,
    cut: watch::Receiver<u64>,
    silenced: watch::Receiver<u64>,
}

impl Link {
    fn is_cut(&self) -> bool {
        *self.cut.borrow() >= self.born
    }

    fn is_silenced(&self) -> bool {
        *self.silenced.borrow() >= self.born
    }

    async fn carry(self, inbound: TcpStream, outbound: TcpStream) {
        let (in_read, in_write) = inbound.into_split();
        let (out_read, out_write) = outbound.into_split();
        let up = tokio::spawn(self.clone().pump(in_read, out_write));
        let down = tokio::spawn(self.clone().pump(out_read, in_write));
        let _ = tokio::join!(up, down);
    }

    /// Copies `from` to `to` until either closes or the link is cut; once
    /// silenced, holds both open and forwards nothing, until cut.
    async fn pump(
        mut self,
        mut from: tokio::net::tcp::OwnedReadHalf,
        mut to: tokio::net::tcp::OwnedWriteHalf,
    ) {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            if self.is_cut() {
                return;
            }
            if self.is_silenced() {
                // Half-open: nothing crosses, nothing closes, until the
                // proxy cuts it or is gone.
                if self.cut.changed().await.is_err() {
                    return;
                }
                continue;
            }
            let n = tokio::select! {
                read = from.read(&mut buf) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                },
                changed = self.cut.changed() => match changed {
                    Ok(()) => continue,
                    Err(_) => return,
                },
                changed = self.silenced.changed() => match changed {
                    Ok(()) => continue,
                    Err(_) => return,
                },
            };
            let fault = *self.fault.borrow();
            if let Fault::Delay(d) = fault {
                tokio::time::sleep(d).await;
            }
            if self.is_silenced() || self.is_cut() {
                continue;
            }
            if to.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    }
}
