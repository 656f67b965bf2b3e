//! The capacity model of docs/CAPACITY.md: from a run's measured numbers (amplification,
//! per-hop latency, CPU per validation, memory per node), what a network of many users needs
//! (shards at a bandwidth cap, bandwidth and CPU per relay, nullifier log size, latency).

use serde::{Deserialize, Serialize};

/// What the model is fed: the simulation's measurements and the network's parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelInputs {
    /// Users of the network (one membership each).
    pub users: f64,
    /// Bytes of one encoded message (payload + proof + envelope).
    pub message_bytes: f64,
    /// Bytes received per byte of new message (the simulation's A, net of idle traffic).
    pub amplification: f64,
    /// Idle traffic per relay, bytes per second (heartbeats, pings).
    pub idle_bytes_per_second: f64,
    /// CPU per validated message on a relay, microseconds.
    pub cpu_us_per_message: f64,
    /// Latency per hop, milliseconds (loopback, measured).
    pub ms_per_hop: f64,
    /// Emulated link latency added per hop, milliseconds.
    pub link_ms: f64,
    /// Relays per shard.
    pub relays_per_shard: f64,
    /// Mesh degree D.
    pub mesh_degree: f64,
    /// Bandwidth cap per shard, bits per second (the Waku network's 10 Mbps).
    pub shard_cap_bps: f64,
    /// Bytes one nullifier log entry takes (key + share + map overhead).
    pub log_entry_bytes: f64,
    /// Epoch length and messages per membership per epoch (Waku: 600 s, 100).
    pub epoch_seconds: f64,
    /// Messages one membership may publish per epoch.
    pub limit_per_epoch: f64,
}

/// The model at one load: messages per user per day.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ModelRow {
    /// The load: messages each user publishes per day.
    pub messages_per_user_per_day: f64,
    /// Network-wide messages per second.
    pub messages_per_second: f64,
    /// Shards needed so that a relay's bandwidth in one shard stays under the cap.
    pub shards: f64,
    /// One relay in one shard: messages per second it validates and bits per second it receives.
    pub per_shard_messages_per_second: f64,
    /// Bits per second one relay receives in its shard.
    pub per_relay_bps: f64,
    /// Share of one core spent validating.
    pub per_relay_cpu_cores: f64,
    /// Nullifier log of one relay in one shard (current + previous epoch).
    pub log_bytes: f64,
    /// Publish to delivery at the farthest relay of a shard (hops = ceil(log_D(relays))).
    pub latency_ms: f64,
    /// Whether the rate limit allows this load at all (100 per epoch per membership).
    pub within_rate_limit: bool,
}

/// Bytes one encoded message adds to its payload: the RLN proof and the Waku envelope.
pub const ENVELOPE_BYTES: f64 = 360.0;

/// Why a simulation report could not feed the model.
#[derive(Debug, thiserror::Error)]
pub enum ModelInputError {
    /// A number the model needs is missing from the report.
    #[error("the simulation report has no number at {0}")]
    Missing(&'static str),
}

impl ModelInputs {
    /// The model fed by an `rlnkit sim` report (the bare report or the CLI's `--json` envelope)
    /// for `users` users of `payload_bytes`-byte messages, with the Waku Network's parameters
    /// (1,000 relays per shard, mesh D 6, 10 Mbps per shard, 600 s epochs of 100 messages, 100 ms
    /// links, 169 B per nullifier log entry: BENCHMARKS.md).
    pub fn from_sim_report(
        report: &serde_json::Value,
        users: f64,
        payload_bytes: f64,
    ) -> Result<Self, ModelInputError> {
        let r = report.get("data").unwrap_or(report);
        let f = |path: &'static str| -> Result<f64, ModelInputError> {
            path.split('.')
                .try_fold(r, |v, k| v.get(k))
                .and_then(serde_json::Value::as_f64)
                .ok_or(ModelInputError::Missing(path))
        };
        let hops = f("setup.mean_hops")?.max(1.0);
        Ok(ModelInputs {
            users,
            message_bytes: payload_bytes + ENVELOPE_BYTES,
            amplification: f("traffic.amplification_net")?,
            idle_bytes_per_second: f("traffic.idle_per_node")?,
            cpu_us_per_message: f("cpu.us_per_validation")?,
            ms_per_hop: f("latency.p50_ms")? / hops,
            link_ms: 100.0,
            relays_per_shard: 1000.0,
            mesh_degree: 6.0,
            shard_cap_bps: 10e6,
            log_entry_bytes: 169.0,
            epoch_seconds: 600.0,
            limit_per_epoch: 100.0,
        })
    }

    /// Hops from a publisher to the farthest relay of a shard: ⌈log_D(relays)⌉.
    pub fn hops(&self) -> f64 {
        (self.relays_per_shard.ln() / self.mesh_degree.max(2.0).ln()).ceil().max(1.0)
    }

    /// The model at `m` messages per user per day.
    pub fn row(&self, m: f64) -> ModelRow {
        let rate = self.users * m / 86_400.0;
        let bits_per_message = self.message_bytes * self.amplification * 8.0;
        let shards = (rate * bits_per_message / self.shard_cap_bps).ceil().max(1.0);
        let per_shard = rate / shards;
        ModelRow {
            messages_per_user_per_day: m,
            messages_per_second: rate,
            shards,
            per_shard_messages_per_second: per_shard,
            per_relay_bps: per_shard * bits_per_message + self.idle_bytes_per_second * 8.0,
            per_relay_cpu_cores: per_shard * self.cpu_us_per_message / 1e6,
            log_bytes: per_shard * 2.0 * self.epoch_seconds * self.log_entry_bytes,
            latency_ms: self.hops() * (self.ms_per_hop + self.link_ms),
            within_rate_limit: m <= self.limit_per_epoch * 86_400.0 / self.epoch_seconds,
        }
    }

    /// The bandwidth one shard would carry if every user sent at the full rate limit: what the
    /// rate limit alone allows, in bits per second per relay.
    pub fn rate_limit_bound_bps(&self, users_in_shard: f64, message_bytes: f64) -> f64 {
        users_in_shard * self.limit_per_epoch / self.epoch_seconds
            * message_bytes
            * self.amplification
            * 8.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> ModelInputs {
        ModelInputs {
            users: 1e6,
            message_bytes: 1500.0,
            amplification: 6.0,
            idle_bytes_per_second: 100.0,
            cpu_us_per_message: 500.0,
            ms_per_hop: 5.0,
            link_ms: 100.0,
            relays_per_shard: 1000.0,
            mesh_degree: 6.0,
            shard_cap_bps: 10e6,
            log_entry_bytes: 200.0,
            epoch_seconds: 600.0,
            limit_per_epoch: 100.0,
        }
    }

    #[test]
    fn shards_grow_with_the_load_and_keep_each_under_the_cap() {
        let i = inputs();
        let mut last = 0.0;
        for m in [1.0, 10.0, 100.0, 1000.0] {
            let r = i.row(m);
            assert!(r.shards >= last);
            last = r.shards;
            assert!(r.per_relay_bps - i.idle_bytes_per_second * 8.0 <= i.shard_cap_bps * 1.0001);
        }
        // 1M users × 100/day at 1.5 kB × 6 = 83 Mbps: 9 shards.
        assert_eq!(i.row(100.0).shards, 9.0);
        assert_eq!(i.hops(), 4.0);
        assert!(!i.row(20_000.0).within_rate_limit);
    }
}
