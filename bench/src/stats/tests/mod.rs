use std::time::Duration;

use super::*;

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

#[test]
fn percentiles_use_the_nearest_rank() {
    let mut s = Samples::default();
    for v in [5, 1, 4, 2, 3, 6, 7, 8, 9, 10] {
        s.push(ms(v));
    }
    assert_eq!(s.percentile(50.0), ms(5));
    assert_eq!(s.percentile(99.0), ms(10));
    assert_eq!(s.percentile(0.0), ms(1));
    assert_eq!(s.mean(), Duration::from_micros(5500));
    assert_eq!(Samples::default().percentile(50.0), Duration::ZERO);
}

#[test]
fn power_law_fit_recovers_the_exponent() {
    let cube: Vec<(f64, f64)> = [2.0, 3.0, 7.0, 67.0]
        .iter()
        .map(|&t: &f64| (t, 0.5 * t.powi(3)))
        .collect();
    let b = power_law_exponent(&cube).unwrap();
    assert!((b - 3.0).abs() < 1e-9, "{b}");
    assert_eq!(power_law_exponent(&[(2.0, 1.0)]), None);
    assert_eq!(power_law_exponent(&[(2.0, 1.0), (2.0, 3.0)]), None);
}
