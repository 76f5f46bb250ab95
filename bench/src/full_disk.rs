//! A real full disk under the coordinator, if the machine allows mounting
//! one: the coordinator's data directory moved onto a small tmpfs and run
//! as a process (`chaos-coordinator`); the tmpfs filled to the last byte;
//! then a request, which must be refused with `UNAVAILABLE` and never
//! acknowledged; then the filler removed and the same request asked
//! again, which must sign, with no restart in between.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use quorate::local::{LocalDeployment, Options, REQUESTER, sample_roster};
use quorate_e2e::process::CoordinatorProcess;
use quorate_wire::{self as proto, CeremonyState};

/// What the full-disk phase found.
pub enum FullDisk {
    /// Not run, and why (no tmpfs could be mounted here).
    NotRun(String),
    /// Refused while full, signed once there was room.
    Held,
    /// What went wrong.
    Failed(String),
}

impl std::fmt::Display for FullDisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FullDisk::NotRun(why) => write!(f, "full disk: not run ({why})"),
            FullDisk::Held => write!(
                f,
                "full disk: refused with UNAVAILABLE while full, signed once there was room"
            ),
            FullDisk::Failed(why) => write!(f, "full disk: FAILED: {why}"),
        }
    }
}

/// A mounted tmpfs, unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Result<Self, String> {
        std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cannot mount a tmpfs: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn request() -> proto::CreateCeremonyRequest {
    proto::CreateCeremonyRequest {
        key_group: "release".into(),
        message: b"full-disk  release.tar.gz\n".to_vec(),
        label: "SHA256SUMS".into(),
        request_id: "full-disk".into(),
        ..Default::default()
    }
}

pub async fn run(dir: &Path, program: &Path) -> anyhow::Result<FullDisk> {
    let options = Options {
        auto_approve: true,
        ..Options::default()
    };
    let mut d =
        LocalDeployment::start_with(dir, "release", &sample_roster(None), 3, options).await?;
    d.stop_coordinator().await?;
    // The data directory onto a 4 MiB tmpfs, at the same path.
    let data = d.coordinator_config.data_dir.clone();
    let disk = match Tmpfs::mount(&dir.join("small-disk"), "4m") {
        Ok(disk) => disk,
        Err(why) => return Ok(FullDisk::NotRun(why)),
    };
    for file in std::fs::read_dir(&data)? {
        let file = file?;
        std::fs::copy(file.path(), disk.0.join(file.file_name()))?;
    }
    std::fs::remove_dir_all(&data)?;
    std::os::unix::fs::symlink(&disk.0, &data)?;
    let coordinator =
        CoordinatorProcess::take_over_with(&mut d, program, &["chaos-coordinator"]).await;

    // Fill it to the last byte.
    let filler = disk.0.join("filler");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=4096"])
        .arg(format!("of={}", filler.display()))
        .output()?;
    let target = d.target(REQUESTER)?;
    let found = match quorate::client::create_ceremony(&target, request()).await {
        Ok(s) => FullDisk::Failed(format!("a full disk acknowledged ceremony {}", s.id)),
        Err(e)
            if ["could not be written", "free disk space"]
                .iter()
                .any(|why| e.to_string().contains(why)) =>
        {
            // Room again: the same request signs, without a restart.
            std::fs::remove_file(&filler)?;
            match quorate::client::create_ceremony(&target, request()).await {
                Ok(s) => match d.wait_finished(&s.id, Duration::from_secs(60)).await {
                    Ok(s) if s.state() == CeremonyState::Signed => FullDisk::Held,
                    Ok(s) => FullDisk::Failed(format!("the ceremony ended {:?}", s.state())),
                    Err(e) => FullDisk::Failed(format!("the ceremony did not finish: {e}")),
                },
                Err(e) => FullDisk::Failed(format!("refused with room again: {e}")),
            }
        }
        Err(e) => FullDisk::Failed(format!("refused, but not for the disk: {e}")),
    };
    drop(coordinator);
    d.stop().await?;
    drop(disk);
    Ok(found)
}
