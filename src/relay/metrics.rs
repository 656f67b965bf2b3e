//! Prometheus metrics with nwaku's names (SPEC §5), and a tiny HTTP responder for `/metrics` and
//! `/health` (plain tokio, no framework).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text::{encode, encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

type Labels = Vec<(String, String)>;

/// The relay's metrics. Counters are cheap to clone (shared atomics).
pub struct RelayMetrics {
    registry: Registry,
    /// waku_rln_messages_total: messages that went through RLN validation.
    pub messages: Counter,
    /// waku_rln_spam_messages_total: double signals (a verified second share).
    pub spam: Counter,
    /// waku_rln_invalid_messages_total{type}.
    invalid: Family<Labels, Counter>,
    /// waku_rln_valid_messages_total{shard}.
    valid: Family<Labels, Counter>,
    /// waku_rln_proof_verification_total: proofs that went through the pairing check.
    pub verifications: Counter,
    /// waku_rln_proof_verification_duration_seconds (per proof; a batch's time is divided).
    pub verification_seconds: Histogram,
    /// waku_rln_proof_generation_duration_seconds.
    pub generation_seconds: Histogram,
    /// waku_rln_number_registered_memberships.
    pub memberships: Gauge,
    /// rlnkit_relay_ignored_messages_total{type}: duplicates and other ignored messages.
    ignored: Family<Labels, Counter>,
    /// rlnkit_relay_verification_batch_size.
    pub batch_size: Histogram,
    /// rlnkit_relay_secrets_recovered_total.
    pub secrets_recovered: Counter,
    /// rlnkit_relay_peers.
    pub peers: Gauge,
    /// rlnkit_relay_validation_dropped_total: gossip messages dropped unjudged because the
    /// validation queue was full (also counted as ignored, type "overloaded").
    pub validation_dropped: Counter,
    /// rlnkit_relay_service_requests_dropped_total: requests to a hosted service (lightpush)
    /// answered "busy" at once because its queue was full.
    pub service_requests_dropped: Counter,
    /// Other components' registries served on the same `/metrics` (lightpush).
    extra: std::sync::Mutex<Vec<Arc<Registry>>>,
}

impl std::fmt::Debug for RelayMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayMetrics").field("messages", &self.messages.get()).finish()
    }
}

impl Default for RelayMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl RelayMetrics {
    /// A fresh registry holding every metric at zero.
    pub fn new() -> Self {
        let mut r = Registry::default();
        let m = RelayMetrics {
            messages: Counter::default(),
            spam: Counter::default(),
            invalid: Family::default(),
            valid: Family::default(),
            verifications: Counter::default(),
            verification_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 14)),
            generation_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 10)),
            memberships: Gauge::default(),
            ignored: Family::default(),
            batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            secrets_recovered: Counter::default(),
            peers: Gauge::default(),
            validation_dropped: Counter::default(),
            service_requests_dropped: Counter::default(),
            extra: std::sync::Mutex::new(Vec::new()),
            registry: Registry::default(),
        };
        // prometheus-client appends `_total` to counters.
        r.register(
            "waku_rln_messages",
            "Messages that went through RLN validation",
            m.messages.clone(),
        );
        r.register(
            "waku_rln_spam_messages",
            "Double signals: a second verified share for one nullifier",
            m.spam.clone(),
        );
        r.register("waku_rln_invalid_messages", "Rejected messages by reason", m.invalid.clone());
        r.register("waku_rln_valid_messages", "Accepted messages by shard", m.valid.clone());
        r.register(
            "waku_rln_proof_verification",
            "Proofs checked with the pairing",
            m.verifications.clone(),
        );
        r.register(
            "waku_rln_proof_verification_duration_seconds",
            "Time to verify one proof",
            m.verification_seconds.clone(),
        );
        r.register(
            "waku_rln_proof_generation_duration_seconds",
            "Time to generate one proof",
            m.generation_seconds.clone(),
        );
        r.register(
            "waku_rln_number_registered_memberships",
            "Memberships in the tree",
            m.memberships.clone(),
        );
        r.register(
            "rlnkit_relay_ignored_messages",
            "Ignored messages (resends) by reason",
            m.ignored.clone(),
        );
        r.register(
            "rlnkit_relay_verification_batch_size",
            "Proofs per verification batch",
            m.batch_size.clone(),
        );
        r.register(
            "rlnkit_relay_secrets_recovered",
            "Spammer secrets recovered from double signals",
            m.secrets_recovered.clone(),
        );
        r.register("rlnkit_relay_peers", "Connected peers", m.peers.clone());
        r.register(
            "rlnkit_relay_validation_dropped",
            "Gossip messages dropped unjudged: the validation queue was full",
            m.validation_dropped.clone(),
        );
        r.register(
            "rlnkit_relay_service_requests_dropped",
            "Service (lightpush) requests answered busy because the queue was full",
            m.service_requests_dropped.clone(),
        );
        RelayMetrics { registry: r, ..m }
    }

    /// Counts a rejected message of this `type`.
    pub fn invalid(&self, kind: &str) {
        self.invalid.get_or_create(&vec![("type".to_string(), kind.to_string())]).inc();
    }

    /// Rejected messages of this `type` so far.
    pub fn invalid_count(&self, kind: &str) -> u64 {
        self.invalid.get_or_create(&vec![("type".to_string(), kind.to_string())]).get()
    }

    /// Counts an accepted message on this shard.
    pub fn valid(&self, shard: &str) {
        self.valid.get_or_create(&vec![("shard".to_string(), shard.to_string())]).inc();
    }

    /// Accepted messages on this shard so far.
    pub fn valid_count(&self, shard: &str) -> u64 {
        self.valid.get_or_create(&vec![("shard".to_string(), shard.to_string())]).get()
    }

    /// Counts an ignored message of this `type`.
    pub fn ignored(&self, kind: &str) {
        self.ignored.get_or_create(&vec![("type".to_string(), kind.to_string())]).inc();
    }

    /// Ignored messages of this `type` so far (`unknown_root`: stale roots).
    pub fn ignored_count(&self, kind: &str) -> u64 {
        self.ignored.get_or_create(&vec![("type".to_string(), kind.to_string())]).get()
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut s = String::new();
        let extra = self.extra.lock().unwrap_or_else(|e| e.into_inner());
        if extra.is_empty() {
            encode(&mut s, &self.registry).expect("writing to a String");
            return s;
        }
        encode_registry(&mut s, &self.registry).expect("writing to a String");
        for r in extra.iter() {
            encode_registry(&mut s, r).expect("writing to a String");
        }
        encode_eof(&mut s).expect("writing to a String");
        s
    }

    /// Serves another component's registry (e.g. lightpush's) with these metrics.
    pub fn add_registry(&self, r: Arc<Registry>) {
        self.extra.lock().unwrap_or_else(|e| e.into_inner()).push(r);
    }
}

/// Serves `GET /metrics` (Prometheus text) and `GET /health` (JSON from `health`) on `addr`
/// until the task is aborted. Returns the bound address (port 0 picks one).
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<RelayMetrics>,
    health: Arc<dyn Fn() -> serde_json::Value + Send + Sync>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { continue };
            let (metrics, health) = (metrics.clone(), health.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 2048];
                let n =
                    match tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf)).await {
                        Ok(Ok(n)) => n,
                        _ => return,
                    };
                let req = String::from_utf8_lossy(&buf[..n]);
                let path =
                    req.lines().next().and_then(|l| l.split_whitespace().nth(1)).unwrap_or("");
                let (status, ctype, body) = match path {
                    "/metrics" => {
                        ("200 OK", "text/plain; version=0.0.4; charset=utf-8", metrics.encode())
                    }
                    "/health" => ("200 OK", "application/json", health().to_string()),
                    _ => (
                        "404 Not Found",
                        "text/plain",
                        "not found: try /metrics or /health\n".to_string(),
                    ),
                };
                let resp = format!("HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    Ok((bound, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_nwaku() {
        let m = RelayMetrics::new();
        m.messages.inc();
        m.invalid("invalid_proof");
        m.valid("3");
        let text = m.encode();
        for name in [
            "waku_rln_messages_total 1",
            "waku_rln_spam_messages_total",
            "waku_rln_invalid_messages_total{type=\"invalid_proof\"} 1",
            "waku_rln_valid_messages_total{shard=\"3\"} 1",
            "waku_rln_proof_verification_total",
            "waku_rln_proof_verification_duration_seconds_bucket",
            "waku_rln_proof_generation_duration_seconds_count",
            "waku_rln_number_registered_memberships",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
    }

    #[tokio::test]
    async fn http_endpoints() {
        let m = Arc::new(RelayMetrics::new());
        let (addr, task) = serve(
            "127.0.0.1:0".parse().unwrap(),
            m,
            Arc::new(|| serde_json::json!({"status": "ok"})),
        )
        .await
        .unwrap();
        for (path, want) in [
            ("/metrics", "waku_rln_messages_total"),
            ("/health", "\"status\":\"ok\""),
            ("/x", "404"),
        ] {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                .await
                .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            assert!(out.contains(want), "{path}: {out}");
        }
        task.abort();
    }
}
