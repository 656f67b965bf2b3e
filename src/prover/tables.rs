//! The prover's tables: every proving-key query (A, B in G1 and G2, L, H) as a fixed-base table
//! ([`super::msm`]), made once per [`crate::Prover`] and kept in the key cache.

use ark_bn254::{g1, g2, Bn254, Fq, Fr};
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_groth16::ProvingKey;

use super::msm::{CoordinateField, FixedBaseTable};
use crate::circuit::CircuitKeys;

/// Format tag of cached proving tables (the window width is part of it; bump when the layout
/// changes).
const CACHE_KIND: &str = "msm-tables-w13-raw-v2";

/// No table row for this wire (its query point is infinity).
const NO_ROW: u32 = u32::MAX;

/// One query vector as a fixed-base table over its finite points, with the wire ↔ row maps.
pub(super) struct QueryTable<P: SWCurveConfig> {
    table: FixedBaseTable<P>,
    /// The wire of each row.
    wires: Vec<u32>,
    /// The row of each wire, or `NO_ROW`.
    rows: Vec<u32>,
}

impl<P: SWCurveConfig<ScalarField = Fr, BaseField: CoordinateField>> QueryTable<P> {
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
    pub(super) fn sum(&self, witness: &[Fr]) -> Projective<P> {
        let scalars: Vec<Fr> = self.wires.iter().map(|&w| witness[w as usize]).collect();
        self.table.msm(&scalars)
    }

    /// Σ δᵢ·Pᵢ over (wire, δ) pairs, on the calling thread.
    pub(super) fn sum_sparse(&self, terms: &[(usize, Fr)]) -> Projective<P> {
        self.table.msm_rows(terms.iter().filter_map(|&(w, d)| {
            self.rows.get(w).filter(|&&r| r != NO_ROW).map(|&r| (r as usize, d))
        }))
    }
}

/// The proving key's queries as fixed-base tables (A, B in G1 and G2, L, H). About 40 MB for
/// the RLN circuit; built once per prover (~1 s on two cores) or read from the key cache.
pub(crate) struct ProvingTables {
    pub(super) a: QueryTable<g1::Config>,
    pub(super) b1: QueryTable<g1::Config>,
    pub(super) b2: QueryTable<g2::Config>,
    pub(super) l: QueryTable<g1::Config>,
    pub(super) h: FixedBaseTable<g1::Config>,
}

impl ProvingTables {
    /// The tables of these keys: read from the key cache when it has them, else built (about a
    /// second on two cores) and cached.
    pub(crate) fn load(keys: &CircuitKeys) -> Self {
        let (pk, ni) = (keys.proving_key(), keys.constraints().num_instance_variables);
        let cache = keys.zkey_cache();
        if let Some(tables) =
            cache.and_then(|c| c.read(CACHE_KIND)).and_then(|b| Self::decode(&b, pk, ni))
        {
            return tables;
        }
        let started = std::time::Instant::now();
        let tables = Self::new(pk, ni);
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "built the proving key's fixed-base tables"
        );
        if let Some(Err(e)) = cache.map(|c| c.write(CACHE_KIND, &tables.encode())) {
            tracing::debug!(error = %e, "cannot cache the proving tables");
        }
        tables
    }

    /// Builds the tables of a proving key whose first `num_inputs` wires are public.
    pub(crate) fn new(pk: &ProvingKey<Bn254>, num_inputs: usize) -> Self {
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
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        fn put<P: SWCurveConfig<BaseField: CoordinateField<BasePrimeField = Fq>>>(
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
    pub(crate) fn decode(
        mut body: &[u8],
        pk: &ProvingKey<Bn254>,
        num_inputs: usize,
    ) -> Option<Self> {
        let r = &mut body;
        fn u64_at(r: &mut &[u8]) -> Option<u64> {
            let (v, rest) = r.split_first_chunk::<8>()?;
            *r = rest;
            Some(u64::from_le_bytes(*v))
        }
        fn get<
            P: SWCurveConfig<ScalarField = Fr, BaseField: CoordinateField<BasePrimeField = Fq>>,
        >(
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
