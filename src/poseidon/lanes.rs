//! Poseidon(2) (width 3) of eight independent input pairs at once on AVX-512 IFMA lanes, with the
//! same optimized schedule as the scalar hash. One hash still takes ~600 multiplications, but
//! eight of them cost about as much as one and a half scalar hashes: this is for work with many
//! independent hashes (a tree level), not for the latency of a single one.
//!
//! Bounds (see `crate::lanes`): constants are below r; after a linear layer the state is below
//! 3.1r, S-box inputs below 7r, S-box outputs below 1.1r, and the partial rounds' accumulating
//! elements are reduced to below 2r each round.

use std::arch::x86_64::*;
use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_ff::BigInt;

use super::{schedule3, Schedule};
use crate::lanes::arith::{
    combine, from_words, mul, reduce, reduce_once, splat, store, to_words, Lanes, ScalarField as S,
};

/// A constant in lane form (below r), broadcast to all lanes when used.
type Constant = [u64; 5];

/// The width-3 schedule's constants in lane form.
struct LaneSchedule {
    first_full: [[Constant; 3]; 4],
    /// Per partial round: the scalar added to element 0, the sparse layer's first row and column.
    partial: Vec<(Constant, [Constant; 3], [Constant; 3])>,
    carried: [[Constant; 3]; 3],
    last_full: [[Constant; 3]; 4],
    mds: [[Constant; 3]; 3],
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn constant(x: &Fr) -> Constant {
    let words: [[u64; 8]; 4] = std::array::from_fn(|k| [x.0 .0[k]; 8]);
    let mut staged = [[0u64; 8]; 5];
    store(&reduce_once::<S>(&reduce::<S>(&from_words(&words))), &mut staged);
    staged.map(|limb| limb[0])
}

impl LaneSchedule {
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn new(s: &Schedule<3>) -> Self {
        let row = |r: &[Fr; 3]| -> [Constant; 3] { std::array::from_fn(|i| constant(&r[i])) };
        LaneSchedule {
            first_full: std::array::from_fn(|r| row(&s.first_full[r])),
            partial: s
                .partial
                .iter()
                .map(|(k, sp)| (constant(k), row(&sp.row), row(&sp.col)))
                .collect(),
            carried: std::array::from_fn(|i| row(&s.carried[i])),
            last_full: std::array::from_fn(|r| row(&s.last_full[r])),
            mds: std::array::from_fn(|i| row(&s.mds[i])),
        }
    }
}

/// x⁵ for x below 7r; below 1.1r.
#[target_feature(enable = "avx512f,avx512ifma")]
fn pow5(x: &Lanes) -> Lanes {
    let x2 = mul::<S>(x, x);
    let x4 = mul::<S>(&x2, &x2);
    mul::<S>(&x4, x)
}

/// Σ m_j·v_j over three lanes (each product below 1.1r for v below 2r; the sum below 3.3r).
#[target_feature(enable = "avx512f,avx512ifma")]
fn dot(m: &[Constant; 3], v: &[Lanes; 3]) -> Lanes {
    let p: [Lanes; 3] = std::array::from_fn(|j| mul::<S>(&splat(&m[j]), &v[j]));
    combine(&[&p[0], &p[1], &p[2]], &[], &[0; 5])
}

impl LaneSchedule {
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn full_round(&self, state: &mut [Lanes; 3], c: &[Constant; 3]) {
        let x: [Lanes; 3] =
            std::array::from_fn(|i| pow5(&combine(&[&state[i], &splat(&c[i])], &[], &[0; 5])));
        *state = std::array::from_fn(|i| dot(&self.mds[i], &x));
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn permute(&self, state: &mut [Lanes; 3]) {
        for c in &self.first_full {
            self.full_round(state, c);
        }
        for (k, row, col) in &self.partial {
            let s0 = pow5(&combine(&[&state[0], &splat(k)], &[], &[0; 5]));
            let new0 = dot(row, &[s0, state[1], state[2]]);
            for i in 1..3 {
                state[i] = reduce::<S>(&combine(
                    &[&state[i], &mul::<S>(&splat(&col[i]), &s0)],
                    &[],
                    &[0; 5],
                ));
            }
            state[0] = new0;
        }
        // The carried block leaves element 0 alone.
        let (s1, s2) = (state[1], state[2]);
        for (i, si) in state.iter_mut().enumerate().skip(1) {
            let p1 = mul::<S>(&splat(&self.carried[i][1]), &s1);
            let p2 = mul::<S>(&splat(&self.carried[i][2]), &s2);
            *si = combine(&[&p1, &p2], &[], &[0; 5]);
        }
        for c in &self.last_full {
            self.full_round(state, c);
        }
    }
}

fn lane_schedule() -> &'static LaneSchedule {
    static S3: OnceLock<LaneSchedule> = OnceLock::new();
    // SAFETY: only reached through `hash2_x8`, after the CPU features were checked.
    S3.get_or_init(|| unsafe { LaneSchedule::new(schedule3()) })
}

/// Poseidon(left[l], right[l]) for the eight lanes l. Needs AVX-512 IFMA (see
/// [`crate::lanes::available`]).
pub(super) fn hash2_x8(left: &[Fr; 8], right: &[Fr; 8]) -> [Fr; 8] {
    assert!(crate::lanes::available(), "hash2_x8 needs AVX-512 IFMA");
    let schedule = lane_schedule();
    // SAFETY: the CPU features were checked above.
    unsafe { hash2_x8_ifma(schedule, left, right) }
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn hash2_x8_ifma(schedule: &LaneSchedule, left: &[Fr; 8], right: &[Fr; 8]) -> [Fr; 8] {
    let lanes = |v: &[Fr; 8]| {
        reduce::<S>(&from_words(&std::array::from_fn(|k| std::array::from_fn(|l| v[l].0 .0[k]))))
    };
    let zero = Lanes([_mm512_setzero_si512(); 5]);
    let mut state = [zero, lanes(left), lanes(right)];
    schedule.permute(&mut state);
    let mut words = [[0u64; 8]; 4];
    to_words::<S>(&state[0], &mut words);
    std::array::from_fn(|l| Fr::new_unchecked(BigInt(std::array::from_fn(|k| words[k][l]))))
}
