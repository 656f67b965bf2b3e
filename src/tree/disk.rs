//! [`TreeStore`]: a membership tree persisted on disk (redb), for chain sync.
//!
//! The store holds every node of the tree (so a restart rebuilds nothing: ready in well under
//! a second at 2^20 members), the sync progress (last processed block and its hash), a journal
//! of recent leaf changes per block and a list of checkpoints (block number + hash) to roll back
//! after a reorg, and a window of the most recent roots. Each [`TreeStore::apply`] is one redb
//! transaction: leaves, nodes, journal and progress land together or not at all, so an
//! interrupted sync loses nothing and resumes from the last committed chunk.
//!
//! Nodes are stored in pages of [`NODES_PER_PAGE`] per level, as the field's internal
//! (Montgomery) form, 4 little-endian u64 limbs each, so loading is a copy. A full depth-20
//! tree takes 66 MiB on disk and, once loaded, about 70 MiB of memory (the nodes plus a small
//! redb cache).
//! This module knows nothing about chains: block hashes and contract ids are plain bytes.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use ark_bn254::Fr;
use ark_ff::BigInt;
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::{MerkleTree, TreeError, DEFAULT_DEPTH};
use crate::field::Field;

/// Nodes per stored page: 4,064 bytes of node data, so that a page and its key fit in one 4 KiB
/// redb page (128 nodes, exactly 4 KiB, spilled into 8 KiB pages: a 2^20-member file took
/// 129 MiB instead of 66).
pub const NODES_PER_PAGE: usize = 127;
/// redb's cache. The whole tree lives in memory anyway, so the cache only needs the B-tree's
/// branch pages; redb's default (1 GiB) kept every page read at load, doubling the memory.
const CACHE_BYTES: usize = 4 << 20;
/// How many recent roots the store keeps.
pub const ROOT_WINDOW: usize = 64;
/// 2: 127 nodes per page (1: 128).
const FORMAT_VERSION: u64 = 2;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const NODES: TableDefinition<(u8, u32), &[u8]> = TableDefinition::new("nodes");
/// (block, seq) -> leaf index (u32 LE) || previous leaf (32 bytes LE).
const JOURNAL: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("journal");
/// block -> block hash.
const CHECKPOINTS: TableDefinition<u64, &[u8]> = TableDefinition::new("checkpoints");
/// (block, seq) -> root (32 bytes LE).
const ROOTS: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("roots");

/// Errors of the on-disk tree.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The redb file failed.
    #[error("tree store {path}: database error")]
    Db {
        /// The tree store file.
        path: PathBuf,
        /// The database error.
        #[source]
        source: redb::Error,
    },
    /// The file is corrupt or from another version.
    #[error("tree store {path} is corrupt or from another version: {what}")]
    Corrupt {
        /// The tree store file.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    /// The updated tree's root is not the expected one (nothing was written).
    #[error("after the update the root is {ours}, expected {expected}")]
    RootMismatch {
        /// The root after applying the update.
        ours: Field,
        /// The root the caller expected.
        expected: Field,
    },
    /// The in-memory tree refused an update.
    #[error(transparent)]
    Tree(#[from] TreeError),
}

/// Which registry a store follows, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOrigin {
    /// The chain.
    pub chain_id: u64,
    /// Contract address (20 bytes).
    pub contract: [u8; 20],
    /// First block to read events from (the registry's deployment block).
    pub start_block: u64,
}

/// One leaf write, in chain order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafChange {
    /// The block of the change.
    pub block: u64,
    /// The leaf index.
    pub index: u32,
    /// The new leaf (0: cleared).
    pub leaf: Field,
}

/// A processed block range: its leaf writes, the roots it stored and the new progress.
#[derive(Debug, Clone, Default)]
pub struct ChunkUpdate {
    /// Leaf writes in chain order.
    pub changes: Vec<LeafChange>,
    /// Roots the contract stored in this range (block, root), in order.
    pub roots: Vec<(u64, Field)>,
    /// Last block of the range and its hash.
    pub to_block: u64,
    /// The hash of `to_block`.
    pub to_hash: [u8; 32],
    /// Journal entries and checkpoints older than `to_block - keep_blocks` are dropped (the
    /// newest checkpoint below that line is kept as the safe rollback point).
    pub keep_blocks: u64,
}

/// A depth-20 membership tree mirrored in a redb file.
pub struct TreeStore {
    path: PathBuf,
    db: Database,
    tree: MerkleTree,
    origin: Option<StoreOrigin>,
    progress: Option<(u64, [u8; 32])>,
    roots: VecDeque<(u64, Field)>,
}

impl std::fmt::Debug for TreeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeStore")
            .field("path", &self.path)
            .field("origin", &self.origin)
            .field("progress", &self.progress)
            .field("tree", &self.tree)
            .finish()
    }
}

fn fr_to_bytes(fr: &Fr, out: &mut Vec<u8>) {
    for limb in fr.0 .0 {
        out.extend_from_slice(&limb.to_le_bytes());
    }
}

fn fr_from_bytes(b: &[u8]) -> Fr {
    let mut limbs = [0u64; 4];
    for (k, l) in limbs.iter_mut().enumerate() {
        *l = u64::from_le_bytes(b[8 * k..8 * k + 8].try_into().expect("8 bytes"));
    }
    Fr::new_unchecked(BigInt(limbs))
}

impl TreeStore {
    fn db_err(&self, e: impl Into<redb::Error>) -> StoreError {
        StoreError::Db { path: self.path.clone(), source: e.into() }
    }

    fn corrupt(&self, what: impl Into<String>) -> StoreError {
        StoreError::Corrupt { path: self.path.clone(), what: what.into() }
    }

    /// Opens (or creates) the store at `path` and loads the tree into memory.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|e| StoreError::Db { path: path.clone(), source: e.into() })?;
        let mut s = TreeStore {
            path,
            db,
            tree: MerkleTree::new(DEFAULT_DEPTH)?,
            origin: None,
            progress: None,
            roots: VecDeque::new(),
        };
        s.init_tables()?;
        s.load()?;
        Ok(s)
    }

    fn init_tables(&self) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(|e| self.db_err(e))?;
        {
            let mut meta = w.open_table(META).map_err(|e| self.db_err(e))?;
            if meta.get("version").map_err(|e| self.db_err(e))?.is_none() {
                meta.insert("version", FORMAT_VERSION.to_le_bytes().as_slice())
                    .map_err(|e| self.db_err(e))?;
            }
            w.open_table(NODES).map_err(|e| self.db_err(e))?;
            w.open_table(JOURNAL).map_err(|e| self.db_err(e))?;
            w.open_table(CHECKPOINTS).map_err(|e| self.db_err(e))?;
            w.open_table(ROOTS).map_err(|e| self.db_err(e))?;
        }
        w.commit().map_err(|e| self.db_err(e))
    }

    fn load(&mut self) -> Result<(), StoreError> {
        let r = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let meta = r.open_table(META).map_err(|e| self.db_err(e))?;
        let path = self.path.clone();
        let get = |k: &str| -> Result<Option<Vec<u8>>, StoreError> {
            Ok(meta
                .get(k)
                .map_err(|e| StoreError::Db { path: path.clone(), source: e.into() })?
                .map(|v| v.value().to_vec()))
        };
        let version = get("version")?.ok_or_else(|| self.corrupt("no format version"))?;
        if version != FORMAT_VERSION.to_le_bytes() {
            return Err(
                self.corrupt(format!("format version {:?}, expected {FORMAT_VERSION}", version))
            );
        }
        let origin = match (get("chain_id")?, get("contract")?, get("start_block")?) {
            (Some(c), Some(a), Some(s)) if c.len() == 8 && a.len() == 20 && s.len() == 8 => {
                Some(StoreOrigin {
                    chain_id: u64::from_le_bytes(c.try_into().expect("8")),
                    contract: a.try_into().expect("20"),
                    start_block: u64::from_le_bytes(s.try_into().expect("8")),
                })
            }
            (None, None, None) => None,
            _ => return Err(self.corrupt("incomplete origin")),
        };
        let progress = match get("progress")? {
            Some(p) if p.len() == 40 => Some((
                u64::from_le_bytes(p[..8].try_into().expect("8")),
                p[8..].try_into().expect("32"),
            )),
            None => None,
            _ => return Err(self.corrupt("bad progress record")),
        };
        self.origin = origin;
        self.progress = progress;
        // Nodes: pages in (level, page) order, each level a filled prefix.
        let nodes = r.open_table(NODES).map_err(|e| self.db_err(e))?;
        let depth = DEFAULT_DEPTH;
        let mut levels: Vec<Vec<Fr>> = vec![Vec::new(); depth + 1];
        // Exact capacities from each level's last page (growing by doubling would reserve up to
        // twice the memory).
        for (level, lv) in levels.iter_mut().enumerate() {
            let last = nodes
                .range((level as u8, 0)..=(level as u8, u32::MAX))
                .map_err(|e| self.db_err(e))?
                .next_back()
                .transpose()
                .map_err(|e| self.db_err(e))?;
            if let Some((k, v)) = last {
                lv.reserve_exact(
                    (k.value().1 as usize * NODES_PER_PAGE + v.value().len() / 32).min(1 << depth),
                );
            }
        }
        for item in nodes.iter().map_err(|e| self.db_err(e))? {
            let (k, v) = item.map_err(|e| self.db_err(e))?;
            let (level, page) = k.value();
            let bytes = v.value();
            let level = level as usize;
            if level > depth || bytes.len() % 32 != 0 || bytes.len() > NODES_PER_PAGE * 32 {
                return Err(self.corrupt(format!("bad node page ({level}, {page})")));
            }
            let lv = &mut levels[level];
            if lv.len() != page as usize * NODES_PER_PAGE {
                return Err(self.corrupt(format!("node page ({level}, {page}) out of order")));
            }
            lv.extend(bytes.chunks_exact(32).map(fr_from_bytes));
        }
        self.tree = MerkleTree { depth, levels };
        let roots = r.open_table(ROOTS).map_err(|e| self.db_err(e))?;
        self.roots.clear();
        for item in roots.iter().map_err(|e| self.db_err(e))? {
            let (k, v) = item.map_err(|e| self.db_err(e))?;
            let f = Field::from_le_slice(v.value()).map_err(|_| self.corrupt("bad root"))?;
            self.roots.push_back((k.value().0, f));
        }
        Ok(())
    }

    /// The file behind the store.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The in-memory tree (always equal to what is on disk).
    pub fn tree(&self) -> &MerkleTree {
        &self.tree
    }

    /// Which registry this store follows (`None` for a fresh store).
    pub fn origin(&self) -> Option<&StoreOrigin> {
        self.origin.as_ref()
    }

    /// Last processed block and its hash (`None` before the first chunk).
    pub fn progress(&self) -> Option<(u64, [u8; 32])> {
        self.progress
    }

    /// The roots stored by the contract in the synced range, newest last (at most
    /// [`ROOT_WINDOW`]).
    pub fn recent_roots(&self) -> Vec<Field> {
        self.roots.iter().map(|(_, r)| *r).collect()
    }

    /// Size of the database file in bytes.
    pub fn disk_bytes(&self) -> u64 {
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
    }

    /// Binds a fresh store to a registry.
    pub fn set_origin(&mut self, origin: StoreOrigin) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(|e| self.db_err(e))?;
        {
            let mut meta = w.open_table(META).map_err(|e| self.db_err(e))?;
            meta.insert("chain_id", origin.chain_id.to_le_bytes().as_slice())
                .map_err(|e| self.db_err(e))?;
            meta.insert("contract", origin.contract.as_slice()).map_err(|e| self.db_err(e))?;
            meta.insert("start_block", origin.start_block.to_le_bytes().as_slice())
                .map_err(|e| self.db_err(e))?;
        }
        w.commit().map_err(|e| self.db_err(e))?;
        self.origin = Some(origin);
        Ok(())
    }

    /// Checkpoints (block, hash), newest first.
    pub fn checkpoints(&self) -> Result<Vec<(u64, [u8; 32])>, StoreError> {
        let r = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let t = r.open_table(CHECKPOINTS).map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for item in t.iter().map_err(|e| self.db_err(e))?.rev() {
            let (k, v) = item.map_err(|e| self.db_err(e))?;
            out.push((
                k.value(),
                v.value().try_into().map_err(|_| self.corrupt("bad checkpoint hash"))?,
            ));
        }
        Ok(out)
    }

    /// Writes the (level, page) pages covering `indices` (sorted leaf indices) at every level.
    fn write_pages(
        &self,
        nodes: &mut redb::Table<(u8, u32), &[u8]>,
        indices: &[u64],
    ) -> Result<(), StoreError> {
        let mut buf = Vec::with_capacity(NODES_PER_PAGE * 32);
        for level in 0..=self.tree.depth {
            let lv = &self.tree.levels[level];
            let mut last_page = u64::MAX;
            for &i in indices {
                let page = (i >> level) / NODES_PER_PAGE as u64;
                if page == last_page {
                    continue;
                }
                last_page = page;
                let start = page as usize * NODES_PER_PAGE;
                let end = (start + NODES_PER_PAGE).min(lv.len());
                buf.clear();
                for fr in lv.get(start..end).unwrap_or(&[]) {
                    fr_to_bytes(fr, &mut buf);
                }
                nodes
                    .insert((level as u8, page as u32), buf.as_slice())
                    .map_err(|e| self.db_err(e))?;
            }
        }
        Ok(())
    }

    /// Applies a processed block range in one transaction: leaves, their ancestors, the journal,
    /// roots, a checkpoint at `to_block` and the progress. On error nothing is written and the
    /// in-memory tree is reloaded from disk.
    pub fn apply(&mut self, chunk: &ChunkUpdate) -> Result<(), StoreError> {
        self.apply_checked(chunk, None)
    }

    /// Like [`TreeStore::apply`], but first checks that the updated tree has the root `expected`
    /// (when given); on a mismatch nothing is written.
    pub fn apply_checked(
        &mut self,
        chunk: &ChunkUpdate,
        expected: Option<Field>,
    ) -> Result<(), StoreError> {
        let res = self.apply_inner(chunk, expected);
        if res.is_err() {
            self.load()?;
        }
        res
    }

    fn apply_inner(
        &mut self,
        chunk: &ChunkUpdate,
        expected: Option<Field>,
    ) -> Result<(), StoreError> {
        // Journal the previous leaf of each write (in order, so undoing in reverse restores it).
        let mut journal = Vec::with_capacity(chunk.changes.len());
        let mut finals: BTreeMap<u64, Field> = BTreeMap::new();
        for c in &chunk.changes {
            let idx = c.index as u64;
            let prev = match finals.get(&idx) {
                Some(f) => *f,
                None => self.tree.leaf(idx)?,
            };
            journal.push((c.block, c.index, prev));
            finals.insert(idx, c.leaf);
        }
        self.set_leaves(&finals)?;
        if let Some(expected) = expected {
            let ours = self.tree.root();
            if ours != expected {
                return Err(StoreError::RootMismatch { ours, expected });
            }
        }
        let indices: Vec<u64> = finals.keys().copied().collect();

        let w = self.db.begin_write().map_err(|e| self.db_err(e))?;
        {
            let mut nodes = w.open_table(NODES).map_err(|e| self.db_err(e))?;
            self.write_pages(&mut nodes, &indices)?;
            let mut j = w.open_table(JOURNAL).map_err(|e| self.db_err(e))?;
            let mut seq_of: BTreeMap<u64, u32> = BTreeMap::new();
            for (block, index, prev) in &journal {
                let seq = seq_of.entry(*block).or_insert_with(|| {
                    // Continue after entries a previous chunk wrote for the same block.
                    j.range((*block, 0)..=(*block, u32::MAX))
                        .ok()
                        .and_then(|mut r| r.next_back())
                        .and_then(|x| x.ok())
                        .map(|(k, _)| k.value().1 + 1)
                        .unwrap_or(0)
                });
                let mut rec = Vec::with_capacity(36);
                rec.extend_from_slice(&index.to_le_bytes());
                rec.extend_from_slice(&prev.to_le_bytes());
                j.insert((*block, *seq), rec.as_slice()).map_err(|e| self.db_err(e))?;
                *seq += 1;
            }
            let mut roots = w.open_table(ROOTS).map_err(|e| self.db_err(e))?;
            let first_seq = roots
                .last()
                .map_err(|e| self.db_err(e))?
                .map(|(k, _)| k.value().1 + 1)
                .unwrap_or(0);
            for (seq, (block, root)) in (first_seq..).zip(&chunk.roots) {
                roots
                    .insert((*block, seq), root.to_le_bytes().as_slice())
                    .map_err(|e| self.db_err(e))?;
            }
            let count = roots.len().map_err(|e| self.db_err(e))? as usize;
            for _ in ROOT_WINDOW..count {
                roots.pop_first().map_err(|e| self.db_err(e))?;
            }
            let mut cps = w.open_table(CHECKPOINTS).map_err(|e| self.db_err(e))?;
            cps.insert(chunk.to_block, chunk.to_hash.as_slice()).map_err(|e| self.db_err(e))?;
            // Keep checkpoints within keep_blocks, plus the newest one below that line.
            let line = chunk.to_block.saturating_sub(chunk.keep_blocks);
            let safe = cps
                .range(..=line)
                .map_err(|e| self.db_err(e))?
                .next_back()
                .transpose()
                .map_err(|e| self.db_err(e))?
                .map(|(k, _)| k.value());
            if let Some(safe) = safe {
                cps.retain_in(..safe, |_, _| false).map_err(|e| self.db_err(e))?;
                j.retain_in((0, 0)..=(safe, u32::MAX), |_, _| false).map_err(|e| self.db_err(e))?;
            }
            let mut meta = w.open_table(META).map_err(|e| self.db_err(e))?;
            let mut p = chunk.to_block.to_le_bytes().to_vec();
            p.extend_from_slice(&chunk.to_hash);
            meta.insert("progress", p.as_slice()).map_err(|e| self.db_err(e))?;
        }
        w.commit().map_err(|e| self.db_err(e))?;
        self.progress = Some((chunk.to_block, chunk.to_hash));
        for r in &chunk.roots {
            self.roots.push_back(*r);
        }
        while self.roots.len() > ROOT_WINDOW {
            self.roots.pop_front();
        }
        Ok(())
    }

    /// Writes final leaf values, contiguous runs as one parallel range update.
    fn set_leaves(&mut self, finals: &BTreeMap<u64, Field>) -> Result<(), StoreError> {
        let mut run: Vec<Field> = Vec::new();
        let mut run_start = 0u64;
        for (&i, &leaf) in finals {
            if !run.is_empty() && i != run_start + run.len() as u64 {
                self.tree.set_range(run_start, &run)?;
                run.clear();
            }
            if run.is_empty() {
                run_start = i;
            }
            run.push(leaf);
        }
        self.tree.set_range(run_start, &run)?;
        Ok(())
    }

    /// Undoes every leaf change after `block` and makes `block` (with `hash`) the progress.
    /// `block` should be a checkpoint; changes older than the journal cannot be undone (use
    /// [`TreeStore::reset`] then).
    pub fn rollback_to(&mut self, block: u64, hash: [u8; 32]) -> Result<usize, StoreError> {
        let r = self.rollback_inner(block, hash);
        if r.is_err() {
            self.load()?;
        }
        r
    }

    fn rollback_inner(&mut self, block: u64, hash: [u8; 32]) -> Result<usize, StoreError> {
        let w = self.db.begin_write().map_err(|e| self.db_err(e))?;
        let undone;
        {
            let mut j = w.open_table(JOURNAL).map_err(|e| self.db_err(e))?;
            let mut entries = Vec::new();
            for item in j.range((block + 1, 0)..).map_err(|e| self.db_err(e))? {
                let (_, v) = item.map_err(|e| self.db_err(e))?;
                let v = v.value();
                if v.len() != 36 {
                    return Err(self.corrupt("bad journal entry"));
                }
                let index = u32::from_le_bytes(v[..4].try_into().expect("4"));
                let prev =
                    Field::from_le_slice(&v[4..]).map_err(|_| self.corrupt("bad journal leaf"))?;
                entries.push((index, prev));
            }
            undone = entries.len();
            let mut finals: BTreeMap<u64, Field> = BTreeMap::new();
            for (index, prev) in entries.into_iter().rev() {
                finals.insert(index as u64, prev);
            }
            self.set_leaves(&finals)?;
            let indices: Vec<u64> = finals.keys().copied().collect();
            let mut nodes = w.open_table(NODES).map_err(|e| self.db_err(e))?;
            self.write_pages(&mut nodes, &indices)?;
            j.retain_in((block + 1, 0).., |_, _| false).map_err(|e| self.db_err(e))?;
            let mut cps = w.open_table(CHECKPOINTS).map_err(|e| self.db_err(e))?;
            cps.retain_in(block + 1.., |_, _| false).map_err(|e| self.db_err(e))?;
            cps.insert(block, hash.as_slice()).map_err(|e| self.db_err(e))?;
            let mut roots = w.open_table(ROOTS).map_err(|e| self.db_err(e))?;
            roots.retain_in((block + 1, 0).., |_, _| false).map_err(|e| self.db_err(e))?;
            let mut meta = w.open_table(META).map_err(|e| self.db_err(e))?;
            let mut p = block.to_le_bytes().to_vec();
            p.extend_from_slice(&hash);
            meta.insert("progress", p.as_slice()).map_err(|e| self.db_err(e))?;
        }
        w.commit().map_err(|e| self.db_err(e))?;
        self.progress = Some((block, hash));
        self.roots.retain(|(b, _)| *b <= block);
        Ok(undone)
    }

    /// Forgets everything synced (keeps the origin): the next sync starts from the beginning.
    pub fn reset(&mut self) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(|e| self.db_err(e))?;
        {
            w.open_table(NODES)
                .map_err(|e| self.db_err(e))?
                .retain(|_, _| false)
                .map_err(|e| self.db_err(e))?;
            w.open_table(JOURNAL)
                .map_err(|e| self.db_err(e))?
                .retain(|_, _| false)
                .map_err(|e| self.db_err(e))?;
            w.open_table(CHECKPOINTS)
                .map_err(|e| self.db_err(e))?
                .retain(|_, _| false)
                .map_err(|e| self.db_err(e))?;
            w.open_table(ROOTS)
                .map_err(|e| self.db_err(e))?
                .retain(|_, _| false)
                .map_err(|e| self.db_err(e))?;
            w.open_table(META)
                .map_err(|e| self.db_err(e))?
                .remove("progress")
                .map_err(|e| self.db_err(e))?;
        }
        w.commit().map_err(|e| self.db_err(e))?;
        self.load()
    }

    /// Compacts the file (reclaims space freed by rewritten pages).
    pub fn compact(&mut self) -> Result<bool, StoreError> {
        let path = self.path.clone();
        self.db.compact().map_err(|e| StoreError::Db { path, source: e.into() })
    }
}

/// The roots stored by the registry in the synced range (newest last), looked up in place.
impl crate::roots::AcceptedRoots for TreeStore {
    fn contains_root(&self, root: &Field) -> bool {
        self.roots.iter().any(|(_, r)| r == root)
    }
    fn roots(&self) -> Vec<Field> {
        self.recent_roots()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(block: u64, index: u32, v: u64) -> LeafChange {
        LeafChange { block, index, leaf: Field::from_u64(v) }
    }

    #[test]
    fn persists_resumes_and_rolls_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tree.redb");
        let mut s = TreeStore::open(&path).unwrap();
        s.set_origin(StoreOrigin { chain_id: 1, contract: [7; 20], start_block: 3 }).unwrap();
        let c1: Vec<_> = (0..300).map(|i| change(10 + i as u64 / 100, i, i as u64 + 1)).collect();
        s.apply(&ChunkUpdate {
            changes: c1.clone(),
            roots: vec![(12, Field::from_u64(99))],
            to_block: 12,
            to_hash: [1; 32],
            keep_blocks: 100,
        })
        .unwrap();
        let root1 = s.tree().root();
        let mut expect = MerkleTree::new(DEFAULT_DEPTH).unwrap();
        for c in &c1 {
            expect.set(c.index as u64, c.leaf).unwrap();
        }
        assert_eq!(root1, expect.root());
        // Block 13 overwrites a leaf, block 14 appends.
        s.apply(&ChunkUpdate {
            changes: vec![change(13, 5, 0), change(14, 300, 77), change(14, 5, 55)],
            roots: vec![],
            to_block: 14,
            to_hash: [2; 32],
            keep_blocks: 100,
        })
        .unwrap();
        let root2 = s.tree().root();
        drop(s);

        let mut s = TreeStore::open(&path).unwrap();
        assert_eq!(s.tree().root(), root2);
        assert!(
            s.tree().levels.iter().all(|l| l.capacity() == l.len()),
            "loaded levels hold no spare capacity"
        );
        assert_eq!(s.progress(), Some((14, [2; 32])));
        assert_eq!(s.origin().unwrap().start_block, 3);
        assert_eq!(s.recent_roots(), vec![Field::from_u64(99)]);
        assert_eq!(s.checkpoints().unwrap().iter().map(|c| c.0).collect::<Vec<_>>(), vec![14, 12]);
        let undone = s.rollback_to(12, [1; 32]).unwrap();
        assert_eq!(undone, 3);
        assert_eq!(s.tree().root(), root1);
        assert_eq!(s.tree().leaf(5).unwrap(), Field::from_u64(6));
        drop(s);
        let mut s = TreeStore::open(&path).unwrap();
        assert_eq!(s.tree().root(), root1);
        assert_eq!(s.progress(), Some((12, [1; 32])));
        s.reset().unwrap();
        assert_eq!(s.tree().root(), crate::tree::empty_root(DEFAULT_DEPTH).unwrap());
        assert!(s.progress().is_none());
    }

    #[test]
    fn old_journal_is_pruned_to_the_safe_point() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = TreeStore::open(dir.path().join("t.redb")).unwrap();
        for b in 1..=10u64 {
            s.apply(&ChunkUpdate {
                changes: vec![change(b, b as u32, b)],
                roots: vec![],
                to_block: b,
                to_hash: [b as u8; 32],
                keep_blocks: 3,
            })
            .unwrap();
        }
        let cps: Vec<u64> = s.checkpoints().unwrap().iter().map(|c| c.0).collect();
        assert_eq!(cps, vec![10, 9, 8, 7]);
        s.rollback_to(7, [7; 32]).unwrap();
        assert_eq!(s.tree().next_index(), 11); // levels keep their length; leaves 8..10 are zero again
        assert_eq!(s.tree().leaf(8).unwrap(), Field::ZERO);
        assert_eq!(s.tree().leaf(7).unwrap(), Field::from_u64(7));
    }
}
