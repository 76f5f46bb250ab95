//! Record entries as the coordinator's store and an auditor read them, and
//! the agent's lookup of its own statement among a ceremony's entries.

use quorate_ceremonies::Entry;
use quorate_participant::record_check::find_statement;

use super::{alice, ceremony};

/// `Entry::decode`: what it takes is canonical (v2 re-encodes to the same
/// bytes), and the statement lookup agrees with it about approvals.
pub fn entry(data: &[u8]) {
    let version = Entry::version_of(data);
    if let Ok(entry) = Entry::decode(data) {
        assert!(version.is_some(), "decoded an entry of no version");
        if version == Some(2) {
            assert_eq!(entry.encode(), data, "a v2 entry that is not canonical");
        }
        let _ = (entry.kind(), entry.ceremony());
    }
    let _ = Entry::statement_in(data);
}

/// `find_statement` over entries cut from the input: the first piece is
/// the agent's own statement, the rest the ceremony's entries. A found
/// index holds exactly that statement.
pub fn statement_lookup(data: &[u8]) {
    let pieces = crate::pieces(data);
    let Some((ours, rest)) = pieces.split_first() else {
        return;
    };
    let entries: Vec<(u64, Vec<u8>)> = rest
        .iter()
        .enumerate()
        .map(|(i, bytes)| (i as u64, bytes.to_vec()))
        .collect();
    if let Ok(index) = find_statement(&ceremony(), &alice(), ours, &entries) {
        let Some((_, bytes)) = entries.iter().find(|(i, _)| *i == index) else {
            panic!("found at index {index}, which is not among the entries");
        };
        let Some((of, statement)) = Entry::statement_in(bytes) else {
            panic!("found at index {index}, which holds no statement");
        };
        assert_eq!(of, ceremony());
        assert_eq!(statement.to_bytes(), *ours);
    }
}
