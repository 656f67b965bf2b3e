//! A small relay network on loopback in one process (tests and the demo): an edge node where
//! publishers connect, linked to relay 1 only, and relays 1..=n connected to each other. Spam
//! published at the edge meets relay 1 first.

use std::sync::Arc;
use std::time::Duration;

use crate::relay::node::{NodeConfig, NodeError, NodeHandle, RelayNode};
use crate::relay::scoring::ScoringConfig;
use crate::relay::validator::{BatchConfig, Validator};

/// The nodes of a local network: `nodes[0]` is the edge, `nodes[1..]` the relays.
pub struct LocalNet {
    pub nodes: Vec<NodeHandle>,
    pub topic: String,
}

impl LocalNet {
    /// Starts the edge and `relays` relays on 127.0.0.1 (OS-assigned ports), each with the
    /// validator `make_validator(i)`, all subscribed to `topic`, and waits until every gossipsub
    /// mesh is complete (or `timeout` passes).
    pub async fn start(
        relays: usize,
        topic: &str,
        mut make_validator: impl FnMut(usize) -> Arc<Validator>,
        timeout: Duration,
    ) -> Result<Self, NodeError> {
        let mut nodes: Vec<NodeHandle> = Vec::new();
        for i in 0..=relays {
            let config = NodeConfig {
                listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("a multiaddr")],
                topics: vec![topic.to_string()],
                heartbeat: Duration::from_millis(200),
                batch: BatchConfig::default(),
                // Every node is on 127.0.0.1: no IP-colocation penalty.
                scoring: ScoringConfig::loopback(),
                ..NodeConfig::default()
            };
            let node = RelayNode::spawn(config, make_validator(i)).await?;
            // The edge dials relay 1 (when it exists); relay i dials relays 1..i.
            let targets: Vec<usize> = if i == 1 {
                vec![0]
            } else if i > 1 {
                (1..i).collect()
            } else {
                vec![]
            };
            for t in targets {
                node.dial(nodes[t].dial_addr().await?).await?;
            }
            nodes.push(node);
        }
        let net = LocalNet { nodes, topic: topic.to_string() };
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

    pub fn edge(&self) -> &NodeHandle {
        &self.nodes[0]
    }

    pub fn relays(&self) -> &[NodeHandle] {
        &self.nodes[1..]
    }

    pub async fn shutdown(&self) {
        for n in &self.nodes {
            n.shutdown().await;
        }
    }
}
