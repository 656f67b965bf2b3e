//! circomlib-compatible Poseidon over BN254 (x^5 S-box, 8 full rounds, 56/57/56/60 partial rounds
//! for 1/2/3/4 inputs), the hash used for identities, nullifiers and the membership tree.
//!
//! The round constants and MDS matrices are the standard Grain-LFSR parameters (taken from the
//! `light-poseidon` crate, which generates the same ones as circomlib). At first use we derive an
//! equivalent, cheaper schedule once and keep it for the life of the process:
//! - the round constants of partial rounds are pushed forward through the linear layer so that
//!   each partial round adds a single scalar, and
//! - the MDS matrix of each partial round is factored into a dense block that is carried to the
//!   next round and a sparse matrix (first row + first column + identity), so a partial round
//!   costs 2t-1 multiplications instead of t².
//!
//! The straightforward permutation is kept ([`reference_hash`]) and the tests check the fast one
//! against it and against circomlib's known answers.

use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_ff::{Field as _, One, Zero};

use crate::field::Field;

pub(crate) mod circom;
#[cfg(target_arch = "x86_64")]
mod lanes;

/// Largest number of inputs supported (circomlib's Poseidon(4), width 5).
pub const MAX_INPUTS: usize = 4;
const FULL_ROUNDS: usize = 8;

/// Errors of the variable-arity entry point.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoseidonError {
    /// Too few or too many inputs.
    #[error("Poseidon takes 1 to {MAX_INPUTS} inputs, got {got}")]
    Arity {
        /// The number of inputs given.
        got: usize,
    },
}

#[inline(always)]
fn pow5(x: Fr) -> Fr {
    let x2 = x.square();
    let x4 = x2.square();
    x4 * x
}

/// A sparse matrix [[a, v], [w, I]]: `row` is the first row (a, v), `col[1..]` is w.
#[derive(Clone, Copy)]
struct Sparse<const T: usize> {
    row: [Fr; T],
    col: [Fr; T],
}

/// The optimized schedule for width T.
struct Schedule<const T: usize> {
    /// Constants of the first half of full rounds.
    first_full: [[Fr; T]; FULL_ROUNDS / 2],
    /// Per partial round: the scalar added to element 0, and its sparse linear layer.
    partial: Vec<(Fr, Sparse<T>)>,
    /// The dense block carried out of the last partial round.
    carried: [[Fr; T]; T],
    /// Constants of the second half of full rounds (the first absorbs the partial rounds' carry).
    last_full: [[Fr; T]; FULL_ROUNDS / 2],
    mds: [[Fr; T]; T],
}

/// The standard parameters (round constants in round-major order, MDS as rows).
struct Plain<const T: usize> {
    constants: Vec<[Fr; T]>,
    mds: [[Fr; T]; T],
    partial_rounds: usize,
}

fn plain<const T: usize>() -> Plain<T> {
    let p = light_poseidon::parameters::bn254_x5::get_poseidon_parameters::<Fr>(T as u8)
        .expect("widths 2..=5 are defined");
    assert_eq!(p.full_rounds, FULL_ROUNDS);
    let rounds = p.full_rounds + p.partial_rounds;
    let constants = (0..rounds).map(|r| std::array::from_fn(|i| p.ark[r * T + i])).collect();
    let mds = std::array::from_fn(|i| std::array::from_fn(|j| p.mds[i][j]));
    Plain { constants, mds, partial_rounds: p.partial_rounds }
}

fn mat_vec<const T: usize>(m: &[[Fr; T]; T], v: &[Fr; T]) -> [Fr; T] {
    std::array::from_fn(|i| (0..T).fold(Fr::zero(), |acc, j| acc + m[i][j] * v[j]))
}

fn mat_mul<const T: usize>(a: &[[Fr; T]; T], b: &[[Fr; T]; T]) -> [[Fr; T]; T] {
    std::array::from_fn(|i| {
        std::array::from_fn(|j| (0..T).fold(Fr::zero(), |acc, k| acc + a[i][k] * b[k][j]))
    })
}

/// Inverse of the lower-right (T-1)x(T-1) block of `m`, returned embedded in a T×T matrix
/// (index 0 row/column unused). Gauss-Jordan; the block of an MDS matrix is invertible.
fn inverse_lower_block<const T: usize>(m: &[[Fr; T]; T]) -> [[Fr; T]; T] {
    let n = T - 1;
    let mut a: Vec<Vec<Fr>> = (0..n).map(|i| (0..n).map(|j| m[i + 1][j + 1]).collect()).collect();
    let mut inv: Vec<Vec<Fr>> = (0..n)
        .map(|i| (0..n).map(|j| if i == j { Fr::one() } else { Fr::zero() }).collect())
        .collect();
    for col in 0..n {
        let pivot = (col..n).find(|&r| !a[r][col].is_zero()).expect("MDS sub-block is invertible");
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let p_inv = a[col][col].inverse().expect("non-zero pivot");
        for j in 0..n {
            a[col][j] *= p_inv;
            inv[col][j] *= p_inv;
        }
        for r in 0..n {
            if r != col && !a[r][col].is_zero() {
                let f = a[r][col];
                for j in 0..n {
                    let (ac, ic) = (a[col][j], inv[col][j]);
                    a[r][j] -= f * ac;
                    inv[r][j] -= f * ic;
                }
            }
        }
    }
    let mut out = [[Fr::zero(); T]; T];
    for i in 0..n {
        for j in 0..n {
            out[i + 1][j + 1] = inv[i][j];
        }
    }
    out
}

impl<const T: usize> Schedule<T> {
    fn derive() -> Self {
        let p = plain::<T>();
        let half = FULL_ROUNDS / 2;
        let rp = p.partial_rounds;
        let mut consts = p.constants.clone();

        // 1. Constant folding: keep only element 0 of each partial round's constant and push the
        //    rest through the S-box (which does not touch it) and the MDS into the next round.
        let mut partial_k = Vec::with_capacity(rp);
        for r in half..half + rp {
            let c = consts[r];
            partial_k.push(c[0]);
            let mut rest = c;
            rest[0] = Fr::zero();
            let carry = mat_vec(&p.mds, &rest);
            for i in 0..T {
                consts[r + 1][i] += carry[i];
            }
        }

        // 2. Sparse factorization: X = M' · M'' with M' = diag(1, Â) carried into the next round.
        let mut partial = Vec::with_capacity(rp);
        let mut x = p.mds;
        let mut carried = [[Fr::zero(); T]; T];
        for _ in 0..rp {
            let a_inv = inverse_lower_block(&x);
            let mut m_prime = [[Fr::zero(); T]; T];
            m_prime[0][0] = Fr::one();
            for i in 1..T {
                for j in 1..T {
                    m_prime[i][j] = x[i][j];
                }
            }
            let mut col = [Fr::zero(); T];
            for i in 1..T {
                col[i] = (1..T).fold(Fr::zero(), |acc, j| acc + a_inv[i][j] * x[j][0]);
            }
            partial.push(Sparse { row: x[0], col });
            carried = m_prime;
            x = mat_mul(&p.mds, &m_prime);
        }
        let partial = partial_k.into_iter().zip(partial).collect();

        Schedule {
            first_full: std::array::from_fn(|r| consts[r]),
            partial,
            carried,
            last_full: std::array::from_fn(|r| consts[half + rp + r]),
            mds: p.mds,
        }
    }

    #[inline(always)]
    fn full_round(&self, state: &mut [Fr; T], c: &[Fr; T]) {
        for i in 0..T {
            state[i] = pow5(state[i] + c[i]);
        }
        *state = mat_vec(&self.mds, state);
    }

    fn permute(&self, state: &mut [Fr; T]) {
        for c in &self.first_full {
            self.full_round(state, c);
        }
        for (k, sp) in &self.partial {
            let s0 = pow5(state[0] + k);
            let mut new0 = sp.row[0] * s0;
            for (r, s) in sp.row.iter().zip(state.iter()).skip(1) {
                new0 += *r * *s;
            }
            for (s, c) in state.iter_mut().zip(sp.col.iter()).skip(1) {
                *s += *c * s0;
            }
            state[0] = new0;
        }
        // The carried block leaves element 0 alone.
        let s = *state;
        for (i, si) in state.iter_mut().enumerate().skip(1) {
            *si = (1..T).fold(Fr::zero(), |acc, j| acc + self.carried[i][j] * s[j]);
        }
        for c in &self.last_full {
            self.full_round(state, c);
        }
    }

    fn hash(&self, inputs: &[Fr]) -> Fr {
        let mut state = [Fr::zero(); T];
        state[1..].copy_from_slice(inputs);
        self.permute(&mut state);
        state[0]
    }
}

macro_rules! schedule {
    ($name:ident, $t:literal) => {
        fn $name() -> &'static Schedule<$t> {
            static S: OnceLock<Schedule<$t>> = OnceLock::new();
            S.get_or_init(Schedule::derive)
        }
    };
}
schedule!(schedule2, 2);
schedule!(schedule3, 3);
schedule!(schedule4, 4);
schedule!(schedule5, 5);

/// Derives all schedules now (otherwise the first hash of each width pays for it, ~1 ms).
pub fn warm_up() {
    schedule2();
    schedule3();
    schedule4();
    schedule5();
}

/// Poseidon of one input (used for id commitments and nullifiers).
#[inline]
pub fn poseidon1(a: Field) -> Field {
    Field::from_fr(schedule2().hash(&[a.fr()]))
}

/// Poseidon of two inputs (Merkle nodes, rate commitments, external nullifiers).
#[inline]
pub fn poseidon2(a: Field, b: Field) -> Field {
    Field::from_fr(schedule3().hash(&[a.fr(), b.fr()]))
}

/// Poseidon of three inputs (RLN's a1 = Poseidon(secret, external nullifier, message id)).
#[inline]
pub fn poseidon3(a: Field, b: Field, c: Field) -> Field {
    Field::from_fr(schedule4().hash(&[a.fr(), b.fr(), c.fr()]))
}

/// Poseidon of four inputs.
#[inline]
pub fn poseidon4(a: Field, b: Field, c: Field, d: Field) -> Field {
    Field::from_fr(schedule5().hash(&[a.fr(), b.fr(), c.fr(), d.fr()]))
}

/// Poseidon of 1..=4 inputs.
pub fn poseidon_hash(inputs: &[Field]) -> Result<Field, PoseidonError> {
    Ok(match inputs {
        [a] => poseidon1(*a),
        [a, b] => poseidon2(*a, *b),
        [a, b, c] => poseidon3(*a, *b, *c),
        [a, b, c, d] => poseidon4(*a, *b, *c, *d),
        _ => return Err(PoseidonError::Arity { got: inputs.len() }),
    })
}

/// Poseidon on arkworks scalars of width 3 (the tree's inner loop, no wrapping).
#[inline]
pub(crate) fn hash2_fr(a: Fr, b: Fr) -> Fr {
    schedule3().hash(&[a, b])
}

/// `out[k]` = Poseidon(`pair(k)`) for every k: eight at a time on AVX-512 IFMA lanes where the
/// CPU has them (about six times the throughput of one-by-one hashing), else one by one.
pub(crate) fn hash2_fill(out: &mut [Fr], pair: impl Fn(usize) -> (Fr, Fr)) {
    #[allow(unused_mut)]
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if crate::lanes::available() {
        for (c, chunk) in out.chunks_exact_mut(8).enumerate() {
            let (mut left, mut right) = ([Fr::zero(); 8], [Fr::zero(); 8]);
            for k in 0..8 {
                (left[k], right[k]) = pair(c * 8 + k);
            }
            chunk.copy_from_slice(&lanes::hash2_x8(&left, &right));
        }
        done = out.len() / 8 * 8;
    }
    for (k, o) in out.iter_mut().enumerate().skip(done) {
        let (a, b) = pair(k);
        *o = hash2_fr(a, b);
    }
}

/// Poseidon of two inputs for many pairs at once (a tree level, a batch of commitments): the same
/// values as [`poseidon2`] on each pair, with the lanes' throughput where the CPU has AVX-512 IFMA.
pub fn poseidon2_many(pairs: &[(Field, Field)]) -> Vec<Field> {
    let mut out = vec![Fr::zero(); pairs.len()];
    hash2_fill(&mut out, |k| (pairs[k].0.fr(), pairs[k].1.fr()));
    out.into_iter().map(Field::from_fr).collect()
}

/// The textbook permutation (every round adds a full constant vector and multiplies by the
/// dense MDS). Slow; kept as the reference the fast schedule is tested and benchmarked against.
pub fn reference_hash(inputs: &[Field]) -> Result<Field, PoseidonError> {
    fn run<const T: usize>(inputs: &[Field]) -> Field {
        let p = plain::<T>();
        let mut state = [Fr::zero(); T];
        for (s, i) in state[1..].iter_mut().zip(inputs) {
            *s = i.fr();
        }
        let half = FULL_ROUNDS / 2;
        for (r, c) in p.constants.iter().enumerate() {
            for i in 0..T {
                state[i] += c[i];
            }
            if r < half || r >= half + p.partial_rounds {
                for s in state.iter_mut() {
                    *s = pow5(*s);
                }
            } else {
                state[0] = pow5(state[0]);
            }
            state = mat_vec(&p.mds, &state);
        }
        Field::from_fr(state[0])
    }
    Ok(match inputs.len() {
        1 => run::<2>(inputs),
        2 => run::<3>(inputs),
        3 => run::<4>(inputs),
        4 => run::<5>(inputs),
        got => return Err(PoseidonError::Arity { got }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn fast_schedule_matches_reference() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for n in 1..=MAX_INPUTS {
            for _ in 0..20 {
                let inputs: Vec<Field> = (0..n)
                    .map(|_| Field::from_le_bytes_mod_order(&rng.gen::<[u8; 32]>()))
                    .collect();
                assert_eq!(
                    poseidon_hash(&inputs).unwrap(),
                    reference_hash(&inputs).unwrap(),
                    "{n} inputs"
                );
            }
        }
    }

    #[test]
    fn many_pairs_equal_one_by_one() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let mut pairs: Vec<(Field, Field)> = (0..37)
            .map(|_| {
                (
                    Field::from_le_bytes_mod_order(&rng.gen::<[u8; 32]>()),
                    Field::from_le_bytes_mod_order(&rng.gen::<[u8; 32]>()),
                )
            })
            .collect();
        pairs[3] = (Field::ZERO, Field::ZERO);
        pairs[4] = (Field::from_fr(-Fr::one()), Field::from_fr(-Fr::one()));
        let want: Vec<Field> = pairs.iter().map(|&(a, b)| poseidon2(a, b)).collect();
        assert_eq!(poseidon2_many(&pairs), want);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(crate::lanes::scalar_only(|| poseidon2_many(&pairs)), want, "the scalar path");
        assert!(poseidon2_many(&[]).is_empty());
    }

    #[test]
    fn arity_is_checked() {
        assert_eq!(poseidon_hash(&[]), Err(PoseidonError::Arity { got: 0 }));
        assert_eq!(poseidon_hash(&[Field::ONE; 5]), Err(PoseidonError::Arity { got: 5 }));
    }

    #[test]
    fn circomlib_known_answers() {
        // Poseidon([1, 2]) from circomlib's own test suite.
        let out = poseidon2(Field::from_u64(1), Field::from_u64(2));
        assert_eq!(
            out.to_string(),
            "7853200120776062878684798364095072458815029376092732009249414926327459813530"
        );
    }
}
