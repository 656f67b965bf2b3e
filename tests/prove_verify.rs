//! Proving and verifying with rlnkit's own keys: round trip, limits, root window, recovery, batches.

mod common;

use std::sync::OnceLock;

use rand::SeedableRng;
use rlnkit::{
    recover_secret, Field, MerkleTree, ProverError, Rejection, RlnInputs, RlnProof, Verifier,
    WitnessError,
};

use common::{ext, Members};

fn fixture() -> &'static Members {
    static F: OnceLock<Members> = OnceLock::new();
    F.get_or_init(|| Members::new("test member", 8, 5))
}

fn prove(
    member: usize,
    message_id: u64,
    epoch: u64,
    signal: &[u8],
) -> Result<RlnProof, ProverError> {
    let fx = fixture();
    let path = fx.tree.proof(member as u64).unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(member as u64 * 1000 + message_id);
    fx.prover.prove_with_rng(
        &RlnInputs::for_signal(
            fx.ids[member].secret(),
            fx.limit,
            message_id,
            &path,
            ext(epoch),
            signal,
        ),
        &mut rng,
    )
}

#[test]
fn round_trip_and_tampered_twin() {
    let fx = fixture();
    let v = Verifier::new(fx.keys.verifying_key());
    let p = prove(3, 1, 100, b"hello").unwrap();
    assert_eq!(p.values.root, fx.tree.root());
    v.verify(&p, b"hello", &[fx.tree.root()]).unwrap();
    // Through the wire form.
    let back = RlnProof::from_bytes(&p.to_bytes()).unwrap();
    v.verify(&back, b"hello", &[fx.tree.root()]).unwrap();
    // Tampered twins.
    assert_eq!(v.verify(&p, b"hellO", &[fx.tree.root()]), Err(Rejection::SignalMismatch));
    let mut t = p;
    t.values.y = Field::from_fr(t.values.y.fr() + ark_bn254::Fr::from(1u64));
    assert_eq!(v.verify(&t, b"hello", &[fx.tree.root()]), Err(Rejection::InvalidProof));
    let mut t = p;
    t.values.external_nullifier = ext(101).as_field();
    assert_eq!(v.verify_proof(&t), Err(Rejection::InvalidProof));
}

#[test]
fn message_id_at_or_above_limit_cannot_be_proved() {
    let limit = fixture().limit.get();
    assert!(matches!(prove(0, limit, 1, b"x"), Err(ProverError::Identity(_))));
    assert!(matches!(prove(0, limit + 7, 1, b"x"), Err(ProverError::Identity(_))));
    // The circuit itself enforces it too: feed the raw witness input.
    let fx = fixture();
    let path = fx.tree.proof(0).unwrap();
    let mut input =
        RlnInputs::for_signal(fx.ids[0].secret(), fx.limit, 0, &path, ext(1), b"x").witness_input();
    input.message_id = Field::from_u64(limit);
    match fx.prover.prove_witness_input(&input) {
        Err(ProverError::Witness(e)) => assert_eq!(e, WitnessError::MessageIdNotBelowLimit),
        other => panic!("expected the witness generator to reject the inputs, got {other:?}"),
    }
    // The generator is usable again after a rejected input.
    input.message_id = Field::from_u64(limit - 1);
    fx.prover.prove_witness_input(&input).unwrap();
}

#[test]
fn root_outside_window_is_rejected() {
    let fx = fixture();
    let v = Verifier::new(fx.keys.verifying_key());
    let p = prove(1, 0, 7, b"m").unwrap();
    let other = MerkleTree::new(20).unwrap().root();
    assert_eq!(
        v.verify(&p, b"m", &[other]),
        Err(Rejection::RootNotAccepted { root: fx.tree.root() })
    );
    assert_eq!(
        v.verify(&p, b"m", &[] as &[Field]),
        Err(Rejection::RootNotAccepted { root: fx.tree.root() })
    );
    v.verify(&p, b"m", &[other, fx.tree.root()]).unwrap();
}

#[test]
fn double_signal_reveals_the_secret() {
    let fx = fixture();
    let a = prove(2, 4, 9, b"first").unwrap();
    let b = prove(2, 4, 9, b"second").unwrap();
    assert_eq!(a.values.nullifier, b.values.nullifier);
    assert_eq!(recover_secret(&a.values, &b.values).unwrap(), fx.ids[2].secret());
    // Another message id or epoch gives another nullifier: nothing to recover.
    let c = prove(2, 3, 9, b"third").unwrap();
    assert_ne!(a.values.nullifier, c.values.nullifier);
    assert!(recover_secret(&a.values, &c.values).is_err());
}

#[test]
fn batch_accepts_good_and_names_bad() {
    let fx = fixture();
    let v = Verifier::new(fx.keys.verifying_key());
    let mut proofs: Vec<RlnProof> =
        (0..6).map(|i| prove(i, 0, 50, format!("m{i}").as_bytes()).unwrap()).collect();
    v.verify_batch(&proofs).unwrap();
    proofs[4].values.x = proofs[3].values.x;
    assert_eq!(v.verify_batch(&proofs).unwrap_err().bad, vec![4]);
    proofs[1].proof = proofs[2].proof;
    assert_eq!(v.verify_batch(&proofs).unwrap_err().bad, vec![1, 4]);
}

/// Single and batch verification give the same verdicts before the verifier's input tables
/// exist and after (they are built once it has checked 16 proofs), with the batch's scalars
/// split in two 64-bit halves and the Miller loops split across threads.
#[test]
fn verdicts_agree_before_and_after_input_tables() {
    let fx = fixture();
    let v = Verifier::new(fx.keys.verifying_key());
    let good: Vec<RlnProof> =
        (0..4).map(|i| prove(i, 1, 60, format!("t{i}").as_bytes()).unwrap()).collect();
    let mut bad = good[2];
    bad.values.nullifier = good[1].values.nullifier;
    let mut swapped = good[0];
    swapped.proof.c = good[3].proof.c;
    for round in 0..12 {
        for p in &good {
            assert_eq!(v.verify_proof(p), Ok(()), "round {round}");
        }
        assert_eq!(v.verify_proof(&bad), Err(Rejection::InvalidProof), "round {round}");
        assert_eq!(v.verify_proof(&swapped), Err(Rejection::InvalidProof), "round {round}");
        v.verify_batch(&good).unwrap();
        let mixed = [good[0], bad, good[1], swapped, good[3]];
        assert_eq!(v.verify_batch(&mixed).unwrap_err().bad, vec![1, 3], "round {round}");
    }
}

/// Proofs whose points are at infinity (valid encodings) are rejected, alone and in a batch,
/// without a panic.
#[test]
fn points_at_infinity_are_rejected() {
    use ark_ec::AffineRepr;
    let fx = fixture();
    let v = Verifier::new(fx.keys.verifying_key());
    let p = prove(5, 2, 61, b"inf").unwrap();
    let mut forged = [p; 3];
    forged[0].proof.a = ark_bn254::G1Affine::zero();
    forged[1].proof.b = ark_bn254::G2Affine::zero();
    forged[2].proof.c = ark_bn254::G1Affine::zero();
    for f in &forged {
        let back = RlnProof::from_bytes(&f.to_bytes()).unwrap();
        assert_eq!(v.verify_proof(&back), Err(Rejection::InvalidProof));
    }
    let batch = [p, forged[0], forged[1], forged[2]];
    assert_eq!(v.verify_batch(&batch).unwrap_err().bad, vec![1, 2, 3]);
}

/// On a one-thread pool a single proof takes the one-loop path; the verdicts are the same.
#[test]
fn verdicts_on_one_thread() {
    let fx = fixture();
    let v = Verifier::new(fx.keys.verifying_key());
    let good: Vec<RlnProof> =
        (0..3).map(|i| prove(i, 2, 62, format!("o{i}").as_bytes()).unwrap()).collect();
    let mut bad = good[1];
    bad.values.y = good[0].values.y;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    pool.install(|| {
        for round in 0..20 {
            assert_eq!(v.verify_proof(&good[round % 3]), Ok(()), "round {round}");
            assert_eq!(v.verify_proof(&bad), Err(Rejection::InvalidProof), "round {round}");
        }
        assert_eq!(v.verify_batch(&[good[0], bad, good[2]]).unwrap_err().bad, vec![1]);
        v.verify_batch(&good).unwrap();
    });
}

/// A fresh verifier shared by many threads while its input tables get built: verifications run
/// from outside the rayon pool (as the relay's blocking threads do) and inside it (as `overlap`'s
/// jobs do) at once. The tables used to be built under a blocking `OnceLock` with `par_iter`,
/// which deadlocked when the rayon workers were the ones waiting on it.
#[test]
fn concurrent_verifications_while_the_input_tables_are_built() {
    let fx = fixture();
    let root = fx.tree.root();
    let proofs: Vec<RlnProof> =
        (0..4).map(|k| prove(k % 8, k as u64, 3, b"concurrent").unwrap()).collect();
    for round in 0..5 {
        let verifier = Verifier::new(fx.keys.verifying_key());
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        for t in 0..8 {
            let (v, p, tx) = (verifier.clone(), proofs.clone(), done_tx.clone());
            std::thread::spawn(move || {
                for _ in 0..4 {
                    v.verify_batch(&p).expect("a valid batch");
                }
                let _ = tx.send(t);
            });
            let (v, p, tx) = (verifier.clone(), proofs.clone(), done_tx.clone());
            rayon::spawn(move || {
                for q in &p {
                    v.verify(q, b"concurrent", &[root]).expect("a valid proof");
                }
                let _ = tx.send(100 + t);
            });
        }
        drop(done_tx);
        for _ in 0..16 {
            done_rx
                .recv_timeout(std::time::Duration::from_secs(120))
                .unwrap_or_else(|e| panic!("round {round}: a verification never finished ({e})"));
        }
    }
}
