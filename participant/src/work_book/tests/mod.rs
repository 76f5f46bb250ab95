use std::collections::HashSet;

use super::*;

fn id(n: usize) -> CeremonyId {
    CeremonyId::new(format!("c{n:02}")).unwrap()
}

fn work(n: usize, version: u64) -> proto::Work {
    proto::Work {
        ceremony: Some(proto::CeremonyStatus {
            id: id(n).to_string(),
            version,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn ids(book: &WorkBook) -> Vec<String> {
    book.ids().into_iter().map(|i| i.to_string()).collect()
}

fn names(ns: impl IntoIterator<Item = usize>) -> Vec<String> {
    ns.into_iter().map(|n| id(n).to_string()).collect()
}

#[test]
fn open_ceremonies_stay_and_only_the_latest_finished_ones_do() {
    let mut book = WorkBook::with_capacity(3);
    for n in 0..10 {
        book.insert(id(n), work(n, 1), false, |_| false);
    }
    assert_eq!(
        ids(&book),
        names(0..10),
        "open ceremonies are never dropped"
    );
    for n in 0..6 {
        book.insert(id(n), work(n, 2), true, |_| false);
    }
    assert_eq!(ids(&book), names(3..10));
    // The same finished ceremony seen again counts once.
    book.insert(id(5), work(5, 3), true, |_| false);
    book.insert(id(5), work(5, 4), true, |_| false);
    assert_eq!(ids(&book), names(3..10));
    assert_eq!(
        book.get(&id(5)).unwrap().ceremony.as_ref().unwrap().version,
        4
    );
    book.insert(id(6), work(6, 2), true, |_| false);
    assert_eq!(ids(&book), names(4..10));
    assert!(book.get(&id(3)).is_none());
}

#[test]
fn finished_ceremonies_still_needed_stay_until_they_are_not() {
    let mut book = WorkBook::with_capacity(2);
    let needed: HashSet<CeremonyId> = [id(0), id(2)].into();
    for n in 0..6 {
        book.insert(id(n), work(n, 1), true, |c| needed.contains(c));
    }
    // c00 and c02 are needed (say, a record check to come): they stay
    // beside the two latest, c04 and c05.
    assert_eq!(ids(&book), names([0, 2, 4, 5]));
    // Once no longer needed they go at the next insert.
    book.insert(id(6), work(6, 1), true, |_| false);
    assert_eq!(ids(&book), names([5, 6]));
}
