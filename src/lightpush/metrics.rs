//! Lightpush metrics: nwaku's names (`waku_lightpush_messages{type}`,
//! `waku_lightpush_errors{type}`, `waku_service_requests{service}`,
//! `waku_service_requests_rejected{service}`) plus the paid service's, in a registry of their own
//! that the relay serves on its `/metrics`.

use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

/// Lightpush metrics: nwaku's names (`waku_lightpush_messages{type}`,
/// `waku_lightpush_errors{type}`, `waku_service_requests{service}`,
/// `waku_service_requests_rejected{service}`) plus the paid service's.
pub struct LightpushMetrics {
    registry: Arc<Registry>,
    pub(crate) messages: Family<Labels, Gauge>,
    errors: Family<Labels, Gauge>,
    pub(crate) service_requests: Family<Labels, Counter>,
    pub(crate) service_rejected: Family<Labels, Counter>,
    /// rlnkit_lightpush_served_total: paid requests published.
    pub served: Counter,
    pub(crate) refused: Family<Labels, Counter>,
    /// rlnkit_lightpush_earned_total: token units earned (as served; claimed later).
    pub earned: Counter<f64, std::sync::atomic::AtomicU64>,
    /// rlnkit_lightpush_eligibility_check_seconds: the voucher check alone.
    pub check_seconds: Histogram,
}

impl std::fmt::Debug for LightpushMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LightpushMetrics").field("served", &self.served.get()).finish()
    }
}

impl Default for LightpushMetrics {
    fn default() -> Self {
        Self::new()
    }
}

pub(crate) fn label(k: &str, v: &str) -> Labels {
    vec![(k.to_string(), v.to_string())]
}

impl LightpushMetrics {
    /// Fresh metrics in their own registry.
    pub fn new() -> Self {
        let mut r = Registry::default();
        let m = LightpushMetrics {
            registry: Arc::new(Registry::default()),
            messages: Family::default(),
            errors: Family::default(),
            service_requests: Family::default(),
            service_rejected: Family::default(),
            served: Counter::default(),
            refused: Family::default(),
            earned: Counter::default(),
            check_seconds: Histogram::new(exponential_buckets(0.000_002, 2.0, 14)),
        };
        r.register(
            "waku_lightpush_messages",
            "number of lightpush messages received",
            m.messages.clone(),
        );
        r.register(
            "waku_lightpush_errors",
            "number of lightpush protocol errors",
            m.errors.clone(),
        );
        r.register(
            "waku_service_requests",
            "number of non-relay service requests received",
            m.service_requests.clone(),
        );
        r.register(
            "waku_service_requests_rejected",
            "number of non-relay service requests rejected",
            m.service_rejected.clone(),
        );
        r.register(
            "rlnkit_lightpush_served",
            "paid lightpush requests published",
            m.served.clone(),
        );
        r.register(
            "rlnkit_lightpush_refused",
            "lightpush requests refused for payment, by reason",
            m.refused.clone(),
        );
        r.register(
            "rlnkit_lightpush_earned",
            "token units earned by served requests",
            m.earned.clone(),
        );
        r.register(
            "rlnkit_lightpush_eligibility_check_seconds",
            "time of one voucher check",
            m.check_seconds.clone(),
        );
        LightpushMetrics { registry: Arc::new(r), ..m }
    }

    pub(crate) fn error(&self, kind: &str) {
        self.errors.get_or_create(&label("type", kind)).inc();
    }

    /// Refusals counted for a reason label (see [`Refusal::label`](crate::credentials::Refusal::label)).
    pub fn refused_count(&self, reason: &str) -> u64 {
        self.refused.get_or_create(&label("reason", reason)).get()
    }

    /// Errors counted for an nwaku error type.
    pub fn error_count(&self, kind: &str) -> i64 {
        self.errors.get_or_create(&label("type", kind)).get()
    }

    /// The registry (to serve with the relay's: [`crate::relay::RelayMetrics::add_registry`]).
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// Prometheus text.
    pub fn encode(&self) -> String {
        let mut s = String::new();
        encode(&mut s, &self.registry).expect("writing to a String");
        s
    }
}
