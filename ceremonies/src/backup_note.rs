//! Whether a key group takes an approver's backup note ([`SignedBackupNote`])
//! into its record: the coordinator asks before it records one, and an
//! auditor asks again of every note recorded. Pure.

use quorate_types::backup_note::SignedBackupNote;

use crate::KeyGroup;

/// Why `group` does not take `signed`, or `Ok`: signed by the identity key
/// its roster lists for the approver, about the approver's current
/// verifying share, with a threshold the custodians can meet.
pub fn check(group: &KeyGroup, signed: &SignedBackupNote) -> Result<(), String> {
    let note = &signed.note;
    let who = &note.participant;
    if note.key_group != group.name {
        return Err(format!(
            "the note is about key group {}, not {}",
            note.key_group, group.name
        ));
    }
    let entry = group
        .roster
        .get(who)
        .ok_or_else(|| format!("{who} is not in key group {}'s roster", group.name))?;
    let identity = entry
        .identity
        .as_ref()
        .ok_or_else(|| format!("the roster lists no identity key for {who}"))?;
    if !signed.verify(identity) {
        return Err(format!(
            "the note's signature does not verify under {who}'s identity key"
        ));
    }
    let share = group
        .public_key_package
        .verifying_shares()
        .get(&who.identifier())
        .and_then(|s| s.serialize().ok())
        .ok_or_else(|| format!("key group {} has no verifying share for {who}", group.name))?;
    if note.share_point != share {
        return Err(format!(
            "the backup is of another share than {who}'s verifying share in key group {} (a \
             share from before a refresh?)",
            group.name
        ));
    }
    let n = note.custodians.len();
    if note.threshold < 2 || usize::from(note.threshold) > n {
        return Err(format!(
            "a backup of {n} pieces with threshold {}",
            note.threshold
        ));
    }
    for (i, c) in note.custodians.iter().enumerate() {
        if note.custodians[..i].contains(c) {
            return Err(format!("custodian {c} is named twice"));
        }
    }
    Ok(())
}
