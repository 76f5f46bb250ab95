//! `quorate keygen` seals every participant's share and identity-key files
//! with the passphrase it is given, at the default Argon2id costs.

use quorate::local::sample_roster;
use quorate_secrets::keyfile::KeyShareFile;
use quorate_secrets::{IdentityKey, Passphrase};
use quorate_types::Roster;

#[test]
fn keygen_seals_each_participants_files_with_the_passphrase_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let roster = Roster {
        participants: sample_roster(None).participants[..3].to_vec(),
    };
    std::fs::write(dir.path().join("roster.toml"), roster.to_toml()).unwrap();
    let keys = dir.path().join("keys");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args(["keygen", "--threshold", "2", "--key-group", "release"])
        .arg("--roster")
        .arg(dir.path().join("roster.toml"))
        .arg("--out")
        .arg(&keys)
        .env("QUORATE_PASSPHRASE", "correct horse battery staple")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let right = Passphrase::new("correct horse battery staple".to_string().into());
    let wrong = Passphrase::new("correct horse".to_string().into());
    for entry in &roster.participants {
        let share = keys.join(format!("{}.share.json", entry.id));
        let identity = keys.join(format!("{}.identity.json", entry.id));
        let text = std::fs::read_to_string(&share).unwrap();
        assert!(text.contains("\"m_cost\": 65536"), "{text}");
        assert_eq!(
            KeyShareFile::load(&share, &right).unwrap().participant,
            entry.id
        );
        assert_eq!(
            IdentityKey::load(&identity, &right).unwrap().participant(),
            &entry.id
        );
        let e = KeyShareFile::load(&share, &wrong).unwrap_err().to_string();
        assert!(e.contains("the passphrase is wrong"), "{e}");
    }
}
