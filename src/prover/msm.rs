//! Fixed-base multi-scalar multiplication for the proving key's query vectors.
//!
//! The bases of a Groth16 proving key never change, so each base Pᵢ gets a table of its window
//! multiples 2^{c·j}·Pᵢ (j < W, W = ⌈254/c⌉ windows). A product Σ sᵢ·Pᵢ then needs a single set
//! of 2^{c−1} buckets for all windows: each signed c-bit digit d of sᵢ in window j adds
//! ±2^{c·j}·Pᵢ to bucket |d|, and Σ_k k·bucket_k is the result (one running-sum pass, no
//! doublings). Bucket additions are done in affine coordinates, many at once with one shared
//! inversion (Montgomery's trick): ~6 field multiplications per addition instead of ~11 for a
//! mixed Jacobian addition.
//!
//! The batches and the final bucket sum run on eight lanes ([`crate::lanes`]) where the CPU has
//! them; the coordinate field says how ([`CoordinateField`]), and every field has the scalar path.

use ark_bn254::{Fq, Fq2};
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{AdditiveGroup, BigInt, Field, PrimeField, Zero};
use rayon::prelude::*;

/// Window width in bits.
pub(crate) const WINDOW: usize = 13;
/// Windows per 254-bit scalar with signed digits.
pub(crate) const WINDOWS: usize = 254usize.div_ceil(WINDOW);
const BUCKETS: usize = 1 << (WINDOW - 1);
/// Bucket additions collected before one shared inversion.
const BATCH: usize = 512;
/// Rows per parallel task in [`FixedBaseTable::msm`]: each task pays one bucket pass
/// (2·2^{c−1} additions), so tasks stay large.
pub(crate) const CHUNK: usize = 4096;

/// The coordinate field of a curve whose MSMs the bucket adder computes: BN254's Fq (G1) and
/// Fq2 (G2) hand their batches to the eight-lane code when the CPU has it. Each method returns
/// None (or false) where lanes do not run; the scalar code then does the work.
pub(crate) trait CoordinateField: Field {
    /// For every k: `buckets[idx[k]] += pts[k]` in affine coordinates with one shared inversion
    /// (distinct, filled buckets; `pts[k].x != buckets[idx[k]].x`). False if not done.
    fn add_batch_on_lanes(
        buckets: &mut [Xy<Self>],
        idx: &[u32],
        pts: &[Xy<Self>],
        scratch: &mut LaneScratch,
    ) -> bool;

    /// The eight lanes' `[Σ Bᵢ, Σ (i+1)·Bᵢ]` over consecutive eighths of the buckets, in
    /// homogeneous projective coordinates (`b3` is three times the curve's b). None if not done.
    fn bucket_sums_on_lanes(
        buckets: &[Xy<Self>],
        filled: &[bool],
        b3: Self,
    ) -> Option<[[[Self; 3]; 2]; 8]>;
}

/// The eight-lane code's scratch space, kept by a bucket adder between batches.
#[cfg(target_arch = "x86_64")]
pub(crate) type LaneScratch = crate::lanes::Scratch;
/// The eight-lane code's scratch space (none: lanes run on x86_64 only).
#[cfg(not(target_arch = "x86_64"))]
pub(crate) type LaneScratch = ();

impl CoordinateField for Fq {
    fn add_batch_on_lanes(
        buckets: &mut [Xy<Self>],
        idx: &[u32],
        pts: &[Xy<Self>],
        scratch: &mut LaneScratch,
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        if crate::lanes::available() {
            crate::lanes::add_batch::<Fq, 1>(buckets, idx, pts, scratch);
            return true;
        }
        let _ = (buckets, idx, pts, scratch);
        false
    }

    fn bucket_sums_on_lanes(
        buckets: &[Xy<Self>],
        filled: &[bool],
        b3: Self,
    ) -> Option<[[[Self; 3]; 2]; 8]> {
        #[cfg(target_arch = "x86_64")]
        if crate::lanes::available() {
            return Some(crate::lanes::bucket_sums::<Fq, 1>(buckets, filled, b3));
        }
        let _ = (buckets, filled, b3);
        None
    }
}

impl CoordinateField for Fq2 {
    fn add_batch_on_lanes(
        buckets: &mut [Xy<Self>],
        idx: &[u32],
        pts: &[Xy<Self>],
        scratch: &mut LaneScratch,
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        if crate::lanes::available() {
            crate::lanes::add_batch::<Fq2, 2>(buckets, idx, pts, scratch);
            return true;
        }
        let _ = (buckets, idx, pts, scratch);
        false
    }

    fn bucket_sums_on_lanes(
        buckets: &[Xy<Self>],
        filled: &[bool],
        b3: Self,
    ) -> Option<[[[Self; 3]; 2]; 8]> {
        #[cfg(target_arch = "x86_64")]
        if crate::lanes::available() {
            return Some(crate::lanes::bucket_sums::<Fq2, 2>(buckets, filled, b3));
        }
        let _ = (buckets, filled, b3);
        None
    }
}

/// The window multiples of a list of bases: `points[i·WINDOWS + j] = 2^{WINDOW·j}·Pᵢ`.
pub(crate) struct FixedBaseTable<P: SWCurveConfig> {
    points: Vec<Affine<P>>,
}

impl<P: SWCurveConfig<BaseField: CoordinateField>> FixedBaseTable<P> {
    /// The window multiples of `bases` (infinity stays infinity and is skipped by the sums).
    pub(crate) fn new(bases: &[Affine<P>]) -> Self {
        let points: Vec<Affine<P>> = bases
            .par_chunks(256)
            .flat_map_iter(|chunk| {
                let mut proj = Vec::with_capacity(chunk.len() * WINDOWS);
                for b in chunk {
                    let mut p: Projective<P> = (*b).into();
                    for j in 0..WINDOWS {
                        proj.push(p);
                        if j + 1 < WINDOWS {
                            for _ in 0..WINDOW {
                                p.double_in_place();
                            }
                        }
                    }
                }
                Projective::normalize_batch(&proj)
            })
            .collect();
        FixedBaseTable { points }
    }

    /// The number of bases.
    pub(crate) fn len(&self) -> usize {
        self.points.len() / WINDOWS
    }

    /// Appends the table in its raw form (for the key cache): the number of points (u64 LE),
    /// then per point the limbs of x and y as stored (Montgomery form, 64-bit LE words), the point
    /// at infinity as x = y = 0 (not on the curve). Reading it back is a copy, no arithmetic.
    pub(crate) fn write_raw(&self, out: &mut Vec<u8>)
    where
        P::BaseField: Field<BasePrimeField = Fq>,
    {
        out.extend_from_slice(&(self.points.len() as u64).to_le_bytes());
        let coords = P::BaseField::extension_degree() as usize * 2;
        out.reserve(self.points.len() * coords * 32);
        for p in &self.points {
            let (x, y) = p.xy().unwrap_or((P::BaseField::ZERO, P::BaseField::ZERO));
            for e in x.to_base_prime_field_elements().chain(y.to_base_prime_field_elements()) {
                for limb in e.0 .0 {
                    out.extend_from_slice(&limb.to_le_bytes());
                }
            }
        }
    }

    /// Reads a table written by [`FixedBaseTable::write_raw`], advancing `r`; None if the bytes
    /// are not a whole table. The limbs are trusted (the cache entry's checksum was verified).
    pub(crate) fn read_raw(r: &mut &[u8]) -> Option<Self>
    where
        P::BaseField: Field<BasePrimeField = Fq>,
    {
        let (len, rest) = r.split_first_chunk::<8>()?;
        let len = usize::try_from(u64::from_le_bytes(*len)).ok()?;
        let degree = P::BaseField::extension_degree() as usize;
        let bytes = len.checked_mul(degree * 2 * 32)?;
        if len % WINDOWS != 0 || rest.len() < bytes {
            return None;
        }
        let (body, rest) = rest.split_at(bytes);
        let fq = |b: &[u8]| {
            Fq::new_unchecked(BigInt(std::array::from_fn(|k| {
                u64::from_le_bytes(b[8 * k..8 * k + 8].try_into().expect("8 bytes"))
            })))
        };
        let points = body
            .chunks_exact(degree * 2 * 32)
            .map(|c| {
                let (x, y) = c.split_at(degree * 32);
                let x = P::BaseField::from_base_prime_field_elems(x.chunks_exact(32).map(fq))?;
                let y = P::BaseField::from_base_prime_field_elems(y.chunks_exact(32).map(fq))?;
                Some(if x.is_zero() && y.is_zero() {
                    Affine::identity()
                } else {
                    Affine::new_unchecked(x, y)
                })
            })
            .collect::<Option<Vec<_>>>()?;
        *r = rest;
        Some(FixedBaseTable { points })
    }

    /// Σ scalars[i]·Pᵢ over all rows, in parallel chunks of at most [`CHUNK`] rows.
    pub(crate) fn msm(&self, scalars: &[P::ScalarField]) -> Projective<P> {
        assert_eq!(scalars.len(), self.len(), "one scalar per base");
        let chunks = self.len().div_ceil(CHUNK).max(1);
        let chunk = self.len().div_ceil(chunks).max(1);
        scalars
            .par_chunks(chunk)
            .enumerate()
            .map(|(c, s)| self.msm_rows(s.iter().enumerate().map(|(k, s)| (c * chunk + k, *s))))
            .reduce(Projective::zero, |a, b| a + b)
    }

    /// Σ s·P_row over the given (row, scalar) pairs, on the calling thread.
    pub(crate) fn msm_rows(
        &self,
        terms: impl IntoIterator<Item = (usize, P::ScalarField)>,
    ) -> Projective<P> {
        const { assert!(WINDOWS * WINDOW > 254, "the last window must leave room for a carry") };
        debug_assert!(
            P::ScalarField::MODULUS_BIT_SIZE <= 254,
            "windows are laid out for scalars of at most 254 bits"
        );
        let mut acc = BucketAdder::<P>::new();
        for (row, s) in terms {
            let row = &self.points[row * WINDOWS..(row + 1) * WINDOWS];
            if row[0].is_zero() {
                continue;
            }
            let limbs = s.into_bigint();
            let limbs = limbs.as_ref();
            let mut carry = 0u64;
            for (j, p) in row.iter().enumerate() {
                let d = window_bits(limbs, j * WINDOW) + carry;
                if d == 0 {
                    carry = 0;
                } else if d > BUCKETS as u64 {
                    // Negative digit d − 2^c; carry one into the next window.
                    carry = 1;
                    let neg = (1u64 << WINDOW) - d;
                    if neg != 0 {
                        acc.add(neg as usize - 1, p.x, -p.y);
                    }
                } else {
                    carry = 0;
                    acc.add(d as usize - 1, p.x, p.y);
                }
            }
            debug_assert_eq!(carry, 0, "a 254-bit scalar leaves room for the last carry");
        }
        acc.into_sum()
    }
}

/// WINDOW bits of a little-endian limb array starting at bit `at`.
#[inline(always)]
fn window_bits(limbs: &[u64], at: usize) -> u64 {
    let (w, b) = (at / 64, at % 64);
    let mut v = limbs.get(w).copied().unwrap_or(0) >> b;
    if b + WINDOW > 64 {
        v |= limbs.get(w + 1).copied().unwrap_or(0) << (64 - b);
    }
    v & ((1 << WINDOW) - 1)
}

/// An affine point (x, y); never the point at infinity (that is a bucket's `filled == false`).
#[derive(Clone, Copy)]
pub(crate) struct Xy<F> {
    /// The x coordinate.
    pub(crate) x: F,
    /// The y coordinate.
    pub(crate) y: F,
}

/// Affine buckets filled by batched additions.
struct BucketAdder<P: SWCurveConfig> {
    buckets: Vec<Xy<P::BaseField>>,
    filled: Vec<bool>,
    /// The batch a bucket has a pending addition in (a second one must wait for the next batch).
    busy: Vec<u32>,
    batch: u32,
    /// The additions of the current batch: bucket indices and points, side by side.
    pending_idx: Vec<u32>,
    pending_pts: Vec<Xy<P::BaseField>>,
    deferred: Vec<(u32, Xy<P::BaseField>)>,
    /// Per-bucket Jacobian sums for additions that found their bucket busy while `deferred` was
    /// full (many equal digits, e.g. a witness of bits): keeps the work linear.
    overflow: Option<Vec<Projective<P>>>,
    inv: Vec<P::BaseField>,
    lanes: LaneScratch,
}

impl<P: SWCurveConfig<BaseField: CoordinateField>> BucketAdder<P> {
    fn new() -> Self {
        BucketAdder {
            buckets: vec![Xy { x: P::BaseField::ZERO, y: P::BaseField::ZERO }; BUCKETS],
            filled: vec![false; BUCKETS],
            busy: vec![0; BUCKETS],
            batch: 1,
            pending_idx: Vec::with_capacity(BATCH),
            pending_pts: Vec::with_capacity(BATCH),
            deferred: Vec::new(),
            overflow: None,
            inv: Vec::with_capacity(BATCH),
            lanes: Default::default(),
        }
    }

    #[inline]
    fn add(&mut self, bucket: usize, x: P::BaseField, y: P::BaseField) {
        let p = Xy { x, y };
        if self.busy[bucket] == self.batch {
            if self.deferred.len() < BATCH {
                self.deferred.push((bucket as u32, p));
            } else {
                self.add_to_overflow(bucket, p);
            }
            return;
        }
        if !self.filled[bucket] {
            self.buckets[bucket] = p;
            self.filled[bucket] = true;
            return;
        }
        let b = &mut self.buckets[bucket];
        if b.x == p.x {
            // Doubling or cancellation: rare, done directly.
            let sum = (Projective::from(Affine::<P>::new_unchecked(b.x, b.y))
                + Affine::<P>::new_unchecked(p.x, p.y))
            .into_affine();
            match sum.xy() {
                Some((x, y)) => *b = Xy { x, y },
                None => self.filled[bucket] = false,
            }
            return;
        }
        self.busy[bucket] = self.batch;
        self.pending_idx.push(bucket as u32);
        self.pending_pts.push(p);
        if self.pending_idx.len() == BATCH {
            self.flush();
        }
    }

    /// Applies the pending additions with one inversion, then retries the deferred ones (those
    /// that meet a busy bucket again wait for the next batch, or go to the Jacobian side sums).
    fn flush(&mut self) {
        self.apply_pending();
        let mut waiting = std::mem::take(&mut self.deferred);
        for &(b, p) in &waiting {
            self.add(b as usize, p.x, p.y);
        }
        if self.deferred.is_empty() {
            waiting.clear();
            self.deferred = waiting; // keep the allocation
        }
    }

    /// Adds to a bucket's Jacobian side sum (allocated on first use).
    fn add_to_overflow(&mut self, bucket: usize, p: Xy<P::BaseField>) {
        self.overflow.get_or_insert_with(|| vec![Projective::zero(); BUCKETS])[bucket] +=
            Affine::<P>::new_unchecked(p.x, p.y);
    }

    fn apply_pending(&mut self) {
        if self.pending_idx.is_empty() {
            return;
        }
        let on_lanes = P::BaseField::add_batch_on_lanes(
            &mut self.buckets,
            &self.pending_idx,
            &self.pending_pts,
            &mut self.lanes,
        );
        if !on_lanes {
            self.apply_pending_scalar();
        }
        self.pending_idx.clear();
        self.pending_pts.clear();
        self.batch += 1;
    }

    fn apply_pending_scalar(&mut self) {
        // Prefix products of the denominators x_p − x_b, one inversion, then walk back.
        self.inv.clear();
        let mut acc = P::BaseField::ONE;
        for (&b, p) in self.pending_idx.iter().zip(&self.pending_pts) {
            self.inv.push(acc);
            acc *= p.x - self.buckets[b as usize].x;
        }
        let mut acc_inv = acc.inverse().expect("distinct x coordinates");
        for k in (0..self.pending_idx.len()).rev() {
            let (b, p) = (self.pending_idx[k], self.pending_pts[k]);
            let bucket = &mut self.buckets[b as usize];
            let dx = p.x - bucket.x;
            let inv = acc_inv * self.inv[k];
            acc_inv *= dx;
            let lambda = (p.y - bucket.y) * inv;
            let x3 = lambda.square() - bucket.x - p.x;
            let y3 = lambda * (bucket.x - x3) - bucket.y;
            bucket.x = x3;
            bucket.y = y3;
        }
    }

    /// Σ (k+1)·bucket_k.
    fn into_sum(mut self) -> Projective<P> {
        self.flush();
        self.apply_pending();
        // Whatever still waits for a busy bucket (only long runs of equal digits) is added in
        // Jacobian form rather than one batch per addition.
        for (b, p) in std::mem::take(&mut self.deferred) {
            self.add_to_overflow(b as usize, p);
        }
        self.fold_overflow();
        if let Some(total) = self.bucket_sum_on_lanes() {
            return total;
        }
        let mut running = Projective::<P>::zero();
        let mut sum = Projective::<P>::zero();
        for (b, &filled) in self.buckets.iter().zip(&self.filled).rev() {
            if filled {
                running += Affine::<P>::new_unchecked(b.x, b.y);
            }
            sum += running;
        }
        sum
    }

    /// Folds the Jacobian side sums into their (affine) buckets, with one shared inversion.
    fn fold_overflow(&mut self) {
        let Some(extra) = self.overflow.take() else {
            return;
        };
        let ks: Vec<usize> = (0..BUCKETS).filter(|&k| !extra[k].is_zero()).collect();
        let sums: Vec<Projective<P>> = ks
            .iter()
            .map(|&k| {
                if self.filled[k] {
                    extra[k] + Affine::<P>::new_unchecked(self.buckets[k].x, self.buckets[k].y)
                } else {
                    extra[k]
                }
            })
            .collect();
        for (&k, p) in ks.iter().zip(Projective::normalize_batch(&sums)) {
            self.filled[k] = !p.is_zero();
            if let Some((x, y)) = p.xy() {
                self.buckets[k] = Xy { x, y };
            }
        }
    }

    /// Σ (k+1)·bucket_k with eight lanes of consecutive buckets summed side by side, where the
    /// coordinate field runs on lanes (None elsewhere).
    fn bucket_sum_on_lanes(&self) -> Option<Projective<P>> {
        let b3 = P::COEFF_B.double() + P::COEFF_B;
        let lanes = P::BaseField::bucket_sums_on_lanes(&self.buckets, &self.filled, b3)?;
        // Lane s covers buckets m·s .. m·s + m − 1: its weights are offset by m·s.
        let m = (BUCKETS / 8) as u64;
        let jacobian = |[x, y, z]: [P::BaseField; 3]| {
            if z.is_zero() {
                Projective::<P>::zero()
            } else {
                Projective::new_unchecked(x * z, y * z.square(), z)
            }
        };
        Some(lanes.iter().enumerate().fold(Projective::zero(), |acc, (s, [running, sum])| {
            acc + jacobian(*sum) + jacobian(*running).mul_bigint([m * s as u64])
        }))
    }
}

#[cfg(test)]
mod tests {
    use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
    use ark_ec::{CurveGroup, PrimeGroup, VariableBaseMSM};
    use ark_ff::{UniformRand, Zero};
    use rand::SeedableRng;

    use super::*;

    fn check<P: SWCurveConfig<BaseField: CoordinateField>>(
        bases: &[Affine<P>],
        scalars: &[P::ScalarField],
    ) where
        Projective<P>: VariableBaseMSM<MulBase = Affine<P>, ScalarField = P::ScalarField>,
    {
        let table = FixedBaseTable::new(bases);
        let want = <Projective<P> as VariableBaseMSM>::msm_unchecked(bases, scalars);
        assert_eq!(table.msm(scalars), want);
        assert_eq!(table.msm_rows(scalars.iter().copied().enumerate()), want);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            crate::lanes::scalar_only(|| table.msm_rows(scalars.iter().copied().enumerate())),
            want,
            "the scalar path"
        );
    }

    #[test]
    fn equals_variable_base_msm_on_random_and_edge_scalars() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let g = G1Projective::generator();
        let mut bases: Vec<G1Affine> = G1Projective::normalize_batch(
            &(0..300).map(|_| G1Projective::rand(&mut rng)).collect::<Vec<_>>(),
        );
        // Repeated and opposite bases force bucket doublings and cancellations; infinity is skipped.
        bases[10] = bases[11];
        bases[12] = bases[11];
        bases[20] = -bases[21];
        bases[30] = G1Affine::zero();
        bases[31] = g.into_affine();
        let mut scalars: Vec<Fr> = (0..300).map(|_| Fr::rand(&mut rng)).collect();
        for (i, s) in [
            Fr::zero(),
            Fr::from(1u64),
            -Fr::from(1u64),
            Fr::from(1u64 << 12),
            Fr::from((1u64 << 13) - 1),
            Fr::from(1u64 << 63),
        ]
        .into_iter()
        .enumerate()
        {
            scalars[40 + i] = s;
        }
        scalars[21] = scalars[20];
        scalars[11] = scalars[10];
        check(&bases, &scalars);
        // All-equal scalars on equal bases: every bucket addition is a doubling.
        check(&vec![bases[0]; 50], &vec![scalars[0]; 50]);
        check(&vec![bases[0]; 50], &vec![Fr::zero(); 50]);
        // Thousands of equal small scalars (bits) all land in one bucket: the busy-bucket queue
        // overflows into the Jacobian side sums.
        let many: Vec<G1Affine> = G1Projective::normalize_batch(
            &(0..3000).map(|_| G1Projective::rand(&mut rng)).collect::<Vec<_>>(),
        );
        let bits: Vec<Fr> = (0..3000).map(|i| Fr::from((i % 7 != 0) as u64)).collect();
        check(&many, &bits);
    }

    #[test]
    fn equals_variable_base_msm_in_g2_and_across_chunks() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
        let bases: Vec<G2Affine> = G2Projective::normalize_batch(
            &(0..64).map(|_| G2Projective::rand(&mut rng)).collect::<Vec<_>>(),
        );
        check(&bases, &(0..64).map(|_| Fr::rand(&mut rng)).collect::<Vec<_>>());
        let g1: Vec<G1Affine> = G1Projective::normalize_batch(
            &(0..CHUNK + 5)
                .map(|i| G1Projective::generator() * Fr::from(i as u64 + 1))
                .collect::<Vec<_>>(),
        );
        check(&g1, &(0..CHUNK + 5).map(|_| Fr::rand(&mut rng)).collect::<Vec<_>>());
    }

    #[test]
    fn a_table_round_trips_through_its_raw_form() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let mut g1: Vec<G1Affine> = G1Projective::normalize_batch(
            &(0..5).map(|_| G1Projective::rand(&mut rng)).collect::<Vec<_>>(),
        );
        g1[2] = G1Affine::zero();
        let g2: Vec<G2Affine> = G2Projective::normalize_batch(
            &(0..3).map(|_| G2Projective::rand(&mut rng)).collect::<Vec<_>>(),
        );
        let (t1, t2) = (FixedBaseTable::new(&g1), FixedBaseTable::new(&g2));
        let mut bytes = Vec::new();
        t1.write_raw(&mut bytes);
        t2.write_raw(&mut bytes);
        let r = &mut &bytes[..];
        let back1 = FixedBaseTable::<ark_bn254::g1::Config>::read_raw(r).unwrap();
        let back2 = FixedBaseTable::<ark_bn254::g2::Config>::read_raw(r).unwrap();
        assert!(r.is_empty());
        assert_eq!((back1.points, back2.points), (t1.points.clone(), t2.points.clone()));
        // Truncated or not a whole number of rows: refused.
        assert!(FixedBaseTable::<ark_bn254::g1::Config>::read_raw(&mut &bytes[..bytes.len() / 3])
            .is_none());
        let mut odd = bytes.clone();
        odd[..8].copy_from_slice(&((WINDOWS as u64) * 5 - 1).to_le_bytes());
        assert!(FixedBaseTable::<ark_bn254::g1::Config>::read_raw(&mut &odd[..]).is_none());
    }
}
