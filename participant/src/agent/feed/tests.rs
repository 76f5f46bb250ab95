use super::{MAX_WAITING, Queue};
use quorate_wire as proto;

fn work(version: u64) -> proto::Work {
    proto::Work {
        ceremony: Some(proto::CeremonyStatus {
            id: "c0ffee".into(),
            version,
            ..Default::default()
        }),
        commitments_wanted: false,
        signing_package: Vec::new(),
    }
}

#[test]
fn a_queue_keeps_the_newest_items_in_order_and_no_more() {
    let queue = Queue::default();
    for v in 0..(MAX_WAITING as u64 + 10) {
        queue.push(work(v));
    }
    let versions: Vec<u64> = std::iter::from_fn(|| queue.pop())
        .map(|w| w.ceremony.map_or(0, |c| c.version))
        .collect();
    let expected: Vec<u64> = (10..MAX_WAITING as u64 + 10).collect();
    assert_eq!(versions, expected);
}
