//! rlnkit benchmarks (criterion). Run: `make bench` (or `cargo bench --bench rln`).
//! Keys and inputs are prepared outside the timed closures; each proof is verified once before
//! timing. Set RLNKIT_BENCH_SNARKJS=0 to skip the snarkjs comparison.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::SeedableRng;
use rlnkit::poseidon::reference_hash;
use rlnkit::{
    poseidon1, poseidon2, poseidon3, CircuitKeys, Epoch, ExternalNullifier, Field, Identity,
    MerkleTree, Prover, RlnIdentifier, RlnInputs, RlnProof, UserMessageLimit, Verifier,
};

fn fe(i: u64) -> Field {
    rlnkit::hash_to_field(&i.to_le_bytes())
}

fn poseidon(c: &mut Criterion) {
    rlnkit::poseidon::warm_up();
    let mut g = c.benchmark_group("poseidon");
    let (a, b, d) = (fe(1), fe(2), fe(3));
    g.bench_function("1 input", |bn| bn.iter(|| poseidon1(black_box(a))));
    g.bench_function("2 inputs", |bn| bn.iter(|| poseidon2(black_box(a), black_box(b))));
    g.bench_function("3 inputs", |bn| {
        bn.iter(|| poseidon3(black_box(a), black_box(b), black_box(d)))
    });
    g.bench_function("2 inputs, textbook schedule", |bn| {
        bn.iter(|| reference_hash(black_box(&[a, b])))
    });
    // Throughput for many independent hashes (a tree level): reported per hash.
    let pairs: Vec<(Field, Field)> = (0..64).map(|i| (fe(i), fe(i + 100))).collect();
    g.throughput(Throughput::Elements(64));
    g.bench_function("2 inputs, 64 pairs batched", |bn| {
        bn.iter(|| rlnkit::poseidon::poseidon2_many(black_box(&pairs)))
    });
    g.finish();
}

fn tree(c: &mut Criterion) {
    let mut g = c.benchmark_group("tree");
    let mut t = MerkleTree::from_leaves(20, &(0..1000).map(fe).collect::<Vec<_>>()).unwrap();
    let mut i = 0u64;
    g.bench_function("insert depth 20", |bn| {
        bn.iter(|| {
            i = (i + 1) % (1 << 20);
            t.set(black_box(i), fe(i)).unwrap()
        })
    });
    let leaves1k: Vec<Field> = (0..1000).map(fe).collect();
    g.bench_function("range insert 1000 leaves", |bn| {
        bn.iter_batched(
            || MerkleTree::new(20).unwrap(),
            |mut t| t.set_range(0, black_box(&leaves1k)).unwrap(),
            BatchSize::LargeInput,
        )
    });
    let full: Vec<Field> = (0..1u64 << 20).map(|i| Field::from_u64(i + 1)).collect();
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    g.throughput(Throughput::Elements(1 << 20));
    g.bench_function("full build 2^20 leaves", |bn| {
        bn.iter(|| MerkleTree::from_leaves(20, black_box(&full)).unwrap())
    });
    g.finish();
}

struct Setup {
    keys: std::sync::Arc<CircuitKeys>,
    tree: MerkleTree,
    id: Identity,
    limit: UserMessageLimit,
}

fn setup() -> Setup {
    let limit = UserMessageLimit::new(100).unwrap();
    let id = Identity::from_seed(b"bench");
    let mut leaves: Vec<Field> = (0..1000).map(fe).collect();
    leaves.push(id.rate_commitment(limit));
    Setup {
        keys: CircuitKeys::embedded().unwrap(),
        tree: MerkleTree::from_leaves(20, &leaves).unwrap(),
        id,
        limit,
    }
}

fn proving(c: &mut Criterion) {
    let s = setup();
    let prover = Prover::new(s.keys.clone());
    let verifier = Verifier::new(s.keys.verifying_key());
    let path = s.tree.proof(1000).unwrap();
    let ext = ExternalNullifier::new(Epoch::from_index(1), RlnIdentifier::waku());
    let inputs = RlnInputs::for_signal(s.id.secret(), s.limit, 0, &path, ext, b"benchmark message");
    let proof = prover.prove(&inputs).unwrap();
    verifier.verify(&proof, b"benchmark message", &[s.tree.root()]).unwrap();

    let mut g = c.benchmark_group("keys");
    g.sample_size(10);
    g.bench_function("load embedded, no cache (zkey parse)", |bn| {
        bn.iter(|| CircuitKeys::embedded_with_cache(None).unwrap())
    });
    let cache = tempfile::tempdir().unwrap();
    CircuitKeys::embedded_with_cache(Some(cache.path())).unwrap();
    g.bench_function("load embedded, warm cache", |bn| {
        bn.iter(|| CircuitKeys::embedded_with_cache(Some(cache.path())).unwrap())
    });
    Prover::new(CircuitKeys::embedded_with_cache(Some(cache.path())).unwrap()).prepare();
    g.bench_function("load embedded + proving tables, warm cache", |bn| {
        bn.iter(|| {
            let prover = Prover::new(CircuitKeys::embedded_with_cache(Some(cache.path())).unwrap());
            prover.prepare();
            prover
        })
    });
    g.bench_function("proving tables, built (no cache)", |bn| {
        bn.iter_batched(
            || Prover::new(CircuitKeys::embedded_with_cache(None).unwrap()),
            |prover| prover.prepare(),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("verifying key from snarkjs JSON + prepare", |bn| {
        bn.iter(|| Verifier::new(&rlnkit::circuit::embedded_verifying_key()))
    });
    g.finish();

    let mut g = c.benchmark_group("prove");
    g.sample_size(20);
    let wi = inputs.witness_input();
    let witness = s.keys.witness(&wi).unwrap();
    let (r, sb) = (ark_bn254::Fr::from(3u64), ark_bn254::Fr::from(5u64));
    g.bench_function("witness (native)", |bn| bn.iter(|| s.keys.witness(black_box(&wi)).unwrap()));
    #[cfg(feature = "wasm-witness")]
    {
        let wasm = std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("zkeys/rln.wasm"))
            .unwrap();
        let generator = rlnkit::circuit::WitnessGenerator::new(&wasm).unwrap();
        assert_eq!(generator.generate(&wi).unwrap(), witness);
        g.bench_function("witness (circom wasm)", |bn| {
            bn.iter(|| generator.generate(black_box(&wi)).unwrap())
        });
    }
    g.bench_function("groth16 only, ark-groth16 reference", |bn| {
        bn.iter(|| prover.prove_witness_reference(black_box(&witness), r, sb).unwrap())
    });
    g.bench_function("groth16 only, rlnkit", |bn| {
        bn.iter(|| prover.prove_witness(black_box(&witness), r, sb).unwrap())
    });
    g.bench_function("proof (witness + groth16)", |bn| {
        bn.iter(|| prover.prove(black_box(&inputs)).unwrap())
    });
    let member = prover.for_member(s.id.secret(), s.limit, &path).unwrap();
    member.prove(0, ext, b"first message").unwrap();
    let mut k = 0u64;
    g.bench_function("member's next message, same root", |bn| {
        bn.iter(|| {
            k += 1;
            let ext = ExternalNullifier::new(Epoch::from_index(k), RlnIdentifier::waku());
            member.prove(k % 100, ext, &k.to_le_bytes()).unwrap()
        })
    });
    // The same two with circom's wasm computing the witness (the path before the native
    // witness), in the same run.
    #[cfg(feature = "wasm-witness")]
    {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let read = |f: &str| std::fs::read(root.join("zkeys").join(f)).unwrap();
        let cache = rlnkit::circuit::cache::cache_dir();
        let keys = CircuitKeys::from_bytes_with_wasm_witness(
            &read("rln_final.zkey"),
            &read("rln.wasm"),
            "zkeys/ with the wasm witness",
            cache.as_deref(),
        )
        .unwrap();
        let wasm_prover = Prover::new(std::sync::Arc::new(keys));
        wasm_prover.prove(&inputs).unwrap();
        g.bench_function("proof (circom wasm witness + groth16)", |bn| {
            bn.iter(|| wasm_prover.prove(black_box(&inputs)).unwrap())
        });
        let member = wasm_prover.for_member(s.id.secret(), s.limit, &path).unwrap();
        member.prove(0, ext, b"first message").unwrap();
        g.bench_function("member's next message, same root, circom wasm witness", |bn| {
            bn.iter(|| {
                k += 1;
                let ext = ExternalNullifier::new(Epoch::from_index(k), RlnIdentifier::waku());
                member.prove(k % 100, ext, &k.to_le_bytes()).unwrap()
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("verify");
    g.bench_function("single", |bn| {
        bn.iter(|| {
            verifier.verify(black_box(&proof), b"benchmark message", &[s.tree.root()]).unwrap()
        })
    });
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let batch: Vec<RlnProof> = (0..64u64)
        .map(|k| {
            let ext = ExternalNullifier::new(Epoch::from_index(k), RlnIdentifier::waku());
            prover
                .prove_with_rng(
                    &RlnInputs::for_signal(s.id.secret(), s.limit, 0, &path, ext, &k.to_le_bytes()),
                    &mut rng,
                )
                .unwrap()
        })
        .collect();
    verifier.verify_batch(&batch).unwrap();
    g.throughput(Throughput::Elements(64));
    g.sample_size(20);
    g.bench_function("batch of 64", |bn| {
        bn.iter(|| verifier.verify_batch(black_box(&batch)).unwrap())
    });
    g.finish();
}

/// snarkjs proving the same circuit with the same keys, measured in the same run.
fn snarkjs(c: &mut Criterion) {
    if std::env::var("RLNKIT_BENCH_SNARKJS").as_deref() == Ok("0") {
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let snarkjs = root.join("node_modules/.bin/snarkjs");
    if !snarkjs.exists() {
        eprintln!("snarkjs not installed (run npm ci); skipping the snarkjs comparison");
        return;
    }
    let s = setup();
    let path = s.tree.proof(1000).unwrap();
    let ext = ExternalNullifier::new(Epoch::from_index(1), RlnIdentifier::waku());
    let wi = RlnInputs::for_signal(s.id.secret(), s.limit, 0, &path, ext, b"benchmark message")
        .witness_input();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.json");
    std::fs::write(&input, serde_json::to_string(&wi).unwrap()).unwrap();
    let mut g = c.benchmark_group("snarkjs");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("groth16 fullprove (node, same keys)", |bn| {
        bn.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let st = std::process::Command::new(&snarkjs)
                    .args(["groth16", "fullprove"])
                    .arg(&input)
                    .arg(root.join("zkeys/rln.wasm"))
                    .arg(root.join("zkeys/rln_final.zkey"))
                    .arg(dir.path().join("proof.json"))
                    .arg(dir.path().join("public.json"))
                    .status()
                    .unwrap();
                assert!(st.success());
                total += t.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, poseidon, tree, proving, snarkjs);
criterion_main!(benches);
