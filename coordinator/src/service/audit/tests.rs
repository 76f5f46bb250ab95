use quorate_ceremonies::Entry;
use quorate_ceremonies::Timestamp;
use quorate_ceremonies::record::{RefusalReason, RefusedAction};
use quorate_types::KeyGroupName;

use super::{entries_page, evidence_page};
use crate::store::{CeremonyStore, RedbStore};

/// A store in `dir` holding `n` refusals, each a little different.
async fn refusals(dir: &std::path::Path, n: i64) -> Result<RedbStore, Box<dyn std::error::Error>> {
    let store = RedbStore::open(dir)?;
    let release = KeyGroupName::new("release")?;
    let entry = |i: i64| Entry::Refused {
        at: Timestamp(1_800_000_000_000 + i),
        caller: format!("mallory-{i}"),
        ceremony: None,
        action: RefusedAction::Approve,
        why: RefusalReason::NotInRoster {
            key_group: release.clone(),
        },
    };
    store.append((0..n).map(entry).collect()).await?;
    Ok(store)
}

#[tokio::test]
async fn pages_stop_at_the_budget_and_go_on_from_the_next_index()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = refusals(dir.path(), 10).await?;
    let one = store.entry(0)?.len() + 32;
    // Three entries' worth a page: 3, 3, 3, then the last one alone.
    let mut from = 0;
    let mut pages = Vec::new();
    loop {
        let (entries, more) = entries_page(&store, 0..10, from, 3 * one + 8)?;
        let indexes: Vec<u64> = entries.iter().map(|e| e.index).collect();
        pages.push(indexes.clone());
        if !more {
            break;
        }
        from = indexes.last().map_or(from, |last| last + 1);
    }
    assert_eq!(
        pages,
        vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8], vec![9]]
    );
    // A budget smaller than one entry still gives one.
    let (entries, more) = entries_page(&store, 0..10, 4, 1)?;
    assert_eq!((entries.len(), entries[0].index, more), (1, 4, true));
    // Only the indexes asked for, from `from` on.
    let (entries, more) = entries_page(&store, [1, 5, 7], 2, usize::MAX)?;
    let indexes: Vec<u64> = entries.iter().map(|e| e.index).collect();
    assert_eq!((indexes, more), (vec![5, 7], false));
    Ok(())
}

#[tokio::test]
async fn evidence_pages_carry_each_entry_once_with_its_proof()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = refusals(dir.path(), 12).await?;
    // Every other entry is the ceremony's, in a tree of 10.
    let indexes: Vec<u64> = (0..10).step_by(2).collect();
    let one = store.entry(0)?.len() + 32;
    for prove in [false, true] {
        let each = if prove { one + 32 + 40 * 4 } else { one };
        let (mut from, mut got, mut pages) = (0, Vec::new(), 0);
        loop {
            let page = evidence_page(&store, &indexes, from, 10, prove, 2 * each + 8).await?;
            pages += 1;
            assert!(!page.entries.is_empty() && page.entries.len() <= 2);
            if prove {
                let proven: Vec<u64> = page.proofs.iter().map(|p| p.index).collect();
                let listed: Vec<u64> = page.entries.iter().map(|e| e.index).collect();
                assert_eq!(proven, listed);
                for p in &page.proofs {
                    let hashes = store.prove_inclusion(p.index, 10)?.hashes;
                    let want: Vec<Vec<u8>> = hashes.iter().map(|h| h.0.to_vec()).collect();
                    assert_eq!(p.hashes, want, "entry {}", p.index);
                }
            } else {
                assert!(page.proofs.is_empty());
            }
            got.extend(page.entries.iter().map(|e| e.index));
            match page.entries.last() {
                Some(last) if page.more => from = last.index + 1,
                _ => break,
            }
        }
        assert_eq!((got, pages), (indexes.clone(), 3), "prove: {prove}");
    }
    Ok(())
}
