//! No secret leaves its place: a whole ceremony runs with every log line
//! captured at TRACE level, and neither the log, nor any file the
//! deployment wrote, nor the `Debug` of the key files and agent
//! configurations holds a signing share, a key package, an identity key or
//! a passphrase, in any common spelling. (Nonces live only inside the
//! agents and zeroize on drop; nothing outside can read them to look.)

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use quorate_e2e::*;
use quorate_secrets::keyfile::KeyShareFile;
use quorate_secrets::sealed::{self, SecretKind};
use tracing_subscriber::fmt::MakeWriter;

/// Every log line, as written.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

/// A secret and the ways it could be written down.
struct Secret {
    what: String,
    spellings: Vec<Vec<u8>>,
}

impl Secret {
    fn bytes(what: String, bytes: &[u8]) -> Self {
        let b64 = base64::engine::general_purpose::STANDARD;
        let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        Self {
            what,
            spellings: vec![
                bytes.to_vec(),
                hex::encode(bytes).into_bytes(),
                hex::encode_upper(bytes).into_bytes(),
                b64.encode(bytes).into_bytes(),
                b64url.encode(bytes).into_bytes(),
                format!("{bytes:?}").into_bytes(),
            ],
        }
    }

    fn text(what: String, text: &str) -> Self {
        Self {
            what,
            spellings: vec![text.as_bytes().to_vec()],
        }
    }

    fn found_in(&self, haystack: &[u8]) -> Option<String> {
        self.spellings
            .iter()
            .find(|s| haystack.windows(s.len()).any(|w| w == s.as_slice()))
            .map(|s| format!("{} ({})", self.what, String::from_utf8_lossy(s)))
    }
}

/// Every secret of the deployment's agents.
fn secrets(d: &quorate::local::LocalDeployment) -> Vec<Secret> {
    let mut all = Vec::new();
    for (id, config) in &d.agent_configs {
        let passphrase = passphrase(d, id.as_str());
        let package = key_package(d, id.as_str());
        all.push(Secret::bytes(
            format!("{id}'s signing share"),
            &package.signing_share().serialize(),
        ));
        all.push(Secret::bytes(
            format!("{id}'s key package"),
            &package.serialize().unwrap(),
        ));
        let identity = sealed::load(&config.identity_key, SecretKind::IdentityKey, passphrase)
            .unwrap()
            .plaintext;
        let identity = String::from_utf8(identity.to_vec()).unwrap();
        let seed = identity
            .split("\"secret\": \"")
            .nth(1)
            .and_then(|rest| rest.get(..64))
            .unwrap();
        all.push(Secret::bytes(
            format!("{id}'s identity key"),
            &hex::decode(seed).unwrap(),
        ));
        all.push(Secret::text(
            format!("{id}'s passphrase"),
            std::str::from_utf8(passphrase.as_bytes()).unwrap(),
        ));
    }
    all
}

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else if path.is_file() {
            out.push(path);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_ceremony_leaves_no_secret_in_logs_files_or_debug_output() {
    let capture = Capture::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
        .with_ansi(false)
        .with_writer(capture.clone())
        .try_init()
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let d = deploy(dir.path()).await;
    let id = request(&d, MANIFEST).await;
    for who in ["alice", "bob", "carol"] {
        d.approve(&pid(who), &id, T).await.unwrap();
    }
    let s = d.wait_finished(&id, T).await.unwrap();
    verify(&d, &s);

    let secrets = secrets(&d);
    // The search finds what it looks for.
    let share = key_package(&d, "alice").signing_share().serialize();
    let planted = format!("share={}", hex::encode(&share));
    assert!(secrets[0].found_in(planted.as_bytes()).is_some());
    let log = capture.0.lock().unwrap().clone();
    assert!(
        String::from_utf8_lossy(&log).contains("TRACE"),
        "no log was captured"
    );
    for secret in &secrets {
        assert_eq!(secret.found_in(&log), None, "in the log");
    }

    let mut files = Vec::new();
    files_under(dir.path(), &mut files);
    assert!(files.iter().any(|f| f.ends_with("alice.share.json")));
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for secret in &secrets {
            assert_eq!(secret.found_in(&bytes), None, "in {}", file.display());
        }
    }

    let mut shown = format!("{:?}", d.agent_configs);
    for (who, config) in &d.agent_configs {
        let passphrase = passphrase(&d, who.as_str());
        let share = KeyShareFile::load(&config.key_share, passphrase).unwrap();
        let identity =
            quorate_secrets::IdentityKey::load(&config.identity_key, passphrase).unwrap();
        let package = key_package(&d, who.as_str());
        shown.push_str(&format!(
            "{share:?} {identity:?} {passphrase:?} {package:?}"
        ));
    }
    assert!(shown.contains("alice"), "{shown}");
    for secret in &secrets {
        assert_eq!(secret.found_in(shown.as_bytes()), None, "in Debug output");
    }
    d.stop().await.unwrap();
}
