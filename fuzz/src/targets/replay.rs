//! Transcripts as an auditor replays them offline.

use quorate_ceremonies::Entry;
use quorate_ceremonies::replay::{TRANSCRIPT_FORMAT, Transcript, TranscriptEntry, replay};
use quorate_tlog::{Checkpoint, MemoryTree, prove_inclusion};

use crate::fixed;

/// Entries a structured replay takes at most, to keep each run short.
const MAX_ENTRIES: usize = 64;

/// A transcript's JSON, replayed against the frozen vectors' log key:
/// never a panic, and the same report twice.
pub fn transcript(data: &[u8]) {
    let Ok(transcript) = serde_json::from_slice::<Transcript>(data) else {
        return;
    };
    replayed_alike(&transcript);
}

/// Entries cut from the input, proven in a checkpoint the log key signs,
/// so that replay gets past the proofs to the ceremony's rules: the
/// engine replays whatever the record holds without a panic, and the same
/// way twice.
pub fn replay_entries(data: &[u8]) {
    let entries = crate::pieces(data);
    if entries.len() > MAX_ENTRIES || entries.iter().any(|e| std::str::from_utf8(e).is_err()) {
        return;
    }
    let mut tree = MemoryTree::new();
    for entry in &entries {
        tree.append(entry);
    }
    let checkpoint = Checkpoint {
        origin: fixed::LOG_ORIGIN.into(),
        size: tree.size(),
        root: tree.root(),
    };
    let Ok(note) = fixed::log_key().sign_checkpoint(&checkpoint) else {
        panic!("the fixed log key cannot sign a checkpoint");
    };
    let proven: Option<Vec<TranscriptEntry>> = entries
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            Some(TranscriptEntry {
                index: i as u64,
                entry: String::from_utf8(bytes.to_vec()).ok()?,
                proof: prove_inclusion(i as u64, tree.size(), &tree).ok()?.hashes,
            })
        })
        .collect();
    let Some(proven) = proven else {
        panic!("no inclusion proof for an entry of a tree in memory");
    };
    let ceremony = entries
        .iter()
        .filter_map(|e| Entry::decode(e).ok())
        .find_map(|e| e.ceremony().cloned())
        .unwrap_or_else(super::ceremony);
    let transcript = Transcript {
        format: TRANSCRIPT_FORMAT.into(),
        ceremony,
        checkpoint: note,
        entries: proven,
    };
    replayed_alike(&transcript);
}

/// Replays `transcript` twice, which must give the same report.
fn replayed_alike(transcript: &Transcript) {
    let log = fixed::log_verifier();
    let first = replay(transcript, &log);
    assert_eq!(
        first,
        replay(transcript, &log),
        "replay is not deterministic"
    );
}
