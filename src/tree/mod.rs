//! The membership Merkle tree (binary, Poseidon, zero leaves), its membership proofs and
//! root-from-path computation. Leaves are members' rate commitments.
//!
//! [`MerkleTree`] keeps every level in memory but stores only the filled prefix of each level:
//! nodes to the right of the last written leaf are implied by the precomputed zero ladder. A full
//! depth-20 tree (2^20 members) takes 2^21 nodes, 64 MiB.

use ark_bn254::Fr;
use ark_ff::Zero;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

use crate::field::Field;
use crate::poseidon::{hash2_fill, hash2_fr};

pub mod disk;

/// The depth of the Waku membership tree (and of the RLN circuit).
pub const DEFAULT_DEPTH: usize = 20;
/// The deepest tree supported.
pub const MAX_DEPTH: usize = 32;

/// Below this many parents per level a batch update hashes on one thread.
const PARALLEL_THRESHOLD: usize = 256;
/// Parents hashed per parallel task (in groups of eight lanes where the CPU has AVX-512 IFMA).
const HASH_CHUNK: usize = 64;

/// Errors from tree operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// A depth of 0 or above the maximum.
    #[error("tree depth must be 1..={MAX_DEPTH}, got {got}")]
    Depth {
        /// The depth given.
        got: usize,
    },
    /// A leaf index beyond the tree.
    #[error("leaf index {index} is outside a tree of {capacity} leaves")]
    IndexOutOfRange {
        /// The index given.
        index: u64,
        /// The tree's number of leaves (2^depth).
        capacity: u64,
    },
    /// No free leaf left.
    #[error("the tree is full ({capacity} leaves)")]
    Full {
        /// The tree's number of leaves (2^depth).
        capacity: u64,
    },
    /// A Merkle path of the wrong depth.
    #[error("a Merkle path has {got} levels, expected {expected}")]
    PathLength {
        /// The depth expected.
        expected: usize,
        /// The path's depth.
        got: usize,
    },
    /// A path index that is not a bit.
    #[error("path index bits must be 0 or 1, got {got} at level {level}")]
    PathBit {
        /// The level (0: leaf level).
        level: usize,
        /// The value found.
        got: u8,
    },
}

/// Z_0 = 0, Z_{i+1} = Poseidon(Z_i, Z_i), up to MAX_DEPTH, computed once.
pub fn zero_ladder() -> &'static [Fr; MAX_DEPTH + 1] {
    static Z: OnceLock<[Fr; MAX_DEPTH + 1]> = OnceLock::new();
    Z.get_or_init(|| {
        let mut z = [Fr::zero(); MAX_DEPTH + 1];
        for i in 0..MAX_DEPTH {
            z[i + 1] = hash2_fr(z[i], z[i]);
        }
        z
    })
}

/// The root of an empty tree of the given depth.
pub fn empty_root(depth: usize) -> Result<Field, TreeError> {
    if depth == 0 || depth > MAX_DEPTH {
        return Err(TreeError::Depth { got: depth });
    }
    Ok(Field::from_fr(zero_ladder()[depth]))
}

/// A membership proof: the siblings from the leaf level up, and the leaf's index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerkleProof {
    /// Sibling of the node on the path at each level, leaf level first.
    pub path_elements: Vec<Field>,
    /// Side of the path node at each level (0: left, 1: right), leaf level first (LSB-first index).
    pub identity_path_index: Vec<u8>,
}

impl MerkleProof {
    /// The path's length (the tree's depth).
    pub fn depth(&self) -> usize {
        self.path_elements.len()
    }

    /// The leaf index encoded by the path bits.
    pub fn leaf_index(&self) -> u64 {
        self.identity_path_index
            .iter()
            .enumerate()
            .fold(0u64, |acc, (l, &b)| acc | ((b as u64 & 1) << l))
    }

    /// Checks the shape: equal lengths, bits in {0, 1}.
    pub fn validate(&self, depth: usize) -> Result<(), TreeError> {
        if self.path_elements.len() != depth {
            return Err(TreeError::PathLength { expected: depth, got: self.path_elements.len() });
        }
        if self.identity_path_index.len() != depth {
            return Err(TreeError::PathLength {
                expected: depth,
                got: self.identity_path_index.len(),
            });
        }
        if let Some((level, &got)) =
            self.identity_path_index.iter().enumerate().find(|(_, &b)| b > 1)
        {
            return Err(TreeError::PathBit { level, got });
        }
        Ok(())
    }
}

/// The root reached from `leaf` along `proof` (assumes a validated proof; bits are read as b & 1).
pub fn root_from_path(leaf: Field, proof: &MerkleProof) -> Field {
    let mut node = leaf.fr();
    for (sib, bit) in proof.path_elements.iter().zip(&proof.identity_path_index) {
        node = if bit & 1 == 0 { hash2_fr(node, sib.fr()) } else { hash2_fr(sib.fr(), node) };
    }
    Field::from_fr(node)
}

/// An in-memory Poseidon Merkle tree.
#[derive(Clone)]
pub struct MerkleTree {
    depth: usize,
    /// levels[0] are leaves, levels[depth] holds the root; each stores only its filled prefix.
    levels: Vec<Vec<Fr>>,
}

impl std::fmt::Debug for MerkleTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerkleTree")
            .field("depth", &self.depth)
            .field("leaves", &self.levels[0].len())
            .field("root", &self.root())
            .finish()
    }
}

impl Default for MerkleTree {
    fn default() -> Self {
        Self::new(DEFAULT_DEPTH).expect("default depth is valid")
    }
}

impl MerkleTree {
    /// An empty tree of the given depth.
    pub fn new(depth: usize) -> Result<Self, TreeError> {
        if depth == 0 || depth > MAX_DEPTH {
            return Err(TreeError::Depth { got: depth });
        }
        Ok(MerkleTree { depth, levels: vec![Vec::new(); depth + 1] })
    }

    /// A tree holding `leaves` at indices 0.. (built level by level on all cores).
    pub fn from_leaves(depth: usize, leaves: &[Field]) -> Result<Self, TreeError> {
        let mut t = Self::new(depth)?;
        t.set_range(0, leaves)?;
        Ok(t)
    }

    /// The tree's depth.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Number of leaves the tree can hold.
    pub fn capacity(&self) -> u64 {
        1u64 << self.depth
    }

    /// One past the highest leaf index ever written (the next index `push` uses).
    pub fn next_index(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// The current root.
    pub fn root(&self) -> Field {
        Field::from_fr(self.node(self.depth, 0))
    }

    #[inline]
    fn node(&self, level: usize, index: usize) -> Fr {
        self.levels[level].get(index).copied().unwrap_or(zero_ladder()[level])
    }

    fn check_index(&self, index: u64) -> Result<usize, TreeError> {
        if index >= self.capacity() {
            return Err(TreeError::IndexOutOfRange { index, capacity: self.capacity() });
        }
        Ok(index as usize)
    }

    /// The leaf at `index` (zero if never written).
    pub fn leaf(&self, index: u64) -> Result<Field, TreeError> {
        let i = self.check_index(index)?;
        Ok(Field::from_fr(self.node(0, i)))
    }

    fn ensure_len(&mut self, level: usize, len: usize) {
        let lv = &mut self.levels[level];
        if lv.len() < len {
            lv.resize(len, zero_ladder()[level]);
        }
    }

    /// Sets the leaf at `index` and updates its path to the root.
    pub fn set(&mut self, index: u64, leaf: Field) -> Result<(), TreeError> {
        let mut i = self.check_index(index)?;
        self.ensure_len(0, i + 1);
        self.levels[0][i] = leaf.fr();
        for level in 0..self.depth {
            let parent = hash2_fr(self.node(level, i & !1), self.node(level, i | 1));
            i >>= 1;
            self.ensure_len(level + 1, i + 1);
            self.levels[level + 1][i] = parent;
        }
        Ok(())
    }

    /// Appends a leaf at the next index and returns that index.
    pub fn push(&mut self, leaf: Field) -> Result<u64, TreeError> {
        let index = self.next_index();
        if index >= self.capacity() {
            return Err(TreeError::Full { capacity: self.capacity() });
        }
        self.set(index, leaf)?;
        Ok(index)
    }

    /// Sets the leaf at `index` to zero (an erased membership).
    pub fn delete(&mut self, index: u64) -> Result<(), TreeError> {
        self.set(index, Field::ZERO)
    }

    /// Writes `leaves` at `start..start+len` and rehashes each affected level once, in parallel.
    pub fn set_range(&mut self, start: u64, leaves: &[Field]) -> Result<(), TreeError> {
        if leaves.is_empty() {
            return Ok(());
        }
        let end = start.checked_add(leaves.len() as u64).filter(|&e| e <= self.capacity()).ok_or(
            TreeError::IndexOutOfRange {
                index: start.saturating_add(leaves.len() as u64 - 1),
                capacity: self.capacity(),
            },
        )?;
        let (mut lo, mut hi) = (start as usize, end as usize);
        self.ensure_len(0, hi);
        for (slot, leaf) in self.levels[0][lo..hi].iter_mut().zip(leaves) {
            *slot = leaf.fr();
        }
        for level in 0..self.depth {
            let (plo, phi) = (lo >> 1, (hi - 1) >> 1);
            self.ensure_len(level + 1, phi + 1);
            let zero = zero_ladder()[level];
            let (below, above) = self.levels.split_at_mut(level + 1);
            let children = &below[level];
            let child = |i: usize| children.get(i).copied().unwrap_or(zero);
            let parents = &mut above[0][plo..=phi];
            let hash_chunk = |(c, chunk): (usize, &mut [Fr])| {
                let first = plo + c * HASH_CHUNK;
                hash2_fill(chunk, |k| (child(2 * (first + k)), child(2 * (first + k) + 1)));
            };
            if parents.len() >= PARALLEL_THRESHOLD {
                parents.par_chunks_mut(HASH_CHUNK).enumerate().for_each(hash_chunk);
            } else {
                hash_chunk((0, parents));
            }
            lo = plo;
            hi = phi + 1;
        }
        Ok(())
    }

    /// The membership proof of the leaf at `index`.
    pub fn proof(&self, index: u64) -> Result<MerkleProof, TreeError> {
        let mut i = self.check_index(index)?;
        let mut path_elements = Vec::with_capacity(self.depth);
        let mut identity_path_index = Vec::with_capacity(self.depth);
        for level in 0..self.depth {
            path_elements.push(Field::from_fr(self.node(level, i ^ 1)));
            identity_path_index.push((i & 1) as u8);
            i >>= 1;
        }
        Ok(MerkleProof { path_elements, identity_path_index })
    }

    /// Bytes of node storage currently held.
    pub fn memory_bytes(&self) -> usize {
        self.levels.iter().map(|l| l.capacity() * std::mem::size_of::<Fr>()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Field> {
        (0..n).map(|i| Field::from_u64(i * 7 + 1)).collect()
    }

    #[test]
    fn batch_equals_one_by_one() {
        let ls = leaves(1000);
        let mut a = MerkleTree::new(12).unwrap();
        for l in &ls {
            a.push(*l).unwrap();
        }
        let mut b = MerkleTree::new(12).unwrap();
        b.set_range(0, &ls[..300]).unwrap();
        b.set_range(300, &ls[300..]).unwrap();
        assert_eq!(a.root(), b.root());
        // Overwrite a middle range.
        let patch = leaves(50);
        a.set_range(400, &patch).unwrap();
        for (k, l) in patch.iter().enumerate() {
            b.set(400 + k as u64, *l).unwrap();
        }
        assert_eq!(a.root(), b.root());
    }

    #[test]
    fn proofs_lead_to_root() {
        let mut t = MerkleTree::new(DEFAULT_DEPTH).unwrap();
        t.set_range(0, &leaves(33)).unwrap();
        t.set(1000, Field::from_u64(5)).unwrap();
        for idx in [0u64, 1, 17, 32, 33, 1000, (1 << 20) - 1] {
            let p = t.proof(idx).unwrap();
            p.validate(DEFAULT_DEPTH).unwrap();
            assert_eq!(p.leaf_index(), idx);
            assert_eq!(root_from_path(t.leaf(idx).unwrap(), &p), t.root());
        }
        // A wrong leaf does not lead to the root.
        let p = t.proof(3).unwrap();
        assert_ne!(root_from_path(Field::from_u64(999), &p), t.root());
    }

    #[test]
    fn delete_restores_empty_root() {
        let mut t = MerkleTree::new(10).unwrap();
        t.set(5, Field::ONE).unwrap();
        assert_ne!(t.root(), empty_root(10).unwrap());
        t.delete(5).unwrap();
        assert_eq!(t.root(), empty_root(10).unwrap());
    }

    #[test]
    fn bounds_are_errors() {
        let mut t = MerkleTree::new(2).unwrap();
        assert!(matches!(
            t.set(4, Field::ONE),
            Err(TreeError::IndexOutOfRange { index: 4, capacity: 4 })
        ));
        assert!(t.set_range(3, &[Field::ONE, Field::ONE]).is_err());
        for _ in 0..4 {
            t.push(Field::ONE).unwrap();
        }
        assert_eq!(t.push(Field::ONE), Err(TreeError::Full { capacity: 4 }));
        assert!(MerkleTree::new(0).is_err());
        assert!(MerkleTree::new(33).is_err());
        let bad =
            MerkleProof { path_elements: vec![Field::ZERO; 2], identity_path_index: vec![0, 2] };
        assert_eq!(bad.validate(2), Err(TreeError::PathBit { level: 1, got: 2 }));
    }
}
