//! circomlib's `Poseidon(n)` template signal by signal: the values of the signals that circom
//! keeps as witness wires (after `--O2` substituted every linearly determined signal away), in
//! the order circom numbers them. The native witness (`crate::circuit::native`) writes one such
//! block per hash of the circuit.
//!
//! circomlib computes the permutation in an equivalent form: the round constant of a round is
//! added after the previous round's S-boxes (pulled back through the linear layer `A`, so
//! `A⁻¹·c`), and the partial rounds run on a sparse basis. The wires that survive are all
//! independent of that basis:
//! - `ark[1..=7].out`: an S-box layer's outputs plus the next round's constant pulled back,
//!   `z + A⁻¹·c` (for `ark[4]`, before the partial rounds, the constant also carries every
//!   partial round's constant except the part each adds to element 0 after its S-box);
//!   `ark[1].out[0]` is constant (the capacity element starts at 0), so it is no wire;
//! - `mixLast[0].in[0..t-1]`: the last S-box layer's outputs (the last one is substituted);
//! - `mixS[r].out[0]`: the input of the next partial S-box (element 0 of the textbook state);
//! - `sigmaF[r][j].in2, in4` and `sigmaP[r].in2, in4`: squares and fourth powers of every
//!   S-box input, except the constant `sigmaF[0][0]`.

use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_ff::{Field as _, One, Zero};

use super::{mat_vec, plain, schedule2, schedule3, schedule4, Schedule, FULL_ROUNDS};

/// Partial rounds of circomlib's Poseidon for state width `t` (2, 3, 4: 56, 57, 56).
const fn partial_rounds(t: usize) -> usize {
    match t {
        3 => 57,
        _ => 56,
    }
}

/// Number of witness wires of one `Poseidon(inputs)` (1 to 3 inputs): 212, 239, 260.
pub(crate) const fn wires(inputs: usize) -> usize {
    let t = inputs + 1;
    // ark outs, mixLast ins, mixS outs, full S-box squares, partial S-box squares.
    (7 * t - 1) + (t - 1) + partial_rounds(t) + 2 * (FULL_ROUNDS * t - 1) + 2 * partial_rounds(t)
}

/// The constants each `ark[k]` (k = 1..=7) adds after an S-box layer: `A⁻¹·c` of the round that
/// follows (with the partial rounds' constants folded into `ark[4]`).
struct ArkConstants<const T: usize> {
    ark: [[Fr; T]; FULL_ROUNDS - 1],
}

/// Inverse of a T×T matrix (Gauss-Jordan; the MDS matrix is invertible).
fn inverse<const T: usize>(m: &[[Fr; T]; T]) -> [[Fr; T]; T] {
    let mut a = *m;
    let mut inv = [[Fr::zero(); T]; T];
    for (i, row) in inv.iter_mut().enumerate() {
        row[i] = Fr::one();
    }
    for col in 0..T {
        let pivot = (col..T).find(|&r| !a[r][col].is_zero()).expect("the MDS matrix is invertible");
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let p = a[col][col].inverse().expect("non-zero pivot");
        for j in 0..T {
            a[col][j] *= p;
            inv[col][j] *= p;
        }
        for r in 0..T {
            if r != col && !a[r][col].is_zero() {
                let f = a[r][col];
                for j in 0..T {
                    let (ac, ic) = (a[col][j], inv[col][j]);
                    a[r][j] -= f * ac;
                    inv[r][j] -= f * ic;
                }
            }
        }
    }
    inv
}

impl<const T: usize> ArkConstants<T> {
    fn derive() -> Self {
        let p = plain::<T>();
        let a_inv = inverse(&p.mds);
        let half = FULL_ROUNDS / 2;
        let rp = p.partial_rounds;
        let c = &p.constants;
        // Fold the constants of the partial rounds and of the first full round after them back
        // to the start of the partial rounds: pulled back through A, element 0 is added after
        // the S-box of the round before (circom's `C[5t + r]`), the rest passes the S-box
        // untouched and joins that round's constant.
        let mut pending = c[half + rp];
        for round in (half..half + rp).rev() {
            let pulled = mat_vec(&a_inv, &pending);
            pending = c[round];
            for i in 1..T {
                pending[i] += pulled[i];
            }
        }
        let ark = std::array::from_fn(|k| {
            // ark[k + 1] precedes round k + 1 of the first half, the folded partial rounds
            // (k + 1 = 4), or round k - 3 of the second half.
            let next = match k + 1 {
                n if n < half => c[n],
                n if n == half => pending,
                n => c[half + rp + (n - half)],
            };
            mat_vec(&a_inv, &next)
        });
        ArkConstants { ark }
    }
}

/// A write position in a block's section.
struct Cursor<'a> {
    out: &'a mut [Fr],
    at: usize,
}

impl Cursor<'_> {
    #[inline(always)]
    fn push(&mut self, v: Fr) {
        self.out[self.at] = v;
        self.at += 1;
    }
}

/// One full round: the S-boxes of `state + c` (recording their squares in `sigma_f`), then
/// `ark[round + 1]` (`after`, when there is one), then the linear layer. Returns the S-box
/// inputs and outputs.
#[inline(always)]
fn full_round<const T: usize>(
    state: &mut [Fr; T],
    mds: &[[Fr; T]; T],
    round: usize,
    c: &[Fr; T],
    after: Option<&[Fr; T]>,
    sigma_f: &mut Cursor<'_>,
    ark: &mut Cursor<'_>,
) -> ([Fr; T], [Fr; T]) {
    let mut y = [Fr::zero(); T];
    let mut z = [Fr::zero(); T];
    for j in 0..T {
        y[j] = state[j] + c[j];
        let y2 = y[j].square();
        let y4 = y2.square();
        z[j] = y4 * y[j];
        if round == 0 && j == 0 {
            continue; // the constant sigmaF[0][0] and ark[1].out[0]
        }
        sigma_f.push(y2);
        sigma_f.push(y4);
        if let Some(k) = after {
            ark.push(z[j] + k[j]);
        }
    }
    *state = mat_vec(mds, &z);
    (y, z)
}

/// Writes the wires of one hash of width T into `out` (exactly [`wires`]`(T - 1)` long) and
/// returns the hash.
fn trace<const T: usize>(
    s: &Schedule<T>,
    k: &ArkConstants<T>,
    inputs: &[Fr],
    out: &mut [Fr],
) -> Fr {
    let rp = s.partial.len();
    debug_assert_eq!(inputs.len(), T - 1);
    debug_assert_eq!(out.len(), wires(T - 1));
    let (ark, rest) = out.split_at_mut(7 * T - 1);
    let (last, rest) = rest.split_at_mut(T - 1);
    let (mix_s, rest) = rest.split_at_mut(rp);
    let (sigma_f, sigma_p) = rest.split_at_mut(2 * (FULL_ROUNDS * T - 1));
    let mut ark = Cursor { out: ark, at: 0 };
    let mut sigma_f = Cursor { out: sigma_f, at: 0 };

    let mut state = [Fr::zero(); T];
    state[1..].copy_from_slice(inputs);
    for (round, c) in s.first_full.iter().enumerate() {
        full_round(&mut state, &s.mds, round, c, Some(&k.ark[round]), &mut sigma_f, &mut ark);
    }
    for (r, (kc, sp)) in s.partial.iter().enumerate() {
        let y = state[0] + kc;
        if r > 0 {
            mix_s[r - 1] = y;
        }
        let y2 = y.square();
        let y4 = y2.square();
        sigma_p[2 * r] = y2;
        sigma_p[2 * r + 1] = y4;
        let s0 = y4 * y;
        let mut new0 = sp.row[0] * s0;
        for (row, v) in sp.row.iter().zip(state.iter()).skip(1) {
            new0 += *row * *v;
        }
        for (v, col) in state.iter_mut().zip(sp.col.iter()).skip(1) {
            *v += *col * s0;
        }
        state[0] = new0;
    }
    let before = state;
    for (i, v) in state.iter_mut().enumerate().skip(1) {
        *v = (1..T).fold(Fr::zero(), |acc, j| acc + s.carried[i][j] * before[j]);
    }
    let half = FULL_ROUNDS / 2;
    let mut z = [Fr::zero(); T];
    for (r, c) in s.last_full.iter().enumerate() {
        let round = half + r;
        let after = k.ark.get(round);
        let (y, zr) = full_round(&mut state, &s.mds, round, c, after, &mut sigma_f, &mut ark);
        if r == 0 {
            // The partial rounds' last mixS output is the next S-box layer's element 0.
            mix_s[rp - 1] = y[0];
        }
        z = zr;
    }
    debug_assert_eq!((ark.at, sigma_f.at), (7 * T - 1, 2 * (FULL_ROUNDS * T - 1)));
    last.copy_from_slice(&z[..T - 1]);
    state[0]
}

macro_rules! ark_constants {
    ($name:ident, $t:literal) => {
        fn $name() -> &'static ArkConstants<$t> {
            static K: OnceLock<ArkConstants<$t>> = OnceLock::new();
            K.get_or_init(ArkConstants::derive)
        }
    };
}
ark_constants!(ark2, 2);
ark_constants!(ark3, 3);
ark_constants!(ark4, 4);

/// Poseidon of `inputs` (1 to 3 of them) with circom's wires written to `out`, which must be
/// [`wires`]`(inputs.len())` long.
pub(crate) fn hash_with_wires(inputs: &[Fr], out: &mut [Fr]) -> Fr {
    match inputs.len() {
        1 => trace(schedule2(), ark2(), inputs, out),
        2 => trace(schedule3(), ark3(), inputs, out),
        3 => trace(schedule4(), ark4(), inputs, out),
        n => unreachable!("the RLN circuit hashes 1 to 3 inputs, not {n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Field;
    use rand::SeedableRng;

    #[test]
    fn block_sizes_are_circoms() {
        // From the circuit's symbol file (`circom --sym`): Poseidon(1), (2), (3).
        assert_eq!([wires(1), wires(2), wires(3)], [212, 239, 260]);
    }

    #[test]
    fn the_hash_is_poseidons_and_every_wire_is_written() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for n in 1..=3 {
            let inputs: Vec<Fr> = (0..n).map(|_| ark_ff::UniformRand::rand(&mut rng)).collect();
            // A sentinel no wire takes (with overwhelming probability) shows unwritten slots.
            let sentinel = Fr::from(0xdead_beefu64);
            let mut out = vec![sentinel; wires(n)];
            let hash = hash_with_wires(&inputs, &mut out);
            let fields: Vec<Field> = inputs.iter().copied().map(Field::from_fr).collect();
            assert_eq!(Field::from_fr(hash), super::super::reference_hash(&fields).unwrap());
            assert!(!out.contains(&sentinel), "{n} inputs: a wire was not written");
        }
    }
}
