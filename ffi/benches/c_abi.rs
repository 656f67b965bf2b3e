//! The C boundary's cost: the same work through rlnkit's Rust API and through the C ABI
//! (the `extern "C"` functions C programs call), with the Waku network's keys. Keys are loaded
//! and every path verified once before timing. BENCHMARKS.md has the numbers and the command.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use rln::types::{CFr, Vec_CFr, Vec_uint8};
use rln::zerokit::*;
use rlnkit::{
    hash_to_field, poseidon2, ExternalNullifier, Field, Identity, MerkleTree, Prover, RlnInputs,
    UserMessageLimit,
};

fn view(b: &[u8]) -> Vec_uint8 {
    Vec_uint8 { ptr: b.as_ptr() as *mut u8, len: b.len(), cap: b.len() }
}

fn boundary(c: &mut Criterion) {
    let keys = rln::keys::waku().expect("the Waku network's keys");
    let id = Identity::from_seed(b"rlnkit ffi bench");
    let limit = UserMessageLimit::new(100).expect("limit");
    let mut tree = MerkleTree::default();
    let index = tree.push(id.rate_commitment(limit)).expect("push");
    let path = tree.proof(index).expect("path");
    let ext = ExternalNullifier::from_field(poseidon2(Field::from_u64(7), Field::from_u64(9)));
    let x = hash_to_field(b"bench message");
    let prover = Prover::new(keys.clone());
    let inputs = RlnInputs {
        identity_secret: id.secret(),
        limit,
        message_id: 1,
        merkle_proof: &path,
        external_nullifier: ext,
        x,
    };
    let member = prover.for_member(id.secret(), limit, &path).expect("member");
    let proof = prover.prove(&inputs).expect("proof");
    member.prove_with_rng(1, ext, x, &mut rand::rngs::OsRng).expect("warm member");
    let verifier = rlnkit::Verifier::new(keys.verifying_key());
    verifier.verify_proof(&proof).expect("valid");

    // The same through the C ABI.
    let rln = ffi_rln_new().ok;
    let cfr = |f: Field| Box::into_raw(Box::new(CFr(f))) as *const CFr;
    let (secret_c, limit_c, id_c) = (cfr(id.secret()), cfr(limit.as_field()), cfr(Field::ONE));
    let (x_c, ext_c) = (cfr(x), cfr(ext.as_field()));
    let mut path_c = ffi_vec_cfr_new(20);
    for e in &path.path_elements {
        unsafe { ffi_vec_cfr_push(&mut path_c, cfr(*e)) };
    }
    let bits = view(&path.identity_path_index);
    let witness = unsafe {
        ffi_rln_witness_input_new(secret_c, limit_c, id_c, &path_c, &bits, x_c, ext_c).ok
    };
    let pw = unsafe { ffi_rln_partial_witness_input_new(secret_c, limit_c, &path_c, &bits).ok };
    let partial = unsafe { ffi_generate_partial_zk_proof(&rln, &pw).ok };
    let c_proof = unsafe { ffi_finish_rln_proof(&rln, &partial, &witness).ok };
    assert!(!c_proof.is_null());
    let roots: Vec_CFr = ffi_vec_cfr_new(0);
    assert!(unsafe { ffi_verify_with_roots(&rln, &c_proof, &roots, x_c) }.ok);

    let mut g = c.benchmark_group("prove");
    g.sample_size(20);
    g.bench_function("rust_api", |b| b.iter(|| prover.prove(black_box(&inputs)).expect("proof")));
    g.bench_function("c_abi", |b| {
        b.iter(|| {
            let p = unsafe { ffi_generate_rln_proof(&rln, black_box(&witness)) };
            unsafe { ffi_rln_proof_free(p.ok) };
        })
    });
    g.finish();

    let mut g = c.benchmark_group("next_message_proof");
    g.sample_size(20);
    g.bench_function("rust_api", |b| {
        b.iter(|| {
            member.prove_with_rng(1, ext, black_box(x), &mut rand::rngs::OsRng).expect("proof")
        })
    });
    g.bench_function("c_abi", |b| {
        b.iter(|| {
            let p = unsafe { ffi_finish_rln_proof(&rln, &partial, black_box(&witness)) };
            unsafe { ffi_rln_proof_free(p.ok) };
        })
    });
    g.finish();

    let mut g = c.benchmark_group("verify");
    g.bench_function("rust_api", |b| {
        b.iter(|| verifier.verify_proof(black_box(&proof)).expect("valid"))
    });
    g.bench_function("c_abi", |b| {
        b.iter(|| unsafe { ffi_verify_with_roots(&rln, black_box(&c_proof), &roots, x_c) })
    });
    g.finish();
}

criterion_group!(benches, boundary);
criterion_main!(benches);
