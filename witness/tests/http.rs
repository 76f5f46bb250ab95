//! The witness over real HTTP on loopback, with its state on disk: what a
//! log sees, what survives a restart, and the rollback race.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use quorate_tlog::{
    Checkpoint, LogKey, MemoryTree, WitnessKey, add_cosignatures, prove_consistency,
    verify_cosignatures,
};
use quorate_witness::serve::{self, Server};
use quorate_witness::state::State;
use quorate_witness::{AddCheckpoint, Witness, key_file};

const ORIGIN: &str = "quorate.test/record";

struct Running {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

async fn start(dir: &Path, log: &LogKey, now: u64) -> Running {
    let key = key_file::load(dir).unwrap();
    let witness = Witness::new(key, vec![log.verifier().unwrap()]).unwrap();
    let server = Arc::new(Server::new(
        witness,
        State::open(dir).unwrap(),
        Arc::new(move || now),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/add-checkpoint", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(serve::run(listener, server, async move {
        let _ = stopped.await;
    }));
    Running {
        url,
        stop: Some(stop),
        task,
    }
}

async fn post(url: &str, body: String) -> (u16, String, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<axum::body::Bytes>>();
    let request = http::Request::post(url)
        .body(Full::new(axum::body::Bytes::from(body)))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), client.request(request))
        .await
        .unwrap()
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

struct Log {
    key: LogKey,
    tree: MemoryTree,
}

impl Log {
    fn new() -> Self {
        Log {
            key: LogKey::from_seed(ORIGIN, &[1; 32]).unwrap(),
            tree: MemoryTree::new(),
        }
    }

    fn grow(&mut self, n: usize) {
        for _ in 0..n {
            let i = self.tree.size();
            self.tree.append(format!("entry {i}").as_bytes());
        }
    }

    fn note(&self) -> String {
        let checkpoint = Checkpoint {
            origin: ORIGIN.into(),
            size: self.tree.size(),
            root: self.tree.root(),
        };
        self.key.sign_checkpoint(&checkpoint).unwrap()
    }

    fn body(&self, old_size: u64) -> String {
        AddCheckpoint {
            old_size,
            proof: prove_consistency(old_size, self.tree.size(), &self.tree)
                .unwrap()
                .hashes,
            checkpoint: self.note(),
        }
        .to_body()
    }
}

fn init(dir: &Path) -> WitnessKey {
    key_file::create(dir, "witness.test/w1").unwrap()
}

#[tokio::test]
async fn a_log_gets_cosignatures_that_verify_and_the_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let key = init(dir.path());
    let mut log = Log::new();
    log.grow(6);
    let witness = start(dir.path(), &log.key, 1_800_000_000).await;

    let (status, content_type, body) = post(&witness.url, log.body(0)).await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with("text/plain"));
    assert!(body.starts_with("— witness.test/w1 ") && body.ends_with('\n'));
    // The reply appended to the checkpoint is a cosigned note.
    let cosigned = format!("{}{body}", log.note());
    let found = verify_cosignatures(&cosigned, &[key.verifier()]).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].time, 1_800_000_000);
    // add_cosignatures gives the same note.
    assert_eq!(add_cosignatures(&log.note(), &found).unwrap(), cosigned);

    log.grow(5);
    let (status, _, body) = post(&witness.url, log.body(6)).await;
    assert_eq!(status, 200, "{body}");
    witness.stop().await;

    // After a restart the witness still knows it cosigned size 11.
    let witness = start(dir.path(), &log.key, 1_800_000_100).await;
    let (status, content_type, body) = post(&witness.url, log.body(6)).await;
    assert_eq!(
        (status, content_type.as_str(), body.as_str()),
        (409, "text/x.tlog.size", "11\n")
    );
    let state = State::open(dir.path()).unwrap();
    assert_eq!(state.latest(ORIGIN).unwrap().unwrap().size, 11);
    let kept = state.latest_note(ORIGIN).unwrap().unwrap();
    assert_eq!(
        verify_cosignatures(&kept, &[key.verifier()]).unwrap().len(),
        1
    );
    log.grow(1);
    let (status, _, body) = post(&witness.url, log.body(11)).await;
    assert_eq!(status, 200, "{body}");
    witness.stop().await;
}

#[tokio::test]
async fn refusals_carry_the_status_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let mut log = Log::new();
    log.grow(4);
    let witness = start(dir.path(), &log.key, 1_800_000_000).await;
    assert_eq!(post(&witness.url, log.body(0)).await.0, 200);
    log.grow(4);

    let mut bad_proof = AddCheckpoint::parse(log.body(4).as_bytes()).unwrap();
    bad_proof.proof[0].0[5] ^= 0x40;
    let (status, _, body) = post(&witness.url, bad_proof.to_body()).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("consistency proof"), "{body}");
    // Kept as evidence against the log.
    assert_eq!(
        std::fs::read_dir(dir.path().join("evidence"))
            .unwrap()
            .count(),
        1
    );

    let (status, _, body) = post(&witness.url, "old 4\nnot base64!\n\nx".into()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("proof line 1"), "{body}");

    let other = LogKey::from_seed("other.test/log", &[2; 32]).unwrap();
    let foreign = other
        .sign_checkpoint(&Checkpoint {
            origin: "other.test/log".into(),
            size: 0,
            root: quorate_tlog::EMPTY_ROOT,
        })
        .unwrap();
    let (status, _, body) = post(&witness.url, format!("old 0\n\n{foreign}")).await;
    assert_eq!(status, 404, "{body}");

    let impostor = LogKey::from_seed(ORIGIN, &[3; 32]).unwrap();
    let forged = impostor
        .sign_checkpoint(&Checkpoint {
            origin: ORIGIN.into(),
            size: log.tree.size(),
            root: log.tree.root(),
        })
        .unwrap();
    let mut request = AddCheckpoint::parse(log.body(4).as_bytes()).unwrap();
    request.checkpoint = forged;
    let (status, _, body) = post(&witness.url, request.to_body()).await;
    assert_eq!(status, 403, "{body}");

    let too_big = format!("old 0\n\n{}", "x".repeat(serve::MAX_BODY + 1));
    assert_eq!(post(&witness.url, too_big).await.0, 413);

    // None of that moved the witness: size 4 is still the latest.
    let state = State::open(dir.path()).unwrap();
    assert_eq!(state.latest(ORIGIN).unwrap().unwrap().size, 4);
    assert_eq!(post(&witness.url, log.body(4)).await.0, 200);
    witness.stop().await;
}

/// Two logs' views race from the same old size: the check and the write
/// happen under one lock, so exactly one is cosigned and the other learns
/// the new size. Repeated to give the race its chances.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_racing_extensions_from_one_size_exactly_one_is_cosigned() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let mut log = Log::new();
    log.grow(2);
    let witness = start(dir.path(), &log.key, 1_800_000_000).await;
    assert_eq!(post(&witness.url, log.body(0)).await.0, 200);
    for _ in 0..20 {
        let old = log.tree.size();
        log.grow(1);
        let shorter = log.body(old);
        log.grow(1);
        let longer = log.body(old);
        let (a, b) = tokio::join!(post(&witness.url, shorter), post(&witness.url, longer));
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
        let latest = State::open(dir.path())
            .unwrap()
            .latest(ORIGIN)
            .unwrap()
            .unwrap();
        let winner = if a.0 == 200 { old + 1 } else { old + 2 };
        assert_eq!(latest.size, winner);
        // Catch up to the log's size for the next round.
        if winner != log.tree.size() {
            assert_eq!(post(&witness.url, log.body(winner)).await.0, 200);
        }
    }
    witness.stop().await;
}

#[test]
fn a_key_file_others_can_read_is_refused_and_init_keeps_an_existing_key() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = init(dir.path());
    assert_eq!(
        key_file::load(dir.path()).unwrap().verifier_key(),
        key.verifier_key()
    );
    let err = key_file::create(dir.path(), "witness.test/w2")
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("already holds a witness key"),
        "{err}"
    );
    let path = dir.path().join(key_file::FILE_NAME);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = key_file::load(dir.path()).err().unwrap();
    assert!(err.to_string().contains("chmod 600"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    let err = key_file::load(empty.path()).err().unwrap();
    assert!(err.to_string().contains("quorate witness init"), "{err}");
}
