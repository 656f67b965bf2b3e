//! Two rate-limited relays in one process: `cargo run --release --example relay_pair`.
//!
//! Both are assembled by [`RelayBuilder`] (roots, topics, loopback addresses, the second
//! bootstrapping from the first). A member publishes a message with its RLN proof at the first
//! relay; the second validates it and delivers it.

use std::sync::Arc;
use std::time::Duration;

use rlnkit::relay::{shard_topic, unix_now_ns, Publisher};
use rlnkit::RelayBuilder;
use rlnkit::{CircuitKeys, Identity, MerkleTree, Prover, StaticRoots, UserMessageLimit, Verifier};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keys = CircuitKeys::embedded()?;
    let limit = UserMessageLimit::new(3)?;
    let alice = Identity::from_seed(b"relay pair: alice");
    let mut tree = MerkleTree::default();
    let index = tree.push(alice.rate_commitment(limit))?;
    let roots = Arc::new(StaticRoots::new([tree.root()]));
    let verifier = Verifier::new(keys.verifying_key());
    let topic = shard_topic(1, 0);

    let relay = |peers: Vec<_>| {
        RelayBuilder::new(verifier.clone(), roots.clone())
            .topics([topic.clone()])
            .listen(["/ip4/127.0.0.1/tcp/0".parse().expect("a multiaddr")])
            .bootstrap_peers(peers)
            .heartbeat(Duration::from_millis(200))
            .start()
    };
    let first = relay(vec![]).await?;
    let second = relay(vec![first.node().dial_addr().await?]).await?;
    let mut delivered = second.node().delivered();
    first.node().wait_for_mesh(&topic, 1, Duration::from_secs(10)).await?;

    let mut publisher = Publisher::new(Prover::new(keys), alice, limit, tree.proof(index)?);
    let message = tokio::task::spawn_blocking(move || {
        publisher.build(b"hello, relay", "/rlnkit/1/example/proto", unix_now_ns())
    })
    .await??;
    first.node().publish(&topic, &message).await?;

    let got = tokio::time::timeout(Duration::from_secs(10), delivered.recv()).await??;
    println!(
        "relay 2 delivered {:?} from {}",
        String::from_utf8_lossy(&got.message.payload),
        got.from
    );
    second.shutdown().await;
    first.shutdown().await;
    Ok(())
}
