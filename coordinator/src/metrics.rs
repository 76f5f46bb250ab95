//! Prometheus metrics, served as text on `/metrics`.

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
    key_group: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct KeyGroupLabels {
    pub key_group: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct TimeoutLabels {
    pub deadline: String,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    ceremonies: Family<StateLabels, Gauge>,
    pub(crate) approval_latency: Histogram,
    pub(crate) signing_latency: Histogram,
    pub(crate) timeouts: Family<TimeoutLabels, Counter>,
    pub(crate) invalid_shares: Counter,
    pub(crate) break_glass: Family<KeyGroupLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("quorate");
        let ceremonies = Family::<StateLabels, Gauge>::default();
        let approval_latency = Histogram::new(exponential_buckets(0.01, 4.0, 12));
        let signing_latency = Histogram::new(exponential_buckets(0.001, 4.0, 10));
        let timeouts = Family::<TimeoutLabels, Counter>::default();
        let invalid_shares = Counter::default();
        let break_glass = Family::<KeyGroupLabels, Counter>::default();
        registry.register(
            "ceremonies",
            "Ceremonies by state and key group",
            ceremonies.clone(),
        );
        registry.register(
            "approval_latency_seconds",
            "From the request to the first signing package",
            approval_latency.clone(),
        );
        registry.register(
            "signing_round_latency_seconds",
            "From the signing package to the signature",
            signing_latency.clone(),
        );
        registry.register(
            "timeouts",
            "Deadlines that passed, by deadline",
            timeouts.clone(),
        );
        registry.register(
            "invalid_shares",
            "Signature shares that failed verification",
            invalid_shares.clone(),
        );
        registry.register(
            "break_glass",
            "Break-glass ceremonies declared",
            break_glass.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            ceremonies,
            approval_latency,
            signing_latency,
            timeouts,
            invalid_shares,
            break_glass,
        }
    }
}

impl Metrics {
    /// The text exposition, with the ceremony gauges set to `counts`:
    /// (state, key group, how many ceremonies), as the hub keeps them.
    pub fn render(&self, counts: impl IntoIterator<Item = (String, String, u64)>) -> String {
        self.ceremonies.clear();
        for (state, key_group, n) in counts {
            self.ceremonies
                .get_or_create(&StateLabels { state, key_group })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }
}
