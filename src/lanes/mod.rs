//! Eight field elements at once: the hot loops on eight 64-bit lanes of AVX-512 registers, using
//! the IFMA instructions (52-bit multiply-add). BN254 field arithmetic ([`arith`]), the MSM
//! bucket adder's batched affine additions and bucket sums ([`points`]), and the quotient's FFTs
//! ([`fft`]). The batched Poseidon for tree levels (`poseidon::lanes`) builds on [`arith`].
//! Every caller keeps a scalar twin, which other CPUs (and `RLNKIT_SIMD=off`) run.
//!
//! A lane holds an element of Fq or Fr (modulus p: q or r, both just below 2^254) in five 52-bit
//! limbs, in Montgomery form for R = 2^260 and not fully reduced (below 85p). One `vpmadd52`
//! multiplies eight 52-bit limb pairs, so a Montgomery product of eight elements is about a
//! hundred instructions: on the Xeons this runs on it costs ~3.6 ns per element against ~19 ns
//! for arkworks' scalar multiplication.
//!
//! arkworks stores x·2^256 mod p; read as a 260-bit integer shifted left by four bits, that is
//! 16·(x·2^256) = x·2^260, the lane form, so loading is a shift and storing is one Montgomery
//! multiplication by 2^256 mod p and a final subtraction.
//!
//! Bounds: a product of inputs below αp and βp is below (1 + αβ·p/2^260)·p ≈ (1 + αβ/85)·p.
//! Each operation below states the bounds it relies on; everything stays below 2^260.
//!
//! Only used when the CPU has AVX-512 IFMA ([`available`]); otherwise the scalar code runs.

pub(crate) mod arith;
mod fft;
mod points;

use std::cell::Cell;
use std::sync::OnceLock;

pub(crate) use fft::CosetFft;
pub(crate) use points::{add_batch, bucket_sums, Scratch};

thread_local! {
    /// Set by [`scalar_only`]: this thread takes the scalar paths.
    static SCALAR_ONLY: Cell<bool> = const { Cell::new(false) };
}

/// Whether the lanes can run: the CPU has AVX-512 IFMA (checked once), `RLNKIT_SIMD` is not
/// `off`, and this thread is not inside [`scalar_only`].
pub(crate) fn available() -> bool {
    static CPU: OnceLock<bool> = OnceLock::new();
    let cpu = *CPU.get_or_init(|| {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512ifma")
            && std::env::var("RLNKIT_SIMD").map_or(true, |v| v != "off")
    });
    cpu && !SCALAR_ONLY.with(Cell::get)
}

/// Runs `f` with the lanes turned off on this thread (tests compare both paths on one machine).
#[cfg(test)]
pub(crate) fn scalar_only<R>(f: impl FnOnce() -> R) -> R {
    SCALAR_ONLY.with(|c| c.set(true));
    let out = f();
    SCALAR_ONLY.with(|c| c.set(false));
    out
}

#[cfg(test)]
mod tests {
    use ark_ff::UniformRand;
    use rand::SeedableRng;

    use super::arith::*;
    use super::available;
    use ark_bn254::Fq;
    use ark_ff::BigInt;

    #[test]
    fn lane_products_equal_arkworks() {
        if !available() {
            eprintln!("skipped: this CPU has no AVX-512 IFMA");
            return;
        }
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        for round in 0..50 {
            let mut a: [Fq; 8] = std::array::from_fn(|_| Fq::rand(&mut rng));
            let b: [Fq; 8] = std::array::from_fn(|_| Fq::rand(&mut rng));
            if round == 0 {
                a[0] = Fq::from(0u64);
                a[1] = -Fq::from(1u64);
            }
            let words =
                |v: &[Fq; 8]| std::array::from_fn(|k| std::array::from_fn(|l| v[l].0 .0[k]));
            let mut out = [[0u64; 8]; 4];
            // SAFETY: features checked above.
            unsafe {
                let p = mul::<BaseField>(&from_words(&words(&a)), &from_words(&words(&b)));
                to_words::<BaseField>(&p, &mut out);
            }
            for l in 0..8 {
                assert_eq!(
                    Fq::new_unchecked(BigInt(std::array::from_fn(|k| out[k][l]))),
                    a[l] * b[l]
                );
            }
        }
    }
}
