//! Binding the listeners and running the services until told to stop.

use std::net::SocketAddr;
use std::sync::Arc;

use quorate_wire::{
    FILE_DESCRIPTOR_SET, audit_server::AuditServer, ceremonies_server::CeremoniesServer,
    key_ceremonies_server::KeyCeremoniesServer, key_groups_server::KeyGroupsServer,
    signer_server::SignerServer,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::Config;
use crate::clock::{Clock, SystemClock};
use crate::hub::Hub;
use crate::observer::Observer;
use crate::service::{
    AuditService, CeremoniesService, KeyCeremoniesService, KeyGroupsService, SignerService,
};
use crate::store::replica::{ReplicaStore, replica_name};
use crate::store::{CeremonyStore, Opener, RedbStore, StoreError};

/// Largest request the coordinator decodes (a message plus framing).
const MAX_DECODE: usize = 256 * 1024;

/// A coordinator serving on `addr` until [`RunningCoordinator::stop`].
pub struct RunningCoordinator {
    pub addr: SocketAddr,
    /// Where `/metrics` is served, if configured.
    pub metrics_addr: Option<SocketAddr>,
    /// Where the auditors' page is served, if configured (`page_listen`).
    pub page_addr: Option<SocketAddr>,
    /// The record's C2SP signed-note verifier key:
    /// `<origin>+<key id>+<base64(0x01 ‖ key)>`.
    pub log_verifier_key: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningCoordinator {
    /// Stops serving, ends the agents' streams, and closes the store.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await?
    }

    /// Serves until the process is interrupted.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await?
    }

    /// Serves until `signal` resolves, then stops gracefully; or until the
    /// coordinator stops by itself (its store halted), with why.
    pub async fn until(self, signal: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
        let Self { stop, mut task, .. } = self;
        tokio::select! {
            _ = signal => {}
            done = &mut task => return done?,
        }
        let _ = stop.send(());
        task.await?
    }
}

/// Opens the store in `config.data_dir`, reloads every ceremony and serves.
pub async fn start(config: &Config) -> anyhow::Result<RunningCoordinator> {
    start_with_clock(config, Arc::new(SystemClock)).await
}

pub async fn start_with_clock(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<RunningCoordinator> {
    start_with_store(config, clock, None).await
}

/// As [`start_with_clock`], with the store's database opened by `opener`
/// if given (tests of disk faults), else the file in `config.data_dir`.
pub async fn start_with_store(
    config: &Config,
    clock: Arc<dyn Clock>,
    opener: Option<Opener>,
) -> anyhow::Result<RunningCoordinator> {
    let bound = bind(config).await?;
    match config.database()? {
        None => {
            let store = open_embedded(config, opener)?;
            let cursors = crate::outbox::Cursors::Files(config.data_dir.clone());
            serve(config, clock, bound, store, cursors).await
        }
        Some(db) => {
            if opener.is_some() {
                anyhow::bail!("a test's store opener is for the embedded store only");
            }
            // A replica serves from the start: reads, feeds and watches
            // from its mirror while it follows another's writes (refusing
            // writes, naming the holder), and writes too once it holds
            // the sequencing lease.
            let replica = replica_name(&config.data_dir, config.replica.as_deref())?;
            let scheme = if bound.grpc_tls.is_some() {
                "https"
            } else {
                "http"
            };
            let address = config
                .advertise
                .clone()
                .unwrap_or_else(|| format!("{scheme}://{}", bound.addr));
            if config.advertise.is_none() && bound.addr.ip().is_unspecified() {
                tracing::warn!(
                    listen = %bound.addr,
                    "advertise is not set, so this replica names itself {address} to the \
                     others, an address no client reaches: set advertise = \"https://<its \
                     name>:<port>\" in coordinator.toml (agents find the writer by asking \
                     each of their addresses meanwhile)"
                );
            }
            let cursors = crate::outbox::Cursors::database(db.clone(), &replica, &config.data_dir);
            let store = ReplicaStore::following(&config.data_dir, db, &replica, &address, |size| {
                crate::log_key::load_or_create(&config.data_dir, &config.log_origin, size)
                    .map(|key| Some(key.verifier_key()))
            })
            .await?;
            serve(config, clock, bound, store, cursors).await
        }
    }
}

/// What a start takes before it opens the store: the TLS files read, the
/// alert sinks and witnesses parsed, the ports taken.
struct Bound {
    webhook: Option<quorate_wire::webhook::Webhook>,
    witnesses: Vec<crate::witnessing::Witness>,
    grpc_tls: Option<tonic::transport::ServerTlsConfig>,
    metrics_tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    page_tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    listener: TcpListener,
    addr: SocketAddr,
    metrics_listener: Option<TcpListener>,
    metrics_addr: Option<SocketAddr>,
    page_listener: Option<TcpListener>,
    page_addr: Option<SocketAddr>,
}

async fn bind(config: &Config) -> anyhow::Result<Bound> {
    let tls = match (&config.tls, config.insecure_plaintext) {
        (Some(tls), _) => Some(tls),
        (None, true) => {
            let loopback = |a: &SocketAddr| a.ip().is_loopback();
            if !loopback(&config.listen) || config.metrics_listen.is_some_and(|m| !loopback(&m)) {
                anyhow::bail!(
                    "insecure_plaintext serves only on loopback; listen is {} \
                     (configure [tls] to serve anywhere else)",
                    config.listen
                );
            }
            tracing::warn!(
                "serving PLAINTEXT with self-named callers (insecure_plaintext): \
                 for development on this machine only"
            );
            None
        }
        (None, false) => anyhow::bail!(
            "no [tls] in the configuration: give tls.cert, tls.key and tls.client_ca, \
             or set insecure_plaintext = true for a loopback-only development coordinator"
        ),
    };
    let webhook = match &config.alert_webhook {
        Some(url) => Some(
            quorate_wire::webhook::Webhook::new(url, config.alert_webhook_ca.as_deref())
                .map_err(|e| anyhow::anyhow!("alert_webhook {e}"))?,
        ),
        None => {
            if config.alert_webhook_ca.is_some() {
                anyhow::bail!("alert_webhook_ca is set but alert_webhook is not");
            }
            None
        }
    };
    let witnesses = crate::witnessing::parse(&config.witnesses)?;
    // Everything that can refuse a start is tried before anything is
    // written: the TLS files are read and the ports taken first, then the
    // store is opened, and only then is a log key made. A refused start
    // writes nothing and leaves no lock behind for the next one.
    let grpc_tls = tls.map(|t| t.grpc()).transpose()?;
    let metrics_tls = tls.map(|t| t.metrics()).transpose()?;
    crate::web::check_listen(config.page_listen, tls.is_some())?;
    let page_tls = match (tls, config.page_listen) {
        (Some(t), Some(_)) => Some(t.page()?),
        _ => None,
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    let metrics_listener = match config.metrics_listen {
        Some(a) => Some(
            TcpListener::bind(a)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen for metrics on {a}: {e}"))?,
        ),
        None => None,
    };
    let metrics_addr = metrics_listener
        .as_ref()
        .map(|l| l.local_addr())
        .transpose()?;
    let page_listener = match config.page_listen {
        Some(a) => Some(
            TcpListener::bind(a)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen for the page on {a}: {e}"))?,
        ),
        None => None,
    };
    let page_addr = page_listener.as_ref().map(|l| l.local_addr()).transpose()?;
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create data directory {}: {e}",
            config.data_dir.display()
        )
    })?;
    Ok(Bound {
        webhook,
        witnesses,
        grpc_tls,
        metrics_tls,
        page_tls,
        listener,
        addr,
        metrics_listener,
        metrics_addr,
        page_listener,
        page_addr,
    })
}

fn open_embedded(config: &Config, opener: Option<Opener>) -> anyhow::Result<RedbStore> {
    match opener {
        Some(opener) => RedbStore::open_with(&config.data_dir, opener),
        None => RedbStore::open(&config.data_dir),
    }
    .map_err(|e| {
        if let StoreError::Held = e {
            anyhow::anyhow!(
                "another coordinator holds {} (its store is locked): stop that one, or give \
                 this one another data_dir",
                config.data_dir.display()
            )
        } else {
            anyhow::anyhow!(
                "cannot open the store in {}: {e}",
                config.data_dir.display()
            )
        }
    })
}

/// Serves with `store`, opened: reloads every ceremony from it, then
/// serves until told to stop or the store halts. The alert outbox keeps
/// its cursors in `cursors`.
async fn serve<S: CeremonyStore>(
    config: &Config,
    clock: Arc<dyn Clock>,
    bound: Bound,
    store: S,
    cursors: crate::outbox::Cursors,
) -> anyhow::Result<RunningCoordinator> {
    let Bound {
        webhook,
        witnesses,
        grpc_tls,
        metrics_tls,
        page_tls,
        listener,
        addr,
        metrics_listener,
        metrics_addr,
        page_listener,
        page_addr,
    } = bound;

    let authz = crate::authz::Authz::new(&config.parties);
    let hub = Arc::new(Hub::load(store, clock, authz)?.with_limits(config.limits.clone()));
    // Made only once the record has loaded: a refused start makes none.
    let log_key = Arc::new(crate::log_key::load_or_create(
        &config.data_dir,
        &config.log_origin,
        hub.store().size(),
    )?);
    let log_verifier_key = log_key.verifier_key();
    let observer = Observer {
        metrics: Default::default(),
    };
    let sinks: Vec<crate::outbox::Sink> = config
        .alert_command
        .clone()
        .map(|c| crate::outbox::Sink::Command(Arc::new(c)))
        .into_iter()
        .chain(webhook.map(|w| crate::outbox::Sink::Webhook(Arc::new(w))))
        .collect();
    let alert_sinks = sinks.clone();
    let witnessed = Arc::new(crate::witnessing::Witnessed::default());
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status(
            quorate_wire::coordinators::WRITER_SERVICE,
            tonic_health::ServingStatus::NotServing,
        )
        .await;
    let duties = Duties {
        health: health_reporter.clone(),
        cursors: Arc::new(cursors),
        parties: config.parties.clone(),
        sinks,
        witnesses,
        log_key: log_key.clone(),
        witnessed: witnessed.clone(),
        observer: observer.clone(),
    };
    // Everything that can fail is done before any task starts.
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;

    let mut builder = tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(crate::limits::KEEPALIVE))
        .http2_keepalive_timeout(Some(crate::limits::KEEPALIVE_TIMEOUT))
        .tcp_keepalive(Some(crate::limits::KEEPALIVE))
        .max_concurrent_streams(Some(config.limits.streams_per_connection))
        .timeout(config.limits.call_timeout());
    if let Some(tls) = grpc_tls {
        builder = builder.tls_config(tls)?;
    }
    // The writer's duties (alerts, deadlines, the witnesses, recording
    // the parties) are taken up by whoever appends: at once, or once a
    // follower takes the sequencing lease.
    let first = match hub.store().follow().await {
        Ok(first) => first,
        Err(e) => {
            hub.store().close().await;
            return Err(e.into());
        }
    };
    hub.apply_followed(&first.entries).await?;
    let (duty, mut followed) = if first.holding {
        hub.store().start_writing();
        let tasks = match duties.take_up(&hub).await {
            Ok(tasks) => tasks,
            Err(e) => {
                hub.stop();
                hub.store().close().await;
                return Err(e);
            }
        };
        (tokio::spawn(async move { join(tasks).await }), None)
    } else {
        // A follower grants only what both its own [[party]] list and
        // the one the writer recorded grant: say so if they differ.
        let ours = quorate_types::parties::normalize(&config.parties);
        if hub
            .store()
            .parties()
            .ok()
            .flatten()
            .is_some_and(|recorded| recorded != ours)
        {
            tracing::warn!(
                "this replica's [[party]] list is not the one the record holds (the writer's): \
                 while it follows, it grants only the roles both lists grant; configure every \
                 replica alike"
            );
        }
        let (why, followed) = oneshot::channel();
        let hub = Arc::clone(&hub);
        let task = tokio::spawn(async move {
            match follow_until_holding(&hub).await {
                Ok(true) => match duties.take_up(&hub).await {
                    Ok(tasks) => join(tasks).await,
                    Err(e) => {
                        let _ = why.send(format!("could not take up the writer's duties: {e}"));
                    }
                },
                Ok(false) => {}
                Err(e) => {
                    let _ = why.send(e);
                }
            }
        });
        (task, Some(followed))
    };
    health_reporter
        .set_serving::<SignerServer<SignerService<S>>>()
        .await;
    health_reporter
        .set_serving::<CeremoniesServer<CeremoniesService<S>>>()
        .await;
    health_reporter
        .set_serving::<KeyGroupsServer<KeyGroupsService<S>>>()
        .await;
    health_reporter
        .set_serving::<KeyCeremoniesServer<KeyCeremoniesService<S>>>()
        .await;
    health_reporter
        .set_serving::<AuditServer<AuditService<S>>>()
        .await;
    let router = builder
        .add_service(health)
        .add_service(reflection)
        .add_service(
            KeyGroupsServer::new(KeyGroupsService { hub: hub.clone() })
                .max_decoding_message_size(MAX_DECODE)
                .max_encoding_message_size(crate::limits::MAX_ENCODE),
        )
        .add_service(
            KeyCeremoniesServer::new(KeyCeremoniesService { hub: hub.clone() })
                .max_decoding_message_size(MAX_DECODE)
                .max_encoding_message_size(crate::limits::MAX_ENCODE),
        )
        .add_service(
            CeremoniesServer::new(CeremoniesService {
                hub: hub.clone(),
                observer: observer.clone(),
            })
            .max_decoding_message_size(MAX_DECODE)
            .max_encoding_message_size(crate::limits::MAX_ENCODE),
        )
        .add_service(
            AuditServer::new(AuditService {
                hub: hub.clone(),
                log_key: log_key.clone(),
                latest_note: Default::default(),
                witnessed: witnessed.clone(),
            })
            .max_decoding_message_size(MAX_DECODE)
            .max_encoding_message_size(crate::limits::MAX_ENCODE),
        )
        .add_service(
            SignerServer::new(SignerService {
                hub: hub.clone(),
                observer: observer.clone(),
                log_key: log_key.clone(),
            })
            .max_decoding_message_size(MAX_DECODE)
            .max_encoding_message_size(crate::limits::MAX_ENCODE),
        );
    let page = match (page_listener, page_tls) {
        (Some(listener), Some(tls)) => Some(crate::web::start(
            listener,
            tls,
            crate::web::Page {
                hub: hub.clone(),
                ceremonies: CeremoniesService {
                    hub: hub.clone(),
                    observer: observer.clone(),
                },
                audit: AuditService {
                    hub: hub.clone(),
                    log_key: log_key.clone(),
                    latest_note: Default::default(),
                    witnessed: witnessed.clone(),
                },
            },
            hub.stopping(),
        )),
        _ => None,
    };
    let metrics = metrics_listener.map(|listener| {
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get({
                let hub = Arc::downgrade(&hub);
                let observer = observer.clone();
                move || async move {
                    let counts = hub.upgrade().map(|hub| hub.counts()).unwrap_or_default();
                    observer.metrics.render(counts)
                }
            }),
        );
        // Each connection's TLS handshake on a task of its own: a client
        // that stalls in one holds up no other scrape.
        let (tls, stop) = (metrics_tls.clone(), hub.stopping());
        tokio::spawn(async move {
            if let Err(e) = quorate_web::serve::serve(listener, tls, app, stop).await {
                tracing::error!(error = %e, "the metrics endpoint failed");
            }
        })
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let signal_hub = hub.clone();
    // A store that cannot go on stops the coordinator, with why.
    let halted = hub.store().halted();
    let halt = Arc::new(std::sync::Mutex::new(None));
    let halt_reason = Arc::clone(&halt);
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let followed = async move {
                match followed.take().map(|f| async move { f.await.ok() }) {
                    Some(f) => match f.await {
                        Some(why) => why,
                        None => std::future::pending().await,
                    },
                    None => std::future::pending().await,
                }
            };
            let halted = async move {
                tokio::select! {
                    why = halted => why,
                    why = followed => why,
                }
            };
            tokio::select! {
                _ = stopped => {}
                why = halted => {
                    tracing::error!(%why, "the record cannot go on; stopping");
                    let alert = serde_json::json!({
                        "alert": "record_write_failed",
                        "why": why,
                    });
                    crate::outbox::alert_now(&alert_sinks, &alert).await;
                    *crate::poison::lock(&halt_reason) = Some(why);
                }
            }
            // End the agents' streams so that the server can drain.
            signal_hub.stop();
        };
        let served = router
            // Small request/reply messages must not wait for Nagle's
            // algorithm (40 ms stalls against delayed ACKs).
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                shutdown,
            )
            .await;
        if served.is_err() {
            // The page and the other tasks stop too, and let the hub go.
            hub.stop();
        }
        let _ = duty.await;
        if let Some(m) = metrics {
            let _ = m.await;
        }
        if let Some(p) = page {
            let _ = p.await;
        }
        // Nothing appends any more.
        hub.store().close().await;
        // Last reference: closing the hub closes the store.
        drop(hub);
        served?;
        match crate::poison::lock(&halt).take() {
            Some(why) => Err(anyhow::anyhow!(why)),
            None => Ok(()),
        }
    });
    tracing::info!(%addr, ?metrics_addr, ?page_addr, "coordinator listening");
    Ok(RunningCoordinator {
        addr,
        metrics_addr,
        page_addr,
        log_verifier_key,
        stop,
        task,
    })
}

/// What the replica that appends does besides: deliver alerts, apply
/// deadlines, ask the witnesses to cosign, and record the parties of its
/// configuration.
struct Duties {
    health: tonic_health::server::HealthReporter,
    cursors: Arc<crate::outbox::Cursors>,
    parties: Vec<crate::authz::Party>,
    sinks: Vec<crate::outbox::Sink>,
    witnesses: Vec<crate::witnessing::Witness>,
    log_key: Arc<quorate_tlog::LogKey>,
    witnessed: Arc<crate::witnessing::Witnessed>,
    observer: Observer,
}

impl Duties {
    /// Starts them; their tasks end once the hub stops.
    async fn take_up<S: CeremonyStore>(
        self,
        hub: &Arc<Hub<S>>,
    ) -> anyhow::Result<Vec<JoinHandle<()>>> {
        let mut tasks = crate::outbox::start(hub, self.cursors, self.sinks.clone()).await?;
        if !self.sinks.is_empty() {
            tasks.push(crate::outbox::watch_refusals(hub, self.sinks));
        }
        // Who holds which role is part of the record: a changed [[party]]
        // list is recorded before anyone is served under it by a writer.
        if hub
            .record_parties(&self.parties, "coordinator configuration [[party]]".into())
            .await?
        {
            tracing::info!(
                parties = self.parties.len(),
                "recorded a change of requesters, auditors and operators"
            );
        }
        tasks.push(tokio::spawn(crate::witnessing::run(
            Arc::downgrade(hub),
            self.log_key,
            self.witnesses,
            self.witnessed,
        )));
        tasks.push(tokio::spawn(crate::deadlines::supervise(
            Arc::downgrade(hub),
            self.observer,
        )));
        self.health
            .set_service_status(
                quorate_wire::coordinators::WRITER_SERVICE,
                tonic_health::ServingStatus::Serving,
            )
            .await;
        Ok(tasks)
    }
}

async fn join(tasks: Vec<JoinHandle<()>>) {
    for task in tasks {
        let _ = task.await;
    }
}

/// Follows the record, letting what other replicas append take effect,
/// until this replica takes the sequencing lease (`true`, writing from
/// then on) or the coordinator stops (`false`). Why it cannot go on, if
/// it cannot.
async fn follow_until_holding<S: CeremonyStore>(hub: &Arc<Hub<S>>) -> Result<bool, String> {
    let mut stopping = hub.stopping();
    loop {
        match hub.store().follow().await {
            Ok(followed) => {
                hub.apply_followed(&followed.entries)
                    .await
                    .map_err(|e| format!("what this replica followed did not take effect: {e}"))?;
                if followed.holding {
                    if *stopping.borrow() {
                        return Ok(false);
                    }
                    hub.store().start_writing();
                    return Ok(true);
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not follow the record; trying again"),
        }
        // At once when an append is notified, else at the next poll
        // (which also looks for a lease whose holder stopped renewing).
        tokio::select! {
            _ = hub.store().news() => {}
            _ = tokio::time::sleep(crate::store::replica::FOLLOW_EVERY) => {}
            _ = stopping.changed() => return Ok(false),
        }
    }
}
