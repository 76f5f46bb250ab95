//! The approver's share backup and restore (`quorate-participant backup`
//! and `restore`): the agent's signing share split into custodian pieces
//! ([`quorate_backup`]), and a lost share restored from enough of them,
//! taken only if it is this participant's verifying share's.

use std::path::{Path, PathBuf};

use frost_ed25519::keys::KeyPackage;
use quorate_backup::{Commitments, Piece, printable};
use quorate_ceremonies::KeyGroup;
use quorate_secrets::keyfile::KeyShareFile;
use quorate_secrets::sealed::KdfParams;
use quorate_secrets::{GroupFileIo, Passphrase};
use quorate_types::backup_note::{BackupNote, SignedBackupNote};
use quorate_types::{KeyGroupFile, ParticipantId};
use quorate_wire::signer_client::SignerClient;

use crate::AgentConfig;

/// How each piece is handed over.
pub enum Form<'a> {
    /// A file sealed with each custodian's passphrase, which `passphrase`
    /// gives.
    Sealed(&'a dyn Fn(&ParticipantId) -> anyhow::Result<Passphrase>),
    /// Printable text, to print and hand over: returned
    /// ([`Made::printed`]), never written to disk.
    Printable,
}

/// The key group of `config` and this participant's verifying share in it.
fn group_and_share_point(config: &AgentConfig) -> anyhow::Result<(KeyGroup, [u8; 32])> {
    let file = KeyGroupFile::load(&config.key_group)?;
    let share = share_point(&file, &config.id)
        .map_err(|e| anyhow::anyhow!("{}: {e}", config.key_group.display()))?;
    let group = KeyGroup::from_file(&file)
        .map_err(|e| anyhow::anyhow!("{}: {e}", config.key_group.display()))?;
    Ok((group, share))
}

/// `participant`'s verifying share in the key group `file` (32 bytes).
pub fn share_point(file: &KeyGroupFile, participant: &ParticipantId) -> anyhow::Result<[u8; 32]> {
    let group = KeyGroup::from_file(file).map_err(|e| anyhow::anyhow!("{e}"))?;
    let share = group
        .public_key_package
        .verifying_shares()
        .get(&participant.identifier())
        .ok_or_else(|| anyhow::anyhow!("key group {} has no participant {participant}", file.name))?
        .serialize()?;
    share
        .try_into()
        .map_err(|_| anyhow::anyhow!("a verifying share is 32 bytes"))
}

/// A backup made: its commitments, and the approver's signed note of it
/// for the record.
pub struct Made {
    pub commitments: Commitments,
    pub note: SignedBackupNote,
    /// With [`Form::Printable`], each custodian's piece as text, to print
    /// and hand over: it holds the secret value.
    pub printed: Vec<(ParticipantId, zeroize::Zeroizing<String>)>,
}

/// The file of the note, beside the pieces, to send again
/// ([`note`]) if the coordinator could not be told at once.
pub const NOTE_FILE: &str = "backup-note.json";

/// Splits the share `config` names (opened with `passphrase`) into one
/// piece per custodian, any `threshold` of which restore it: sealed
/// pieces written into `out` as `<custodian>.piece`, printable ones
/// returned; with the public `commitments.json` and the note signed with
/// the approver's identity key, [`NOTE_FILE`], in `out`.
pub fn backup(
    config: &AgentConfig,
    passphrase: &Passphrase,
    custodians: &[ParticipantId],
    threshold: u16,
    out: &Path,
    form: Form<'_>,
) -> anyhow::Result<Made> {
    let share = KeyShareFile::load(&config.key_share, passphrase)?;
    let package = share
        .key_package()
        .map_err(|e| anyhow::anyhow!("{}: {e}", config.key_share.display()))?;
    let (group, share_point) = group_and_share_point(config)?;
    let identity = crate::identity::load_identity(config, &group.roster, passphrase)?;
    let (pieces, commitments) = quorate_backup::split(
        package.signing_share(),
        &group.name,
        &config.id,
        custodians,
        threshold,
    )?;
    if commitments.share_point() != Some(share_point) {
        anyhow::bail!(
            "{} is not the share {} lists for {} (a refresh since?): nothing was backed up",
            config.key_share.display(),
            config.key_group.display(),
            config.id
        );
    }
    std::fs::create_dir_all(out)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out.display()))?;
    for file in ["commitments.json", NOTE_FILE] {
        if out.join(file).exists() {
            anyhow::bail!("{} exists; choose an empty --out", out.join(file).display());
        }
    }
    let mut printed = Vec::new();
    for piece in &pieces {
        match form {
            Form::Sealed(passphrase) => {
                let path = out.join(format!("{}.piece", piece.custodian));
                if path.exists() {
                    anyhow::bail!("{} exists; choose an empty --out", path.display());
                }
                piece.save(&path, &passphrase(&piece.custodian)?, &KdfParams::default())?
            }
            Form::Printable => printed.push((piece.custodian.clone(), printable::to_text(piece))),
        }
    }
    let note = BackupNote {
        key_group: group.name.clone(),
        participant: config.id.clone(),
        commitments_sha256: commitments.hash(),
        share_point: share_point.to_vec(),
        threshold,
        custodians: custodians.to_vec(),
        at_unix_ms: crate::identity::now_unix_ms(),
    }
    .sign(&identity);
    for (file, json) in [
        ("commitments.json", serde_json::to_vec_pretty(&commitments)?),
        (NOTE_FILE, serde_json::to_vec_pretty(&note)?),
    ] {
        let path = out.join(file);
        std::fs::write(&path, json)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    Ok(Made {
        commitments,
        note,
        printed,
    })
}

/// Has the coordinator record `note` (the agent's TLS identity must be
/// its participant). Ok(false) when the record held it already.
pub async fn note(config: &AgentConfig, note: &SignedBackupNote) -> anyhow::Result<bool> {
    let (channel, identify) = config.channel().await?;
    let reply = SignerClient::with_interceptor(channel, identify)
        .note_backup(quorate_wire::NoteBackupRequest {
            note: note.to_bytes(),
        })
        .await
        .map_err(|s| anyhow::anyhow!("the coordinator answered {:?}: {}", s.code(), s.message()))?;
    Ok(reply.into_inner().recorded)
}

/// Reads the piece at `path`: printable text as is, a sealed file with
/// its custodian's passphrase from `passphrase`.
pub fn read_piece(
    path: &Path,
    passphrase: &dyn Fn(&Path) -> anyhow::Result<Passphrase>,
) -> anyhow::Result<Piece> {
    let bytes =
        std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    if bytes.starts_with(b"quorate share piece") {
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("{} is not text", path.display()))?;
        return printable::from_text(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
    }
    Ok(Piece::load(path, &passphrase(path)?)?)
}

/// Restores the share `config` names from `pieces`, if they restore this
/// participant's share, and seals it with `passphrase` into
/// `config.key_share`, which must not exist. Returns its path.
pub fn restore(
    config: &AgentConfig,
    passphrase: &Passphrase,
    pieces: &[Piece],
) -> anyhow::Result<PathBuf> {
    let path = &config.key_share;
    if path.exists() {
        anyhow::bail!(
            "{} exists: a restore writes a lost share, never over one",
            path.display()
        );
    }
    let (group, share_point) = group_and_share_point(config)?;
    // The new share file is sealed with `passphrase`: it must be the one
    // that opens this participant's identity key, not a typo.
    crate::identity::load_identity(config, &group.roster, passphrase)?;
    for piece in pieces {
        let c = &piece.commitments;
        if c.participant != config.id || c.key_group != group.name {
            anyhow::bail!(
                "{}'s piece backs up {}'s share in key group {}, not {}'s in {}",
                piece.custodian,
                c.participant,
                c.key_group,
                config.id,
                group.name
            );
        }
    }
    let signing_share = quorate_backup::restore(pieces, &share_point)?;
    let public = &group.public_key_package;
    let verifying_share = *public
        .verifying_shares()
        .get(&config.id.identifier())
        .ok_or_else(|| anyhow::anyhow!("no verifying share for {}", config.id))?;
    let package = KeyPackage::new(
        config.id.identifier(),
        signing_share,
        verifying_share,
        *public.verifying_key(),
        group.threshold,
    );
    KeyShareFile::new(group.name.clone(), config.id.clone(), &package)?.save(
        path,
        passphrase,
        &KdfParams::default(),
    )?;
    Ok(path.clone())
}
