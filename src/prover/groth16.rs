//! Groth16 proving split into parts that can be cached and recombined.
//!
//! A proof is A = α + Σ wᵢ·Aᵢ + r·δ, B = β + Σ wᵢ·Bᵢ + s·δ (in G1 and G2), and
//! C = Σ_{aux} wᵢ·Lᵢ + Σ hⱼ·Hⱼ + s·A + r·B₁ − r·s·δ, the same computation as
//! `ark_groth16::Groth16::create_proof_with_reduction_and_matrices` with the circom reduction
//! (tests check that both give identical proofs for the same witness, r and s).
//!
//! The wire sums (`WireSums`) are linear in the witness, so a member proving several messages
//! under the same root can keep the sums of a previous witness and add only
//! Σ (wᵢ − w'ᵢ)·Pᵢ over the wires that changed. That is exact for any witness (no assumption about
//! which wires depend on the message): an unchanged wire contributes nothing, a changed one its
//! difference. Only the h part (quotient polynomial) is recomputed in full.
//!
//! Every multi-scalar product runs on the proving key's fixed-base tables ([`ProvingTables`],
//! see [`super::msm`]).

use ark_bn254::{g1, g2, Bn254, Fq, Fr, G1Projective, G2Projective};
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{Field, One, Zero};
use ark_groth16::{Proof, ProvingKey};
use ark_poly::{EvaluationDomain, GeneralEvaluationDomain};
use rayon::prelude::*;

use super::msm::FixedBaseTable;
use crate::circuit::ConstraintSystem;

/// The witness-linear parts of a proof: Σ wᵢ·Aᵢ, Σ wᵢ·B1ᵢ, Σ wᵢ·B2ᵢ over all wires (w₀ = 1) and
/// Σ wᵢ·Lᵢ over the auxiliary wires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireSums {
    pub a: G1Projective,
    pub b1: G1Projective,
    pub b2: G2Projective,
    pub l: G1Projective,
}

impl std::ops::Add for WireSums {
    type Output = WireSums;
    fn add(self, o: WireSums) -> WireSums {
        WireSums { a: self.a + o.a, b1: self.b1 + o.b1, b2: self.b2 + o.b2, l: self.l + o.l }
    }
}

/// No table row for this wire (its query point is infinity).
const NO_ROW: u32 = u32::MAX;

/// One query vector as a fixed-base table over its finite points, with the wire ↔ row maps.
pub struct QueryTable<P: SWCurveConfig> {
    table: FixedBaseTable<P>,
    /// The wire of each row.
    wires: Vec<u32>,
    /// The row of each wire, or `NO_ROW`.
    rows: Vec<u32>,
}

impl<P: SWCurveConfig<ScalarField = Fr>> QueryTable<P> {
    /// A table over `points[first_wire..]`'s finite points (point k is wire first_wire + k).
    fn new(points: &[Affine<P>], first_wire: usize) -> Self {
        let finite: Vec<usize> = (0..points.len()).filter(|&k| !points[k].is_zero()).collect();
        let bases: Vec<Affine<P>> = finite.iter().map(|&k| points[k]).collect();
        Self::from_parts(
            FixedBaseTable::new(&bases),
            finite.iter().map(|&k| (first_wire + k) as u32).collect(),
            first_wire + points.len(),
        )
    }

    fn from_parts(table: FixedBaseTable<P>, wires: Vec<u32>, num_wires: usize) -> Self {
        let mut rows = vec![NO_ROW; num_wires];
        for (row, &w) in wires.iter().enumerate() {
            rows[w as usize] = row as u32;
        }
        QueryTable { table, wires, rows }
    }

    /// Σ wᵢ·Pᵢ over a full witness.
    fn sum(&self, witness: &[Fr]) -> Projective<P> {
        let scalars: Vec<Fr> = self.wires.iter().map(|&w| witness[w as usize]).collect();
        self.table.msm(&scalars)
    }

    /// Σ δᵢ·Pᵢ over (wire, δ) pairs, on the calling thread.
    fn sum_sparse(&self, terms: &[(usize, Fr)]) -> Projective<P> {
        self.table.msm_rows(terms.iter().filter_map(|&(w, d)| {
            self.rows.get(w).filter(|&&r| r != NO_ROW).map(|&r| (r as usize, d))
        }))
    }
}

/// The proving key's queries as fixed-base tables (A, B in G1 and G2, L, H). About 40 MB for
/// the RLN circuit; built once per keys (~1 s on two cores) or read from the key cache.
pub struct ProvingTables {
    a: QueryTable<g1::Config>,
    b1: QueryTable<g1::Config>,
    b2: QueryTable<g2::Config>,
    l: QueryTable<g1::Config>,
    h: FixedBaseTable<g1::Config>,
}

impl ProvingTables {
    pub fn new(pk: &ProvingKey<Bn254>, num_inputs: usize) -> Self {
        let ((a, b1), (b2, (l, h))) = rayon::join(
            || {
                rayon::join(
                    || QueryTable::new(&pk.a_query, 0),
                    || QueryTable::new(&pk.b_g1_query, 0),
                )
            },
            || {
                rayon::join(
                    || QueryTable::new(&pk.b_g2_query, 0),
                    || {
                        rayon::join(
                            || QueryTable::new(&pk.l_query, num_inputs),
                            || FixedBaseTable::new(&pk.h_query),
                        )
                    },
                )
            },
        );
        ProvingTables { a, b1, b2, l, h }
    }

    /// Whether the tables were built for this proving key's shape.
    fn fits(&self, pk: &ProvingKey<Bn254>, num_inputs: usize) -> bool {
        let wires = pk.a_query.len();
        [self.a.rows.len(), self.b1.rows.len(), self.b2.rows.len(), self.l.rows.len()] == [wires; 4]
            && self.l.wires.first().is_none_or(|&w| w as usize >= num_inputs)
            && self.h.len() == pk.h_query.len()
    }

    /// Serializes the tables for the key cache (raw limbs, see [`FixedBaseTable::write_raw`]).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        fn put<P: SWCurveConfig<BaseField: Field<BasePrimeField = Fq>>>(
            out: &mut Vec<u8>,
            q: &QueryTable<P>,
        ) {
            out.extend_from_slice(&(q.rows.len() as u64).to_le_bytes());
            out.extend_from_slice(&(q.wires.len() as u64).to_le_bytes());
            q.wires.iter().for_each(|w| out.extend_from_slice(&w.to_le_bytes()));
            q.table.write_raw(out);
        }
        put(&mut out, &self.a);
        put(&mut out, &self.b1);
        put(&mut out, &self.b2);
        put(&mut out, &self.l);
        self.h.write_raw(&mut out);
        out
    }

    /// Reads tables written by [`ProvingTables::encode`] for this proving key (None if the body
    /// does not fit it). Points are not re-checked: the cache entry's checksum was verified.
    pub fn decode(mut body: &[u8], pk: &ProvingKey<Bn254>, num_inputs: usize) -> Option<Self> {
        let r = &mut body;
        fn u64_at(r: &mut &[u8]) -> Option<u64> {
            let (v, rest) = r.split_first_chunk::<8>()?;
            *r = rest;
            Some(u64::from_le_bytes(*v))
        }
        fn get<P: SWCurveConfig<ScalarField = Fr, BaseField: Field<BasePrimeField = Fq>>>(
            r: &mut &[u8],
        ) -> Option<QueryTable<P>> {
            let num_wires = u64_at(r)?;
            let len = usize::try_from(u64_at(r)?).ok()?;
            let (raw, rest) = r.split_at_checked(len.checked_mul(4)?)?;
            *r = rest;
            let wires: Vec<u32> = raw
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect();
            let table = FixedBaseTable::read_raw(r)?;
            let fits = table.len() == wires.len() && wires.iter().all(|&w| (w as u64) < num_wires);
            fits.then(|| QueryTable::from_parts(table, wires, num_wires as usize))
        }
        let tables = ProvingTables {
            a: get(r)?,
            b1: get(r)?,
            b2: get(r)?,
            l: get(r)?,
            h: FixedBaseTable::read_raw(r)?,
        };
        (r.is_empty() && tables.fits(pk, num_inputs)).then_some(tables)
    }
}

/// The wire sums of a full witness.
pub fn wire_sums(t: &ProvingTables, witness: &[Fr]) -> WireSums {
    let ((a, b1), (b2, l)) = rayon::join(
        || rayon::join(|| t.a.sum(witness), || t.b1.sum(witness)),
        || rayon::join(|| t.b2.sum(witness), || t.l.sum(witness)),
    );
    WireSums { a, b1, b2, l }
}

/// The wire sums of `witness` given those of `base` (same circuit): only wires whose values
/// differ are multiplied. Returns the sums and the number of wires that differed.
pub fn wire_sums_from(
    t: &ProvingTables,
    base: &[Fr],
    base_sums: &WireSums,
    witness: &[Fr],
) -> (WireSums, usize) {
    debug_assert_eq!(base.len(), witness.len());
    let delta: Vec<(usize, Fr)> = (0..witness.len())
        .filter(|&i| witness[i] != base[i])
        .map(|i| (i, witness[i] - base[i]))
        .collect();
    if delta.is_empty() {
        return (*base_sums, 0);
    }
    let ((a, b1), (b2, l)) = rayon::join(
        || rayon::join(|| t.a.sum_sparse(&delta), || t.b1.sum_sparse(&delta)),
        || rayon::join(|| t.b2.sum_sparse(&delta), || t.l.sum_sparse(&delta)),
    );
    (*base_sums + WireSums { a, b1, b2, l }, delta.len())
}

/// The circom reduction's quotient evaluations for this witness: A·w, B·w and C·w = A·w ∘ B·w
/// on the constraint domain, each moved to the coset ω₂ₙ·D (iFFT, scale, FFT), then a·b − c.
/// The three transforms are independent and run side by side. Same values as
/// `CircomReduction::witness_map_from_matrices` (tests compare whole proofs with ark-groth16's).
pub fn quotient(cs: &ConstraintSystem, witness: &[Fr]) -> Result<Vec<Fr>, String> {
    quotient_with(cs, witness, true)
}

/// [`quotient`], with the transforms on AVX-512 IFMA lanes where available if `lanes`, else
/// arkworks' scalar FFTs.
pub fn quotient_with(
    cs: &ConstraintSystem,
    witness: &[Fr],
    lanes: bool,
) -> Result<Vec<Fr>, String> {
    let (nc, ni) = (cs.num_constraints, cs.num_instance_variables);
    let too_large = || "the constraint system is too large for an FFT domain".to_string();
    let domain = GeneralEvaluationDomain::<Fr>::new(nc + ni).ok_or_else(too_large)?;
    let n = domain.size();
    let shift = GeneralEvaluationDomain::<Fr>::new(2 * n).ok_or_else(too_large)?.element(1);
    let eval = |m: &[Vec<(Fr, usize)>]| -> Vec<Fr> {
        let mut v = vec![Fr::zero(); n];
        v[..nc]
            .par_iter_mut()
            .zip(m)
            .for_each(|(v, row)| *v = row.iter().map(|&(coeff, wire)| coeff * witness[wire]).sum());
        v
    };
    let (mut a, b) = rayon::join(|| eval(&cs.matrices[0]), || eval(&cs.matrices[1]));
    let c: Vec<Fr> = a.iter().zip(&b).map(|(x, y)| *x * y).collect();
    // The reduction puts the public inputs after the constraints in A (so that the H query
    // commits to them).
    a[nc..nc + ni].copy_from_slice(&witness[..ni]);
    #[cfg(target_arch = "x86_64")]
    if let Some(fft) = coset_fft(n, domain.group_gen(), shift).filter(|_| lanes) {
        return Ok(fft.quotient(&a, &b, &c));
    }
    let to_coset = |mut v: Vec<Fr>| {
        domain.ifft_in_place(&mut v);
        GeneralEvaluationDomain::<Fr>::distribute_powers_and_mul_by_const(&mut v, shift, Fr::one());
        domain.fft_in_place(&mut v);
        v
    };
    let (mut a, (b, c)) =
        rayon::join(|| to_coset(a), || rayon::join(|| to_coset(b), || to_coset(c)));
    a.par_iter_mut().zip(&b).zip(&c).for_each(|((a, b), c)| *a = *a * b - c);
    Ok(a)
}

/// Σ hⱼ·Hⱼ over the quotient evaluations.
/// The lane transforms for a domain size, built once per process (None without AVX-512 IFMA).
#[cfg(target_arch = "x86_64")]
fn coset_fft(n: usize, omega: Fr, shift: Fr) -> Option<std::sync::Arc<crate::ifma::CosetFft>> {
    use std::sync::{Arc, Mutex};
    static BUILT: Mutex<Vec<Arc<crate::ifma::CosetFft>>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(fft) = built.iter().find(|f| f.size() == n) {
        return Some(fft.clone());
    }
    let fft = Arc::new(crate::ifma::CosetFft::new(n, omega, shift)?);
    built.push(fft.clone());
    Some(fft)
}

pub fn h_sum(
    t: &ProvingTables,
    cs: &ConstraintSystem,
    witness: &[Fr],
) -> Result<G1Projective, String> {
    let h = quotient(cs, witness)?;
    if h.len() != t.h.len() {
        return Err(format!(
            "the proving key has {} H points, the constraint system's domain has {}",
            t.h.len(),
            h.len()
        ));
    }
    Ok(t.h.msm(&h))
}

/// The proof from its parts and the blinding scalars.
pub fn assemble(
    pk: &ProvingKey<Bn254>,
    sums: &WireSums,
    h: G1Projective,
    r: Fr,
    s: Fr,
) -> Proof<Bn254> {
    let g_a = sums.a + pk.vk.alpha_g1 + pk.delta_g1 * r;
    let g1_b = sums.b1 + pk.beta_g1 + pk.delta_g1 * s;
    let g2_b = sums.b2 + pk.vk.beta_g2 + pk.vk.delta_g2 * s;
    let g_c = g_a * s + g1_b * r - pk.delta_g1 * (r * s) + sums.l + h;
    let [a, c] = G1Projective::normalize_batch(&[g_a, g_c]).try_into().expect("two points");
    Proof { a, b: g2_b.into_affine(), c }
}
