//! SSHSIG files made by `formats::sshsig` from a fixed key, checked by the
//! real `ssh-keygen` (`.ci/run` installs Debian's openssh-client).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use ed25519_dalek::Signer;
use quorate_formats::sshsig::{
    Namespace, allowed_signers_line, armor, public_key_line, signed_data,
};

const SEED: [u8; 32] = [7; 32];

/// Runs `ssh-keygen args < stdin`; fails, never skips, without ssh-keygen.
fn ssh_keygen(args: &[&str], files: &[&Path], stdin: &[u8]) -> Output {
    let mut child = Command::new("ssh-keygen")
        .args(args)
        .args(files)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run ssh-keygen ({e}): install openssh-client (apt-get install openssh-client)")
        });
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn sha512(bytes: &[u8]) -> [u8; 64] {
    use sha2::Digest;
    sha2::Sha512::digest(bytes).into()
}

#[test]
fn ssh_keygen_accepts_a_fixed_key_signature_and_rejects_a_tampered_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&SEED);
    let public = key.verifying_key().to_bytes();
    let artifact = b"an artifact of any size\n".repeat(1000);
    for ns in ["file", "release@example.com"] {
        let ns = Namespace::new(ns).unwrap();
        let signature = key.sign(&signed_data(&ns, &sha512(&artifact))).to_bytes();
        let sig = dir.path().join(format!("{ns}.sig"));
        std::fs::write(&sig, armor(&public, &ns, &signature).unwrap()).unwrap();
        let signers = dir.path().join("allowed_signers");
        std::fs::write(
            &signers,
            allowed_signers_line("releases@example.com", &ns, &public).unwrap(),
        )
        .unwrap();

        let check = ["-Y", "check-novalidate", "-n", ns.as_str(), "-s"];
        let out = ssh_keygen(&check, &[&sig], &artifact);
        assert!(out.status.success(), "{out:?}");
        let verify = ["-Y", "verify", "-I", "releases@example.com", "-n"];
        let verify = [&verify[..], &[ns.as_str(), "-f"]].concat();
        let out = ssh_keygen(&verify, &[&signers, Path::new("-s"), &sig], &artifact);
        assert!(out.status.success(), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Good \"")
                || String::from_utf8_lossy(&out.stderr).contains("Good \""),
            "{out:?}"
        );

        let mut tampered = artifact.clone();
        tampered[0] ^= 1;
        let out = ssh_keygen(&check, &[&sig], &tampered);
        assert!(!out.status.success(), "{out:?}");
        let out = ssh_keygen(&verify, &[&signers, Path::new("-s"), &sig], &tampered);
        assert!(!out.status.success(), "{out:?}");
        // The signature is bound to its namespace.
        let other = ["-Y", "check-novalidate", "-n", "git", "-s"];
        let out = ssh_keygen(&other, &[&sig], &artifact);
        assert!(!out.status.success(), "{out:?}");
    }

    // ssh-keygen reads the public key line quorate writes.
    let pubfile = dir.path().join("group.pub");
    std::fs::write(
        &pubfile,
        format!("{}\n", public_key_line(&public, "quorate release").unwrap()),
    )
    .unwrap();
    let out = ssh_keygen(&["-l", "-f"], &[&pubfile], b"");
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(ED25519)"),
        "{out:?}"
    );
}
