//! Chain benchmarks (BENCHMARKS.md, "Chain"): sync of 10,000 registrations from anvil, restart
//! after a sync, and the tree's memory and disk size at 2^20 members.
//!
//! The 10,000 registrations are real `register` transactions on a local anvil started here
//! (block gas limit raised to 1e9), sent with `DevChain::register_many`: 500 per
//! block, each block mined with `evm_mine`. The 2^20-member store is built directly (same code
//! path as a sync: `TreeStore::apply` in chunks), since a million registrations on anvil take
//! about an hour. Memory is measured in child processes (this binary, run again with
//! `RLNKIT_BENCH_CHAIN_CHILD` set) from /proc/self/status, so nothing the benchmark itself holds
//! is counted.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use criterion::{criterion_group, Criterion};
use rlnkit::chain::{deploy_registry, DeployConfig, PrivateKeySigner, SyncOptions, TreeSync};
use rlnkit::tree::disk::{ChunkUpdate, LeafChange, TreeStore};
use rlnkit::tree::{MerkleTree, DEFAULT_DEPTH};
use rlnkit::{Field, Identity};

const MEMBERS: usize = 10_000;
const FULL: usize = 1 << 20;
/// The 2^20 leaves arrive in this many chunks (as a long sync would apply them).
const FULL_CHUNKS: usize = 64;
const CHILD_ENV: &str = "RLNKIT_BENCH_CHAIN_CHILD";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

fn full_leaf(i: usize) -> Field {
    Field::from_u64(i as u64 + 1)
}

/// (VmRSS, VmHWM) of this process in KiB.
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Child process: builds the in-memory tree (`tree`) or opens a store (`store:PATH`) and prints
/// its resident memory.
fn child(what: &str) {
    let (base, _) = rss_kib();
    let t = Instant::now();
    // Measured while the tree (or store) is alive; the process exits right after.
    let (root, bytes, elapsed, (rss, hwm)) = if what == "tree" {
        let mut tree = MerkleTree::new(DEFAULT_DEPTH).unwrap();
        let per = FULL / FULL_CHUNKS;
        for k in 0..FULL_CHUNKS {
            let leaves: Vec<Field> = (k * per..(k + 1) * per).map(full_leaf).collect();
            tree.set_range((k * per) as u64, &leaves).unwrap();
        }
        (tree.root(), tree.memory_bytes(), t.elapsed(), rss_kib())
    } else {
        let path = what.strip_prefix("store:").expect("tree or store:PATH");
        let store = TreeStore::open(path).unwrap();
        (store.tree().root(), store.tree().memory_bytes(), t.elapsed(), rss_kib())
    };
    println!(
        "{what}: {:.1} MiB resident ({:.1} MiB more than before; peak {:.1} MiB), tree nodes {:.1} MiB, in {:.2} s, root {root}",
        rss as f64 / 1024.0,
        (rss - base) as f64 / 1024.0,
        hwm as f64 / 1024.0,
        bytes as f64 / 1048576.0,
        elapsed.as_secs_f64()
    );
}

fn measure_in_child(what: &str) {
    let out = Command::new(std::env::current_exe().unwrap()).env(CHILD_ENV, what).output().unwrap();
    assert!(out.status.success(), "child {what}: {}", String::from_utf8_lossy(&out.stderr));
    eprint!("memory, {}", String::from_utf8_lossy(&out.stdout));
}

fn build_full_store(path: &Path) -> Field {
    let mut store = TreeStore::open(path).unwrap();
    let per = FULL / FULL_CHUNKS;
    for k in 0..FULL_CHUNKS {
        let changes = (k * per..(k + 1) * per)
            .map(|i| LeafChange { block: 1 + k as u64 * 1000, index: i as u32, leaf: full_leaf(i) })
            .collect();
        store
            .apply(&ChunkUpdate {
                changes,
                roots: vec![],
                to_block: 1 + k as u64 * 1000,
                to_hash: [k as u8; 32],
                keep_blocks: 256,
            })
            .unwrap();
    }
    let root = store.tree().root();
    let before = store.disk_bytes();
    store.compact().unwrap();
    drop(store);
    let after = std::fs::metadata(path).unwrap().len();
    eprintln!(
        "2^20 members: redb file {:.1} MiB ({:.1} MiB before compaction)",
        after as f64 / 1048576.0,
        before as f64 / 1048576.0
    );
    root
}

fn chain(c: &mut Criterion) {
    let rt = runtime();
    let anvil_bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules/.bin/anvil");
    let anvil = rlnkit::chain::start_anvil(&anvil_bin, &["--gas-limit", "1000000000"]).unwrap();
    let signer = PrivateKeySigner::from(anvil.keys()[0].clone());
    let t = Instant::now();
    let client = rt.block_on(async {
        let (client, _) =
            deploy_registry(&anvil.endpoint(), signer, None, &DeployConfig::default())
                .await
                .unwrap();
        let ids: Vec<Field> = (0..MEMBERS)
            .map(|i| Identity::from_seed(format!("bench {i}").as_bytes()).commitment())
            .collect();
        let indices = client.dev().register_many(&ids, 20).await.unwrap();
        assert_eq!(indices, (0..MEMBERS as u32).collect::<Vec<_>>());
        client
    });
    let blocks = rt.block_on(async {
        client.block_number().await.unwrap() - client.deployed_block().await.unwrap()
    });
    eprintln!(
        "setup: {MEMBERS} registrations on anvil in {:.1} s ({blocks} blocks)",
        t.elapsed().as_secs_f64()
    );
    let chain_root = rt.block_on(client.root()).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let mut g = c.benchmark_group("chain");
    g.sample_size(10);
    let mut n = 0;
    g.bench_function("sync_10k_registrations", |b| {
        b.iter(|| {
            n += 1;
            let path = dir.path().join(format!("sync-{n}.redb"));
            rt.block_on(async {
                let mut s =
                    TreeSync::open(client.clone(), &path, SyncOptions::default()).await.unwrap();
                let r = s.sync(|_| {}).await.unwrap();
                assert_eq!((r.root, r.members), (chain_root, MEMBERS as u64));
            });
        })
    });
    // Ready after a restart: open the store and sync (the chain has nothing new).
    let synced = dir.path().join("sync-1.redb");
    eprintln!(
        "10k members: redb file {:.2} MiB",
        std::fs::metadata(&synced).unwrap().len() as f64 / 1048576.0
    );
    g.bench_function("restart_after_sync_10k", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut s =
                    TreeSync::open(client.clone(), &synced, SyncOptions::default()).await.unwrap();
                let r = s.sync(|_| {}).await.unwrap();
                assert_eq!(r.root, chain_root);
            });
        })
    });
    g.finish();
    drop(anvil);

    // 2^20 members: build once in chunks, then sizes (memory in child processes) and restart.
    let big = dir.path().join("full.redb");
    let t = Instant::now();
    let root = build_full_store(&big);
    eprintln!("2^20 members: store built in {:.1} s", t.elapsed().as_secs_f64());
    measure_in_child("tree");
    measure_in_child(&format!("store:{}", big.display()));
    let mut g = c.benchmark_group("chain");
    g.sample_size(10);
    g.bench_function("restart_2^20_members", |b| {
        b.iter(|| {
            let s = TreeStore::open(&big).unwrap();
            assert_eq!(s.tree().root(), root);
        })
    });
    g.finish();
}

criterion_group!(benches, chain);

fn main() {
    if let Ok(what) = std::env::var(CHILD_ENV) {
        child(&what);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
