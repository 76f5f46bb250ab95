use super::*;

fn id(n: usize) -> CeremonyId {
    CeremonyId::new(format!("{n:016x}")).unwrap()
}

#[test]
fn recent_keeps_the_latest_and_drops_the_oldest() {
    let mut recent = Recent::default();
    for n in 0..CAPACITY + 10 {
        recent.keep(id(n), n);
    }
    assert_eq!(recent.len(), CAPACITY);
    assert_eq!(recent.get(&id(9)), None, "the oldest left");
    assert_eq!(recent.get(&id(10)), Some(10));
    assert_eq!(recent.get(&id(CAPACITY + 9)), Some(CAPACITY + 9));
    // A newer copy replaces the one kept, in its place.
    recent.keep(id(10), 99);
    assert_eq!(recent.get(&id(10)), Some(99));
    assert_eq!(recent.len(), CAPACITY);
}

#[test]
fn deadlines_come_due_in_order_once_each() {
    let mut d = Deadlines::default();
    d.set(&id(1), Some(Timestamp(30)));
    d.set(&id(2), Some(Timestamp(10)));
    d.set(&id(3), Some(Timestamp(20)));
    // Moved: only the new deadline counts.
    d.set(&id(1), Some(Timestamp(15)));
    d.set(&id(3), None);
    assert_eq!(d.len(), 2);
    assert_eq!(d.take_due(Timestamp(5)), (vec![], Some(Timestamp(10))));
    assert_eq!(
        d.take_due(Timestamp(20)),
        (vec![id(2), id(1)], None),
        "earliest first; the moved and removed ones not again"
    );
    assert_eq!(d.len(), 0);
}
