//! `quorate backup verify`: a custodian checks the piece they were handed
//! against the backup's commitments, and the commitments against the
//! approver's verifying share in the key group file.

use std::path::PathBuf;

use quorate_secrets::GroupFileIo;
use quorate_types::KeyGroupFile;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Check a piece: a sealed file (asks its passphrase, or reads
    /// QUORATE_CUSTODIAN_PASSPHRASE) or a printed piece typed in. With
    /// --group, also that it backs up the approver's share in that key
    /// group file. Exits 0 only if the piece checks out.
    Verify {
        piece: PathBuf,
        /// The key group file (group.json) the approver's share is in.
        #[arg(long)]
        group: Option<PathBuf>,
    },
}

pub fn run(command: Command) -> anyhow::Result<()> {
    let Command::Verify { piece, group } = command;
    let ask = |path: &std::path::Path| {
        if let Ok(p) = std::env::var("QUORATE_CUSTODIAN_PASSPHRASE")
            && !p.is_empty()
        {
            return Ok(quorate_secrets::Passphrase::new(zeroize::Zeroizing::new(p)));
        }
        Ok(quorate_secrets::passphrase::ask(&format!(
            "your passphrase for {}: ",
            path.display()
        ))?)
    };
    let piece = quorate_participant::backup::read_piece(&piece, &ask)?;
    let c = &piece.commitments;
    let share_point = match &group {
        None => None,
        Some(path) => {
            let file = KeyGroupFile::load(path)?;
            if file.name != c.key_group {
                anyhow::bail!(
                    "the piece is of key group {}, but {} is key group {}",
                    c.key_group,
                    path.display(),
                    file.name
                );
            }
            Some(quorate_participant::backup::share_point(
                &file,
                &c.participant,
            )?)
        }
    };
    piece.verify(share_point.as_ref())?;
    println!(
        "{}'s piece {} of {} checks out: any {} pieces restore {}'s share in key group {} \
         (commitments {}){}",
        piece.custodian,
        piece.index,
        c.count,
        c.threshold,
        c.participant,
        c.key_group,
        c.hash(),
        if group.is_some() {
            ", whose verifying share the key group file lists"
        } else {
            "; give --group group.json to check it is the approver's"
        }
    );
    Ok(())
}
