//! `rlnkit relay demo`: three relays on loopback behind an edge node, an honest publisher and a
//! spammer; prints what was delivered, rejected, recovered and paid.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use rlnkit::chain::U256;
use rlnkit::identity::id_commitment;
use rlnkit::incentives::{Address, MemorySlashBackend, SlashConfig};
use rlnkit::relay::localnet::LocalNet;
use rlnkit::relay::{shard_topic, unix_now_ns, Publisher, RelayBuilder, Verdict, WakuMessage};
use rlnkit::{
    Identity, MerkleTree, Prover, RlnIdentifier, StaticRoots, UserMessageLimit, Verifier,
};
use serde_json::json;

use super::{load_keys, GlobalOpts, Outcome};

#[derive(clap::Args, Debug)]
pub(crate) struct RelayDemoArgs {
    /// Other members in the tree.
    #[arg(long, default_value_t = 100)]
    members: u64,
    /// The honest publisher's messages per epoch.
    #[arg(long, default_value_t = 3)]
    limit: u64,
}

impl RelayDemoArgs {
    pub(crate) fn run(self, g: &GlobalOpts) -> Result<Outcome> {
        let quiet = g.json;
        let say = |s: String| {
            if !quiet {
                println!("{s}");
            }
        };
        let keys = load_keys(g)?;
        let limit = UserMessageLimit::new(self.limit)?;
        let alice = Identity::from_seed(b"relay demo: alice");
        let mallory = Identity::from_seed(b"relay demo: mallory");
        let mallory_secret = mallory.secret();
        let mut leaves: Vec<_> = (0..self.members)
            .map(|i| Identity::from_seed(format!("member {i}").as_bytes()).rate_commitment(limit))
            .collect();
        let (ia, im) = (leaves.len() as u64, leaves.len() as u64 + 1);
        leaves.push(alice.rate_commitment(limit));
        leaves.push(mallory.rate_commitment(limit));
        let tree = MerkleTree::from_leaves(rlnkit::tree::DEFAULT_DEPTH, &leaves)?;
        say(format!("1. membership tree: {} members (alice and mallory among them, {} messages per epoch each), root {}", leaves.len(), self.limit, tree.root().to_hex()));

        let prover = Prover::new(keys.clone());
        let verifier = Verifier::new(keys.verifying_key());
        let mut honest = Publisher::new(prover.clone(), alice, limit, tree.proof(ia)?);
        let spammer = Publisher::new(
            prover.clone(),
            Identity::from_secret(mallory_secret)?,
            limit,
            tree.proof(im)?,
        );
        let other_app =
            Publisher::new(prover, Identity::from_secret(mallory_secret)?, limit, tree.proof(im)?)
                .with_rln_identifier(RlnIdentifier::from_text("rln/other-app/v1").expect("short"));
        let topic = shard_topic(1, 0);
        let roots = Arc::new(StaticRoots::new([tree.root()]));

        let rt =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let backend = Arc::new(MemorySlashBackend::new(Address::repeat_byte(0x11)));
        backend.add_member(id_commitment(mallory_secret), U256::from(1_000_000u64));
        let operator = Address::repeat_byte(0x0a);
        rt.block_on(async move {
            let t = Instant::now();
            let mut net = LocalNet::start(
                3,
                &topic,
                |i| {
                    let relay = RelayBuilder::new(verifier.clone(), roots.clone());
                    // Relay 1 meets the spam first and slashes (on an in-memory chain).
                    if i == 1 {
                        relay.slashing(backend.clone(), SlashConfig { poll: Duration::from_millis(10), ..SlashConfig::new(operator) })
                    } else {
                        relay
                    }
                },
                Duration::from_secs(20),
            )
            .await?;
            say(format!("2. network: an edge node and 3 relays on 127.0.0.1 ({}), gossipsub {} meshes formed in {:.1} s", topic, rlnkit::relay::node::RELAY_PROTOCOL, t.elapsed().as_secs_f64()));
            for (i, n) in net.nodes.iter().enumerate() {
                let role = if i == 0 { "edge (publishers connect here)".to_string() } else { format!("relay {i}") };
                say(format!("   {role}: {}", n.dial_addr().await?));
            }
            let mut outcomes = net.relay_mut(1).slash_outcomes().context("relay 1 slashes")?;
            let mut delivered: Vec<_> = net.relays().iter().map(|n| n.delivered()).collect();
            let mut validated: Vec<_> = net.relays().iter().map(|n| n.validated()).collect();

            let t = Instant::now();
            let now = unix_now_ns();
            let (honest_msgs, refused, spam) = tokio::task::spawn_blocking(move || -> Result<_> {
                let mut hs = Vec::new();
                for (i, text) in ["hello, waku", "rate-limited, not censored", "one proof per message"].iter().enumerate().take(limit.get() as usize) {
                    hs.push(honest.build(text.as_bytes(), "/rlnkit/1/demo/proto", now + i as u64)?);
                }
                let refused = honest.build(b"one too many", "/rlnkit/1/demo/proto", now + 10).err().map(|e| e.to_string());
                let s1 = spammer.build_with_id(b"mallory: hi", "/rlnkit/1/demo/proto", now, 0)?;
                let s2 = spammer.build_with_id(b"mallory: BUY CHEAP TOKENS", "/rlnkit/1/demo/proto", now + 1, 0)?;
                let mut forged = s2.clone();
                forged.payload = b"mallory: forged proof".to_vec();
                let sig = forged.rln_signal();
                let rlp = forged.rate_limit_proof.as_mut().expect("a proof");
                rlp.share_x = rlnkit::hash_to_field(&sig).to_le_bytes().to_vec();
                let wrong = other_app.build_with_id(b"mallory: fresh nullifiers from another app id", "/rlnkit/1/demo/proto", now + 2, 0)?;
                Ok((hs, refused, vec![("mallory's first message (valid)", s1), ("double signal (same message id, other message)", s2), ("invalid proof", forged), ("wrong rln_identifier", wrong)]))
            })
            .await??;
            say(format!("3. proofs generated in {:.1} s; the honest publisher refuses a 4th message: {}", t.elapsed().as_secs_f64(), refused.as_deref().unwrap_or("(not refused!)")));

            let edge = net.edge();
            for m in &honest_msgs {
                edge.publish(&topic, m).await?;
            }
            say(format!("4. alice published {} messages at the edge", honest_msgs.len()));
            tokio::time::sleep(Duration::from_millis(300)).await;
            for (name, m) in &spam {
                // The edge plays mallory's node: it sends the spam unjudged.
                edge.publish_unchecked(&topic, m.to_bytes()).await?;
                say(format!("   mallory published: {name}"));
            }
            tokio::time::sleep(Duration::from_millis(1500)).await;

            let names: BTreeMap<[u8; 32], &str> = spam.iter().map(|(n, m)| (rlnkit::relay::message::gossip_id(&m.to_bytes()), *n)).collect();
            let mut report = Vec::new();
            say("5. per relay:".to_string());
            for (i, (d, v)) in delivered.iter_mut().zip(validated.iter_mut()).enumerate() {
                let mut got: Vec<WakuMessage> = Vec::new();
                while let Ok(x) = d.try_recv() {
                    got.push(x.message);
                }
                let mut rejected = Vec::new();
                while let Ok(x) = v.try_recv() {
                    if let Verdict::Reject(r) = x.verdict {
                        rejected.push(format!("{} ({})", names.get(&x.gossip_id).copied().unwrap_or("?"), r));
                    }
                }
                say(format!("   relay {}: delivered {} messages{}", i + 1, got.len(), if rejected.is_empty() { ", rejected none (spam never reached it)".to_string() } else { format!(", rejected {}:", rejected.len()) }));
                for r in &rejected {
                    say(format!("      - {r}"));
                }
                let texts: Vec<String> = got.iter().map(|m| String::from_utf8_lossy(&m.payload).into_owned()).collect();
                report.push(json!({ "relay": i + 1, "delivered": texts, "rejected": rejected }));
            }

            let outcome = tokio::time::timeout(Duration::from_secs(10), outcomes.recv()).await.context("no slash outcome")?.context("slasher stopped")?;
            let ok = outcome.id_commitment == id_commitment(mallory_secret);
            say(format!("6. relay 1 recovered a spammer's secret: id commitment {} (mallory's: {ok})", outcome.id_commitment.to_hex()));
            let receipt = outcome.result.clone().map_err(|e| anyhow::anyhow!("slashing failed: {e}"))?;
            say(format!(
                "7. slashed (in-memory chain): commitSlash in block {}, revealSlash in block {}, reward {} paid to the operator {} (balance {})",
                outcome.commit.as_ref().map_or(0, |c| c.block),
                receipt.block,
                receipt.reward,
                operator,
                backend.balance(&operator)
            ));
            ensure!(ok, "the recovered secret is not mallory's");
            let m1 = net.relay(1).metrics().clone();
            say(format!("8. relay 1 metrics: waku_rln_messages_total {}, waku_rln_spam_messages_total {}, pairings {}", m1.messages.get(), m1.spam.get(), m1.verifications.get()));
            net.shutdown().await;
            Ok(Outcome::ok(
                String::new(),
                json!({ "relays": report, "refused": refused, "slash": { "id_commitment": outcome.id_commitment, "commit_block": outcome.commit.as_ref().map(|c| c.block), "reveal_block": receipt.block, "reward": receipt.reward.to_string(), "operator": operator } }),
            ))
        })
    }
}
