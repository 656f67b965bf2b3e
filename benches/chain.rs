//! Chain benchmarks (BENCHMARKS-chain.md): sync of 10,000 registrations from anvil, restart after
//! a sync, and the tree's memory and disk size at 2^20 members.
//!
//! The 10,000 registrations are real transactions (sent back to back with explicit nonces) on a
//! local anvil started here; the 2^20-member store is built directly (same code path as sync:
//! `TreeStore::apply` in chunks) since registering a million members on anvil takes hours.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use alloy::node_bindings::Anvil;
use criterion::{criterion_group, criterion_main, Criterion};
use rlnkit::chain::{DeployConfig, MembershipClient, PrivateKeySigner, SyncOptions, TreeSync};
use rlnkit::tree::disk::{ChunkUpdate, LeafChange, TreeStore};
use rlnkit::{Field, Identity};

const MEMBERS: usize = 10_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

fn chain(c: &mut Criterion) {
    let rt = runtime();
    let mut anvil = Anvil::at(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules/.bin/anvil")).port(0u16).keep_stdout().spawn();
    // Drain anvil's log output: a closed pipe would stop it after a few thousand transactions.
    let out = anvil.child_mut().stdout.take().unwrap();
    std::thread::spawn(move || std::io::copy(&mut std::io::BufReader::new(out), &mut std::io::sink()));
    let signer = PrivateKeySigner::from(anvil.keys()[0].clone());
    let t = Instant::now();
    let client = rt.block_on(async {
        let (client, _) = MembershipClient::deploy(&anvil.endpoint(), signer, None, &DeployConfig::default()).await.unwrap();
        let ids: Vec<Field> = (0..MEMBERS).map(|i| Identity::from_seed(format!("bench {i}").as_bytes()).commitment()).collect();
        client.register_many(&ids, 20).await.unwrap();
        client
    });
    eprintln!("setup: {MEMBERS} registrations on anvil in {:.1} s", t.elapsed().as_secs_f64());
    let chain_root = rt.block_on(client.root()).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let mut g = c.benchmark_group("chain");
    g.sample_size(10).measurement_time(Duration::from_secs(60));
    let mut n = 0;
    g.bench_function("sync_10k_registrations", |b| {
        b.iter(|| {
            n += 1;
            let path = dir.path().join(format!("sync-{n}.redb"));
            rt.block_on(async {
                let mut s = TreeSync::open(client.clone(), &path, SyncOptions::default()).await.unwrap();
                let r = s.sync(|_| {}).await.unwrap();
                assert_eq!(r.root, chain_root);
            });
        })
    });
    let synced = dir.path().join("sync-1.redb");
    g.bench_function("restart_after_sync_10k", |b| {
        b.iter(|| {
            let s = TreeStore::open(&synced).unwrap();
            assert_eq!(s.tree().root(), chain_root);
        })
    });
    g.finish();
    drop(anvil);

    // 2^20 members: build once in 64 chunks (as a long sync would), then measure restart and sizes.
    let big = dir.path().join("full.redb");
    let t = Instant::now();
    let mut store = TreeStore::open(&big).unwrap();
    let total = 1usize << 20;
    let per = total / 64;
    for k in 0..64 {
        let changes = (k * per..(k + 1) * per).map(|i| LeafChange { block: 1 + k as u64 * 1000, index: i as u32, leaf: Field::from_u64(i as u64 + 1) }).collect();
        store.apply(&ChunkUpdate { changes, roots: vec![], to_block: 1 + k as u64 * 1000, to_hash: [k as u8; 32], keep_blocks: 256 }).unwrap();
    }
    let root = store.tree().root();
    let mem = store.tree().memory_bytes();
    let disk_before = store.disk_bytes();
    store.compact().unwrap();
    drop(store);
    let disk = std::fs::metadata(&big).unwrap().len();
    eprintln!("2^20 members: built in {:.1} s; tree memory {:.1} MiB; disk {:.1} MiB ({:.1} MiB before compaction)", t.elapsed().as_secs_f64(), mem as f64 / 1048576.0, disk as f64 / 1048576.0, disk_before as f64 / 1048576.0);
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
criterion_main!(benches);
