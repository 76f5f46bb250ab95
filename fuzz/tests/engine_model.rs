//! The engine against its small model of decisions, as a property test on
//! stable: the engine target (`quorate_fuzz::targets::engine`) over 1,000
//! random event orders and clock steps from a fixed seed. Each run checks
//! the model after every event, that refused events change nothing, that
//! signatures verify and that replay equals the live run; and the runs
//! between them reach signatures and the other endings.

use std::collections::BTreeMap;

use quorate_fuzz::targets::engine::run;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

#[test]
fn the_engine_agrees_with_its_model_over_random_event_orders() {
    let mut rng = ChaCha20Rng::seed_from_u64(20_261_206);
    let mut endings: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..1_000 {
        let len = 2 + 2 * (rng.next_u32() as usize % 60);
        let mut input = vec![0u8; len];
        rng.fill_bytes(&mut input);
        // Mostly approvals and shares, so that ceremonies get somewhere;
        // now and then hours pass instead of seconds.
        const OPS: [u8; 32] = [
            0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 1, 2, 4, 5, 6,
            7, 3, 3,
        ];
        for op in input.iter_mut().skip(2).step_by(2) {
            let hours = if *op % 64 == 0 { 0x80 } else { 0 };
            *op = OPS[usize::from(*op >> 3) % OPS.len()] | hours;
        }
        if let Some(state) = run(&input) {
            *endings.entry(format!("{state:?}")).or_default() += 1;
        }
    }
    for ending in ["Signed", "Cancelled", "Expired"] {
        assert!(
            endings.get(ending).is_some_and(|n| *n > 0),
            "no run ended {ending}: {endings:?}"
        );
    }
    println!("endings: {endings:?}");
}
