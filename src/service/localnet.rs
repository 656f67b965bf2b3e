//! A small relay network on loopback in one process (tests and `examples/`): an edge
//! node where publishers connect, linked to relay 1 only, and relays 1..=n connected to each
//! other. Spam published at the edge meets relay 1 first.

use std::time::Duration;

use super::builder::{Relay, RelayBuilder, RelayError};
use crate::relay::node::{NodeError, NodeHandle};
use crate::relay::scoring::ScoringConfig;

/// The nodes of a local network: `nodes[0]` is the edge, `nodes[1..]` the relays.
#[derive(Debug)]
pub struct LocalNet {
    /// Every node's handle: the edge first.
    pub nodes: Vec<NodeHandle>,
    /// The pubsub topic they all serve.
    pub topic: String,
    running: Vec<Relay>,
}

impl LocalNet {
    /// Starts the edge and `relays` relays on 127.0.0.1 (OS-assigned ports), node `i` assembled
    /// by `make_relay(i)` (listen address, topic, a 200 ms heartbeat and loopback scoring are set
    /// here), and waits
    /// until every gossipsub mesh is complete (or `timeout` passes).
    pub async fn start(
        relays: usize,
        topic: &str,
        mut make_relay: impl FnMut(usize) -> RelayBuilder,
        timeout: Duration,
    ) -> Result<Self, RelayError> {
        let mut running: Vec<Relay> = Vec::new();
        for i in 0..=relays {
            let relay = make_relay(i)
                .listen(["/ip4/127.0.0.1/tcp/0".parse().expect("a multiaddr")])
                .topics([topic.to_string()])
                .heartbeat(Duration::from_millis(200))
                // Every node is on 127.0.0.1: no IP-colocation penalty.
                .scoring(ScoringConfig::loopback())
                .start()
                .await?;
            // The edge dials relay 1 (when it exists); relay i dials relays 1..i.
            let targets: Vec<usize> = match i {
                0 => vec![],
                1 => vec![0],
                _ => (1..i).collect(),
            };
            for t in targets {
                relay.node().dial(running[t].node().dial_addr().await?).await?;
            }
            running.push(relay);
        }
        let nodes = running.iter().map(|r| r.node().clone()).collect();
        let net = LocalNet { nodes, topic: topic.to_string(), running };
        net.wait_for_mesh(timeout).await?;
        Ok(net)
    }

    /// Waits until each node's mesh holds all its neighbours.
    pub async fn wait_for_mesh(&self, timeout: Duration) -> Result<bool, NodeError> {
        let n = self.nodes.len();
        let mut all = true;
        for (i, node) in self.nodes.iter().enumerate() {
            let want = match i {
                0 => 1,
                1 => n - 1,
                _ => n - 2,
            };
            all &= node.wait_for_mesh(&self.topic, want.min(n - 1), timeout).await?;
        }
        Ok(all)
    }

    /// The edge node (publishers connect here).
    pub fn edge(&self) -> &NodeHandle {
        &self.nodes[0]
    }

    /// The relays behind the edge.
    pub fn relays(&self) -> &[NodeHandle] {
        &self.nodes[1..]
    }

    /// Node `i` as a running relay (0: the edge): its validator, metrics, slash outcomes.
    pub fn relay(&self, i: usize) -> &Relay {
        &self.running[i]
    }

    /// Like [`Self::relay`], mutable (to take its slash outcomes).
    pub fn relay_mut(&mut self, i: usize) -> &mut Relay {
        &mut self.running[i]
    }

    /// Stops every node.
    pub async fn shutdown(self) {
        for r in self.running {
            r.shutdown().await;
        }
    }
}
