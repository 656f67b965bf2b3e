//! The RLN v2 circuit's witness computed natively, wire by wire equal to what circom's
//! WebAssembly witness generator computes, for the two compiled RLN v2 circuits rlnkit knows:
//! its own (`circuits/rln.circom`, the development keys in `zkeys/`) and the Waku network's
//! (vacp2p's RLN v2 circuit, whose ceremony keys the network's relays accept).
//!
//! This module owns the circuits' wire layouts ([`WitnessLayout`]): which signal every witness
//! index holds after circom 2.2's `--O2` simplification (read from `circom --sym`), and how keys
//! are recognised as one of them ([`WitnessLayout::detect`], a digest of the proving key's
//! constraint matrices). The values come from the templates' own arithmetic: Poseidon with
//! circomlib's intermediate signals ([`crate::poseidon`]), the Merkle path's selectors, the
//! bits of `Num2Bits` and `LessThan`. Inputs the circuit's assertions reject are rejected here
//! with a [`WitnessError`] naming the assertion.
//!
//! Both circuits share the first 52 wires (the constant 1, the public signals, the inputs,
//! idCommitment, rateCommitment, a1); after them circom orders each template's kept signals,
//! then its subcomponents by name:
//!
//! | wires | rlnkit (5,839) | Waku (5,844) |
//! |---|---|---|
//! | Merkle path | `node[1..20]`, `left[0..20]` | `mux[i][0..2]` (left, right), `levelHashes[1..20]` |
//! | then | 20 × Poseidon(2) | 20 × Poseidon(2) |
//! | then | range check: 15 bits of messageId, of the limit, of `LessThan`'s difference | Poseidon(1), (2), (3), (1) |
//! | then | Poseidon(1), (2), (3), (1) | range check: 15 bits of messageId, of `LessThan`'s difference |
//!
//! (`Num2Bits`' top bit is linear in the others and the value, so circom drops it.) The Waku
//! layout was read from the symbol file of the network's circuit source (vacp2p's RLN v2:
//! `MerkleTreeInclusionProof` with `MultiMux1(2)`, `RangeCheck` = `Num2Bits(16)` of messageId and
//! `LessThan(16)`) compiled by circom 2.2.3, whose wasm computes the same witness as the
//! network's published `rln.wasm`; `tests/native_witness.rs` checks every wire against the
//! published wasm.

use ark_bn254::Fr;
use ark_ff::{BigInteger, One, PrimeField, Zero};
use sha2::{Digest, Sha256};

use super::{ConstraintSystem, WitnessInput, CIRCUIT_DEPTH};
use crate::poseidon::circom::{hash_with_wires, wires as poseidon_wires};

/// Bits of the message id and limit range checks (`LIMIT_BIT_SIZE`).
const LIMIT_BITS: usize = 16;

/// Why the circuit rejects a witness input (a circom assertion that would fail).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// `pathElements` or `identityPathIndex` has another length than the circuit's depth.
    #[error("{name} has {got} entries, the circuit's Merkle path has {expected}")]
    PathLength {
        /// The input signal.
        name: &'static str,
        /// The circuit's depth (20).
        expected: usize,
        /// The input's length.
        got: usize,
    },
    /// A path index is neither 0 nor 1 (the circuit's boolean check).
    #[error("identityPathIndex[{level}] is not 0 or 1")]
    PathIndexNotBit {
        /// The Merkle level.
        level: usize,
    },
    /// The message id does not fit in 16 bits (`Num2Bits(16)`).
    #[error("messageId does not fit in 16 bits")]
    MessageIdRange,
    /// The user message limit does not fit in 16 bits (rlnkit's circuit checks it).
    #[error("userMessageLimit does not fit in 16 bits")]
    LimitRange,
    /// The message id is not below the user message limit (`LessThan(16)` must be 1).
    #[error("messageId is not below userMessageLimit")]
    MessageIdNotBelowLimit,
    /// The circuit's WebAssembly witness generator failed (a circuit assertion, the driver's
    /// message).
    #[error("{0}")]
    Wasm(String),
}

/// How the Merkle path's selected (left, right) pairs appear among the wires.
#[derive(Clone, Copy)]
enum Sides {
    /// rlnkit: `left[i]` only (right is linear: node + sibling - left).
    Left,
    /// Waku: MultiMux1's `(left, right)` pair for every level.
    Both,
}

/// Where each group of wires starts.
struct Offsets {
    wires: usize,
    /// Merkle nodes 1..DEPTH (the root is a public signal, the leaf is rateCommitment).
    nodes: usize,
    sides: usize,
    side_kind: Sides,
    /// DEPTH Poseidon(2) blocks, one after the other.
    merkle_hashes: usize,
    id_bits: usize,
    limit_bits: Option<usize>,
    less_than_bits: usize,
    /// The main template's hashes: idCommitment, rateCommitment, a1, nullifier.
    id_commitment: usize,
    rate_commitment: usize,
    a1: usize,
    nullifier: usize,
}

const P1: usize = poseidon_wires(1);
const P2: usize = poseidon_wires(2);
const P3: usize = poseidon_wires(3);
/// Bits circom keeps of a `Num2Bits(16)`: all but the top one.
const KEPT_BITS: usize = LIMIT_BITS - 1;
const MERKLE_HASHES: usize = CIRCUIT_DEPTH * P2;

const RLNKIT: Offsets = {
    let nodes = 52;
    let sides = nodes + CIRCUIT_DEPTH - 1;
    let merkle_hashes = sides + CIRCUIT_DEPTH;
    let id_bits = merkle_hashes + MERKLE_HASHES;
    let limit_bits = id_bits + KEPT_BITS;
    let less_than_bits = limit_bits + KEPT_BITS;
    let id_commitment = less_than_bits + KEPT_BITS;
    let rate_commitment = id_commitment + P1;
    let a1 = rate_commitment + P2;
    let nullifier = a1 + P3;
    Offsets {
        wires: nullifier + P1,
        nodes,
        sides,
        side_kind: Sides::Left,
        merkle_hashes,
        id_bits,
        limit_bits: Some(limit_bits),
        less_than_bits,
        id_commitment,
        rate_commitment,
        a1,
        nullifier,
    }
};

const WAKU: Offsets = {
    let sides = 52;
    let nodes = sides + 2 * CIRCUIT_DEPTH;
    let merkle_hashes = nodes + CIRCUIT_DEPTH - 1;
    let id_commitment = merkle_hashes + MERKLE_HASHES;
    let rate_commitment = id_commitment + P1;
    let a1 = rate_commitment + P2;
    let nullifier = a1 + P3;
    let id_bits = nullifier + P1;
    let less_than_bits = id_bits + KEPT_BITS;
    Offsets {
        wires: less_than_bits + KEPT_BITS,
        nodes,
        sides,
        side_kind: Sides::Both,
        merkle_hashes,
        id_bits,
        limit_bits: None,
        less_than_bits,
        id_commitment,
        rate_commitment,
        a1,
        nullifier,
    }
};

/// The compiled RLN v2 circuits whose witness rlnkit computes natively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WitnessLayout {
    /// rlnkit's circuit (`circuits/rln.circom`; the development keys in `zkeys/`): 5,839 wires.
    Rlnkit,
    /// The Waku network's RLN v2 circuit (vacp2p's, the network's ceremony keys): 5,844 wires.
    Waku,
}

/// `constraint_digest` of each layout's circuit (circom 2.2.3, `--O2`), as the keys in `zkeys/`
/// and the Waku network's ceremony keys hold it; `tests/native_witness.rs` checks both key sets
/// are recognised.
const RLNKIT_DIGEST: &str = "060ecc8d22839aa47dc3f586085460c508b330484e0dcb1010b552f8231da186";
const WAKU_DIGEST: &str = "c34cc47867cae8844f96787f482c7f5885a9d5520d6430baff0f907b127cb391";

impl WitnessLayout {
    /// Both layouts.
    pub const ALL: [WitnessLayout; 2] = [WitnessLayout::Rlnkit, WitnessLayout::Waku];

    fn offsets(self) -> &'static Offsets {
        match self {
            WitnessLayout::Rlnkit => &RLNKIT,
            WitnessLayout::Waku => &WAKU,
        }
    }

    /// Number of wires (the constant 1 included), the length of the witness.
    pub const fn wires(self) -> usize {
        match self {
            WitnessLayout::Rlnkit => RLNKIT.wires,
            WitnessLayout::Waku => WAKU.wires,
        }
    }

    /// The layout of the circuit behind these constraints, if it is one of the two: the
    /// digest of the constraint matrices (fixed by the compiled circuit, whatever the
    /// ceremony) names the circuit exactly.
    pub fn detect(constraints: &ConstraintSystem) -> Option<Self> {
        let digest = hex::encode(constraint_digest(constraints));
        Self::ALL.into_iter().find(|layout| {
            let expected = match layout {
                WitnessLayout::Rlnkit => RLNKIT_DIGEST,
                WitnessLayout::Waku => WAKU_DIGEST,
            };
            digest == expected
        })
    }

    /// The full witness for `input` (wire 0 is the constant 1, then the public signals
    /// `[y, root, nullifier, x, externalNullifier]`, then the rest in circom's order).
    pub fn witness(self, input: &WitnessInput) -> Result<Vec<Fr>, WitnessError> {
        let mut out = vec![Fr::zero(); self.wires()];
        self.fill(input, None, &mut out)?;
        Ok(out)
    }

    /// The same witness as [`WitnessLayout::witness`], computed from `earlier`, a witness of this
    /// layout: when it has the same identity secret, limit and Merkle path (a member's earlier
    /// message), its membership wires (the commitments and the Merkle path's 20 hashes) are
    /// copied and only the message's wires are computed; otherwise everything is.
    pub fn witness_after(
        self,
        earlier: &[Fr],
        input: &WitnessInput,
    ) -> Result<Vec<Fr>, WitnessError> {
        let mut out = vec![Fr::zero(); self.wires()];
        self.fill(input, Some(earlier), &mut out)?;
        Ok(out)
    }

    /// Writes the witness for `input` into `out` ([`WitnessLayout::wires`] long), copying the
    /// membership wires from `earlier` when it is the same member's.
    fn fill(
        self,
        input: &WitnessInput,
        earlier: Option<&[Fr]>,
        out: &mut [Fr],
    ) -> Result<(), WitnessError> {
        debug_assert_eq!(out.len(), self.wires());
        let o = self.offsets();
        let bits = path_bits(input)?;
        let message_id = small(input.message_id.fr(), LIMIT_BITS, WitnessError::MessageIdRange)?;
        let limit = input.user_message_limit.fr();
        let limit_bits = match o.limit_bits {
            Some(at) => Some((at, small(limit, LIMIT_BITS, WitnessError::LimitRange)?)),
            None => None,
        };
        // LessThan(16): the bits of messageId + 2^16 - limit; its bit 16 must be 0 and no
        // higher bit may be set (Num2Bits(17)).
        let difference = input.message_id.fr() + Fr::from(1u64 << LIMIT_BITS) - limit;
        let difference = small(difference, LIMIT_BITS, WitnessError::MessageIdNotBelowLimit)?;

        match earlier.filter(|e| e.len() == out.len() && same_member(e, input)) {
            Some(earlier) => out.copy_from_slice(earlier),
            None => self.fill_member(input, &bits, limit_bits, out),
        }

        // The message's wires.
        let secret = input.identity_secret.fr();
        let (x, ext) = (input.x.fr(), input.external_nullifier.fr());
        out[4] = x;
        out[5] = ext;
        out[8] = input.message_id.fr();
        let a1 = hash_with_wires(&[secret, ext, input.message_id.fr()], block(out, o.a1, P3));
        let nullifier = hash_with_wires(&[a1], block(out, o.nullifier, P1));
        out[1] = secret + a1 * x;
        out[3] = nullifier;
        out[51] = a1;
        write_bits(&mut out[o.id_bits..o.id_bits + KEPT_BITS], message_id);
        write_bits(&mut out[o.less_than_bits..o.less_than_bits + KEPT_BITS], difference);
        Ok(())
    }

    /// The wires that depend on the member only (secret, limit, Merkle path), inputs checked.
    fn fill_member(
        self,
        input: &WitnessInput,
        bits: &[bool; CIRCUIT_DEPTH],
        limit_bits: Option<(usize, u64)>,
        out: &mut [Fr],
    ) {
        let o = self.offsets();
        let secret = input.identity_secret.fr();
        let limit = input.user_message_limit.fr();
        out[0] = Fr::one();
        out[6] = secret;
        out[7] = limit;
        for (i, (e, b)) in input.path_elements.iter().zip(bits).enumerate() {
            out[9 + i] = e.fr();
            out[9 + CIRCUIT_DEPTH + i] = Fr::from(*b as u64);
        }
        let id_commitment = hash_with_wires(&[secret], block(out, o.id_commitment, P1));
        let rate_commitment =
            hash_with_wires(&[id_commitment, limit], block(out, o.rate_commitment, P2));
        let mut node = rate_commitment;
        for (level, (sibling, bit)) in input.path_elements.iter().zip(bits).enumerate() {
            let sibling = sibling.fr();
            let (left, right) = if *bit { (sibling, node) } else { (node, sibling) };
            match o.side_kind {
                Sides::Left => out[o.sides + level] = left,
                Sides::Both => {
                    out[o.sides + 2 * level] = left;
                    out[o.sides + 2 * level + 1] = right;
                }
            }
            node = hash_with_wires(&[left, right], block(out, o.merkle_hashes + level * P2, P2));
            if level + 1 < CIRCUIT_DEPTH {
                out[o.nodes + level] = node;
            }
        }
        out[2] = node;
        out[49] = id_commitment;
        out[50] = rate_commitment;
        if let Some((at, limit)) = limit_bits {
            write_bits(&mut out[at..at + KEPT_BITS], limit);
        }
    }
}

/// Whether `earlier` (a witness of a layout) has the inputs' secret, limit and Merkle path: the
/// inputs its membership wires are computed from. The path's bits are already checked.
fn same_member(earlier: &[Fr], input: &WitnessInput) -> bool {
    let path = input.path_elements.iter().chain(&input.identity_path_index);
    earlier[0].is_one()
        && earlier[6] == input.identity_secret.fr()
        && earlier[7] == input.user_message_limit.fr()
        && earlier[9..9 + 2 * CIRCUIT_DEPTH].iter().zip(path).all(|(w, v)| *w == v.fr())
}

fn block(out: &mut [Fr], at: usize, len: usize) -> &mut [Fr] {
    &mut out[at..at + len]
}

/// The path's index bits, checked: lengths and booleans.
fn path_bits(input: &WitnessInput) -> Result<[bool; CIRCUIT_DEPTH], WitnessError> {
    for (name, got) in [
        ("pathElements", input.path_elements.len()),
        ("identityPathIndex", input.identity_path_index.len()),
    ] {
        if got != CIRCUIT_DEPTH {
            return Err(WitnessError::PathLength { name, expected: CIRCUIT_DEPTH, got });
        }
    }
    let mut bits = [false; CIRCUIT_DEPTH];
    for (level, (b, v)) in bits.iter_mut().zip(&input.identity_path_index).enumerate() {
        *b = if v.fr().is_zero() {
            false
        } else if v.fr().is_one() {
            true
        } else {
            return Err(WitnessError::PathIndexNotBit { level });
        };
    }
    Ok(bits)
}

/// The value as an integer when it is below 2^bits (else `err`).
fn small(v: Fr, bits: usize, err: WitnessError) -> Result<u64, WitnessError> {
    let big = v.into_bigint();
    if big.0[1..].iter().any(|l| *l != 0) || big.0[0] >> bits != 0 {
        return Err(err);
    }
    Ok(big.0[0])
}

fn write_bits(out: &mut [Fr], v: u64) {
    for (i, w) in out.iter_mut().enumerate() {
        *w = Fr::from((v >> i) & 1);
    }
}

/// A digest of the constraint system: sizes, then every matrix row's (column, coefficient)
/// pairs in order.
pub(crate) fn constraint_digest(cs: &ConstraintSystem) -> [u8; 32] {
    let mut h = Sha256::new();
    for n in [cs.num_instance_variables, cs.num_witness_variables, cs.num_constraints] {
        h.update((n as u64).to_le_bytes());
    }
    for m in &cs.matrices {
        h.update((m.len() as u64).to_le_bytes());
        for row in m {
            h.update((row.len() as u64).to_le_bytes());
            for (coeff, col) in row {
                h.update((*col as u64).to_le_bytes());
                h.update(coeff.into_bigint().to_bytes_le());
            }
        }
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Field;

    fn input(secret: u64, message_id: u64, seed: u64) -> WitnessInput {
        WitnessInput {
            identity_secret: Field::from_u64(secret),
            user_message_limit: Field::from_u64(100),
            message_id: Field::from_u64(message_id),
            path_elements: (0..CIRCUIT_DEPTH as u64).map(|i| Field::from_u64(i * 7 + 1)).collect(),
            identity_path_index: (0..CIRCUIT_DEPTH)
                .map(|i| Field::from_u64((i % 3 == 0) as u64))
                .collect(),
            x: Field::from_u64(seed),
            external_nullifier: Field::from_u64(seed + 1),
        }
    }

    #[test]
    fn layouts_have_circoms_wire_counts() {
        // `circom --sym`: 5,839 wires for rlnkit's circuit, 5,844 for the Waku network's.
        assert_eq!(WitnessLayout::Rlnkit.wires(), 5839);
        assert_eq!(WitnessLayout::Waku.wires(), 5844);
    }

    #[test]
    fn only_the_known_constraints_are_recognised() {
        let keys = crate::CircuitKeys::embedded_with_cache(None).unwrap();
        let mut cs = keys.constraints().clone();
        assert_eq!(WitnessLayout::detect(&cs), Some(WitnessLayout::Rlnkit));
        // One coefficient of another circuit is enough to refuse it.
        let row = cs.matrices[1].iter_mut().find(|row| !row.is_empty()).unwrap();
        row[0].0 += Fr::one();
        assert_eq!(WitnessLayout::detect(&cs), None);
    }

    #[test]
    fn a_witness_after_an_earlier_one_is_the_full_witness() {
        for layout in WitnessLayout::ALL {
            let first = layout.witness(&input(5, 0, 10)).unwrap();
            // The same member's next message: membership wires copied.
            let next = input(5, 9, 20);
            assert_eq!(
                layout.witness_after(&first, &next).unwrap(),
                layout.witness(&next).unwrap()
            );
            // Another member (or another path, or a foreign buffer): computed in full.
            let other = input(6, 9, 20);
            assert_eq!(
                layout.witness_after(&first, &other).unwrap(),
                layout.witness(&other).unwrap()
            );
            let mut moved = next.clone();
            moved.path_elements[13] = Field::from_u64(3);
            assert_eq!(
                layout.witness_after(&first, &moved).unwrap(),
                layout.witness(&moved).unwrap()
            );
            assert_eq!(
                layout.witness_after(&first[1..], &next).unwrap(),
                layout.witness(&next).unwrap()
            );
            // The inputs are still checked.
            let bad = input(5, 100, 20);
            assert_eq!(
                layout.witness_after(&first, &bad),
                Err(WitnessError::MessageIdNotBelowLimit)
            );
        }
    }
}
