//! The native witness against circom's: on random inputs and on the edges of the range checks,
//! every wire equals the one the circuit's WebAssembly witness generator computes, for rlnkit's
//! circuit and for the Waku network's; inputs one rejects the other rejects. Also our typed wasm
//! driver against ark-circom's generic one. Needs the `wasm-witness` feature (in `make test`).

mod common;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use ark_bn254::Fr;
use ark_ff::UniformRand;
use rand::{Rng, SeedableRng};
use rlnkit::circuit::WitnessGenerator;
use rlnkit::{CircuitKeys, Field, WitnessError, WitnessInput, WitnessLayout};

const DEPTH: usize = 20;

/// A key set with the circom generator of its circuit.
struct Circuit {
    name: &'static str,
    keys: Arc<CircuitKeys>,
    wasm: WitnessGenerator,
}

fn circuits() -> &'static [Circuit; 2] {
    static C: OnceLock<[Circuit; 2]> = OnceLock::new();
    C.get_or_init(|| {
        let ours = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("zkeys");
        let waku = common::waku_keys_dir();
        let wasm = |dir: &PathBuf| {
            WitnessGenerator::new(&std::fs::read(dir.join("rln.wasm")).unwrap()).unwrap()
        };
        [
            Circuit { name: "rlnkit", keys: CircuitKeys::embedded().unwrap(), wasm: wasm(&ours) },
            Circuit { name: "waku", keys: CircuitKeys::load(&waku).unwrap(), wasm: wasm(&waku) },
        ]
    })
}

fn input(
    rng: &mut impl Rng,
    limit: u64,
    message_id: u64,
    bits: impl Fn(usize) -> bool,
) -> WitnessInput {
    let mut f = || Field::from_fr(Fr::rand(rng));
    WitnessInput {
        identity_secret: f(),
        user_message_limit: Field::from_u64(limit),
        message_id: Field::from_u64(message_id),
        path_elements: (0..DEPTH).map(|_| f()).collect(),
        identity_path_index: (0..DEPTH).map(|i| Field::from_u64(bits(i) as u64)).collect(),
        x: f(),
        external_nullifier: f(),
    }
}

/// Native and wasm witnesses of `input`, wire by wire (or both rejections).
fn compare(c: &Circuit, input: &WitnessInput, case: &str) -> Result<(), WitnessError> {
    let native = c.keys.witness(input);
    let wasm = c.wasm.generate(input);
    match (native, wasm) {
        (Ok(native), Ok(wasm)) => {
            assert_eq!(native.len(), wasm.len(), "{}: {case}: wire count", c.name);
            if let Some(i) = (0..native.len()).find(|&i| native[i] != wasm[i]) {
                panic!(
                    "{}: {case}: wire {i} differs: native {} circom {}",
                    c.name, native[i], wasm[i]
                );
            }
            Ok(())
        }
        (Err(native), Err(_)) => Err(native),
        (native, wasm) => panic!(
            "{}: {case}: native {:?} but circom {:?}",
            c.name,
            native.map(|w| w.len()),
            wasm.map(|w| w.len())
        ),
    }
}

#[test]
fn keys_are_recognised_by_their_circuit() {
    let [ours, waku] = circuits();
    assert_eq!(ours.keys.witness_layout(), Some(WitnessLayout::Rlnkit));
    assert_eq!(waku.keys.witness_layout(), Some(WitnessLayout::Waku));
    for c in circuits() {
        assert_eq!(c.keys.proving_key().a_query.len(), c.keys.witness_layout().unwrap().wires());
    }
}

#[test]
fn every_wire_equals_circoms_on_random_inputs() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(21);
    for c in circuits() {
        for case in 0..48 {
            let limit = rng.gen_range(1..=u16::MAX as u64);
            let message_id = rng.gen_range(0..limit);
            let bits: [bool; DEPTH] = std::array::from_fn(|_| rng.gen());
            let wi = input(&mut rng, limit, message_id, |i| bits[i]);
            compare(c, &wi, &format!("random case {case} (limit {limit}, id {message_id})"))
                .unwrap();
        }
    }
}

/// limit, message id, path bit of each level, the case's name.
type Edge = (u64, u64, fn(usize) -> bool, &'static str);

#[test]
fn every_wire_equals_circoms_on_the_edges() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(22);
    let max = u16::MAX as u64;
    let edges: [Edge; 8] = [
        (1, 0, |_| false, "limit 1, path bits all 0"),
        (1, 0, |_| true, "limit 1, path bits all 1"),
        (max, max - 1, |_| true, "limit 2^16-1, id limit-1, bits all 1"),
        (max, 0, |_| false, "limit 2^16-1, id 0, bits all 0"),
        (100, 99, |i| i % 2 == 0, "id = limit-1, alternating bits"),
        (2, 1, |i| i < 10, "limit 2, id 1, low bits set"),
        (1 << 15, (1 << 15) - 1, |i| i >= 10, "limit 2^15, high bits set"),
        (max, 0x5555, |i| i == 19, "only the top bit"),
    ];
    for c in circuits() {
        for (limit, id, bits, case) in edges {
            compare(c, &input(&mut rng, limit, id, bits), case).unwrap();
        }
        // Zero secret and siblings.
        let mut zeros = input(&mut rng, 5, 4, |_| false);
        zeros.identity_secret = Field::ZERO;
        zeros.path_elements = vec![Field::ZERO; DEPTH];
        compare(c, &zeros, "zero secret and siblings").unwrap();
    }
}

#[test]
fn inputs_the_circuit_rejects_are_rejected_alike() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(23);
    let [ours, waku] = circuits();
    for c in circuits() {
        let reject = |wi: &WitnessInput, case: &str| {
            compare(c, wi, case).expect_err(&format!("{}: {case} must be rejected", c.name))
        };
        let wi = input(&mut rng, 10, 10, |_| false);
        assert_eq!(reject(&wi, "id = limit"), WitnessError::MessageIdNotBelowLimit);
        let wi = input(&mut rng, 10, 11, |_| false);
        assert_eq!(reject(&wi, "id > limit"), WitnessError::MessageIdNotBelowLimit);
        let wi = input(&mut rng, 0, 0, |_| false);
        assert_eq!(reject(&wi, "limit 0"), WitnessError::MessageIdNotBelowLimit);
        let wi = input(&mut rng, 1 << 17, 1 << 16, |_| false);
        assert_eq!(reject(&wi, "id 2^16"), WitnessError::MessageIdRange);
        let mut wi = input(&mut rng, 10, 3, |_| false);
        wi.identity_path_index[7] = Field::from_u64(2);
        assert_eq!(reject(&wi, "path bit 2"), WitnessError::PathIndexNotBit { level: 7 });
        let mut wi = input(&mut rng, 10, 3, |_| false);
        wi.message_id = Field::from_fr(-Fr::from(1u64));
        assert_eq!(reject(&wi, "id -1"), WitnessError::MessageIdRange);
    }
    // rlnkit's circuit range-checks the limit; the Waku network's only bounds it through
    // LessThan(16): limit - id must be in (0, 2^16].
    let wi = input(&mut rng, 1 << 16, 5, |_| true);
    assert_eq!(compare(ours, &wi, "limit 2^16"), Err(WitnessError::LimitRange));
    compare(waku, &wi, "limit 2^16").unwrap();
    let wi = input(&mut rng, (1 << 16) + 5, 5, |_| true);
    compare(waku, &wi, "limit = id + 2^16").unwrap();
    let wi = input(&mut rng, (1 << 16) + 6, 5, |_| true);
    assert_eq!(
        compare(waku, &wi, "limit = id + 2^16 + 1"),
        Err(WitnessError::MessageIdNotBelowLimit)
    );
    // Paths of another depth are rejected before anything is computed.
    let mut short = input(&mut rng, 10, 3, |_| false);
    short.path_elements.pop();
    for c in circuits() {
        assert_eq!(
            c.keys.witness(&short),
            Err(WitnessError::PathLength { name: "pathElements", expected: DEPTH, got: DEPTH - 1 })
        );
    }
}

#[test]
fn interop_input_gives_the_interop_public_signals() {
    let dir = common::waku_keys_dir();
    let wi: WitnessInput =
        serde_json::from_str(&std::fs::read_to_string(dir.join("witness-input.json")).unwrap())
            .unwrap();
    for c in circuits() {
        compare(c, &wi, "interop witness-input.json").unwrap();
    }
}

#[test]
fn witness_driver_equals_ark_circom() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(24);
    for c in circuits() {
        let wi = input(&mut rng, 20, 7, |i| i % 3 == 0);
        assert_eq!(c.wasm.generate(&wi).unwrap(), c.wasm.generate_reference(&wi).unwrap());
    }
}

#[test]
fn proofs_are_the_same_with_either_witness() {
    let cache = tempfile::tempdir().unwrap();
    let ours = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("zkeys");
    let id = rlnkit::Identity::from_seed(b"native witness");
    let limit = rlnkit::UserMessageLimit::new(10).unwrap();
    let leaves: Vec<Field> =
        (0..7u64).map(Field::from_u64).chain([id.rate_commitment(limit)]).collect();
    let tree = rlnkit::MerkleTree::from_leaves(DEPTH, &leaves).unwrap();
    let path = tree.proof(7).unwrap();
    let inputs = rlnkit::RlnInputs::for_signal(id.secret(), limit, 9, &path, common::ext(3), b"m");
    for dir in [ours, common::waku_keys_dir()] {
        let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
        let (zkey, wasm) = (read("rln_final.zkey"), read("rln.wasm"));
        let native =
            CircuitKeys::from_bytes_with_cache(&zkey, &wasm, "native", Some(cache.path())).unwrap();
        let circom =
            CircuitKeys::from_bytes_with_wasm_witness(&zkey, &wasm, "wasm", Some(cache.path()))
                .unwrap();
        assert!(native.witness_layout().is_some());
        assert_eq!(circom.witness_layout(), None, "the wasm computes this one's witness");
        let prove = |keys: CircuitKeys| {
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(31);
            rlnkit::Prover::new(Arc::new(keys)).prove_with_rng(&inputs, &mut rng).unwrap()
        };
        let (a, b) = (prove(native), prove(circom));
        assert_eq!(a.to_bytes(), b.to_bytes(), "{}: same proof from either witness", dir.display());
        assert_eq!(a.values.root, tree.root());
    }
}
