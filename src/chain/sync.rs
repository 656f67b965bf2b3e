//! [`TreeSync`]: follows the registry's events into a [`TreeStore`] on disk.
//!
//! Events that change leaves: `MembershipRegistered` (leaf = Poseidon(id, limit) at its index),
//! `MembershipErased` (the leaf stays for a lazy erase, becomes 0 for a full erase), and
//! `MembershipSlashed` (0 unless the slot was reused). `RootStored` follows every leaf change,
//! so the last `RootStored` of a block range is the root the tree must have after it: each chunk
//! is checked against it before it is committed. Erasures are rare: their final leaves are read
//! from the contract as of the chunk's last block (falling back to the event order rule below
//! when the node has no state for that block).
//!
//! Reorgs: the store keeps checkpoints (block, hash) and a journal of leaf changes; a sync first
//! checks that the last processed block still has the stored hash and otherwise rolls back to
//! the newest checkpoint still on the chain (or starts over if none is).

use std::time::{Duration, Instant};

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use serde::Serialize;

use super::bindings::RlnMembership;
use super::client::{u256_to_field, MembershipReader};
use super::error::{RegistryError, RpcError, SyncError};
use crate::field::Field;
use crate::poseidon::poseidon2;
use crate::tree::disk::{ChunkUpdate, LeafChange, StoreOrigin, TreeStore};
use crate::tree::MerkleTree;

type Result<T> = std::result::Result<T, SyncError>;

/// How a sync reads the chain.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Blocks per `eth_getLogs` request (halved automatically when the node refuses a range).
    pub chunk_blocks: u64,
    /// Blocks behind the head a reorg may reach: journal and checkpoints cover at least this.
    pub reorg_depth: u64,
    /// Stay this many blocks behind the head.
    pub confirmations: u64,
    /// Stop at this block instead of the head.
    pub to_block: Option<u64>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions { chunk_blocks: 2_000, reorg_depth: 256, confirmations: 0, to_block: None }
    }
}

/// Reported after each chunk.
#[derive(Debug, Clone, Serialize)]
pub struct SyncProgress {
    /// First block of the sync.
    pub from_block: u64,
    /// Last block it will read.
    pub to_block: u64,
    /// Last block read so far.
    pub current_block: u64,
    /// Registry events read so far.
    pub events: u64,
    /// Leaf changes applied so far.
    pub leaves: u64,
}

/// What a sync did.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    /// First block read.
    pub from_block: u64,
    /// Last block read.
    pub to_block: u64,
    /// Block chunks read.
    pub chunks: u64,
    /// Registry events read.
    pub events: u64,
    /// Leaf changes applied.
    pub leaf_changes: u64,
    /// A reorg was found: rolled back to this block, undoing this many leaf changes.
    pub rolled_back_to: Option<(u64, usize)>,
    /// A reorg deeper than the journal forced a sync from the start.
    pub restarted: bool,
    /// The tree's root afterwards.
    pub root: Field,
    /// Leaves in use (the next free index).
    pub members: u64,
    /// Wall time.
    pub elapsed_ms: u128,
}

/// Runs a store write (a redb commit) without holding an async worker: on a multi-threaded
/// tokio runtime the worker hands its other tasks to another thread for the duration
/// (`block_in_place`; the store stays borrowed, so a cancelled sync cannot lose it); elsewhere
/// (a current-thread runtime or no runtime) it runs inline, as there is no other worker to keep.
fn off_worker<T>(write: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(write)
        }
        _ => write(),
    }
}

/// A registry's tree, synced from its events into a file. Its disk writes run off the async
/// workers (see [`Self::sync`]).
pub struct TreeSync {
    client: MembershipReader,
    store: TreeStore,
    opts: SyncOptions,
}

impl TreeSync {
    /// Opens the store at `path` for `client`'s registry (a fresh store starts at the registry's
    /// deployment block; a store of another registry or chain is an error).
    pub async fn open(
        client: impl Into<MembershipReader>,
        path: impl AsRef<std::path::Path>,
        opts: SyncOptions,
    ) -> Result<Self> {
        let client: MembershipReader = client.into();
        let path = path.as_ref().to_path_buf();
        let mut store = tokio::task::spawn_blocking(move || TreeStore::open(path))
            .await
            .map_err(SyncError::StoreTask)??;
        let asked = StoreOrigin {
            chain_id: client.chain_id(),
            contract: client.registry().0 .0,
            start_block: 0,
        };
        match store.origin() {
            Some(o) if o.chain_id != asked.chain_id || o.contract != asked.contract => {
                return Err(SyncError::StoreMismatch {
                    stored: o.contract.into(),
                    stored_chain: o.chain_id,
                    asked: client.registry(),
                    asked_chain: client.chain_id(),
                });
            }
            Some(_) => {}
            None => {
                let start_block = client.deployed_block().await?;
                off_worker(|| store.set_origin(StoreOrigin { start_block, ..asked }))?;
            }
        }
        Ok(TreeSync { client, store, opts })
    }

    /// The tree store.
    pub fn store(&self) -> &TreeStore {
        &self.store
    }
    /// The synced tree.
    pub fn tree(&self) -> &MerkleTree {
        self.store.tree()
    }
    /// The registry it follows.
    pub fn client(&self) -> &MembershipReader {
        &self.client
    }
    /// Roots seen in the synced range, newest last.
    pub fn recent_roots(&self) -> Vec<Field> {
        self.store.recent_roots()
    }
    /// Gives the store back (e.g. to serve proofs without a chain connection).
    pub fn into_store(self) -> TreeStore {
        self.store
    }

    async fn block_hash(&self, n: u64) -> Result<Option<B256>> {
        let b = self
            .client
            .provider()
            .get_block_by_number(BlockNumberOrTag::Number(n))
            .await
            .map_err(|e| RpcError::transport("eth_getBlockByNumber", e))?;
        Ok(b.map(|b| b.header.hash))
    }

    /// Checks the last processed block against the chain; after a reorg rolls back to the
    /// newest checkpoint still on the chain. Returns (block, undone changes) if it rolled back,
    /// and whether it had to start over.
    pub async fn handle_reorg(&mut self) -> Result<(Option<(u64, usize)>, bool)> {
        let Some((n, h)) = self.store.progress() else { return Ok((None, false)) };
        if self.block_hash(n).await? == Some(B256::from(h)) {
            return Ok((None, false));
        }
        for (b, hb) in self.store.checkpoints()? {
            if b < n && self.block_hash(b).await? == Some(B256::from(hb)) {
                let undone = off_worker(|| self.store.rollback_to(b, hb))?;
                tracing::warn!(block = b, undone, "chain reorganized: rolled the tree back");
                return Ok((Some((b, undone)), false));
            }
        }
        tracing::warn!("chain reorganized deeper than the journal: syncing from the start");
        off_worker(|| self.store.reset())?;
        Ok((None, true))
    }

    /// Syncs up to the head (minus confirmations) or `to_block`, calling `progress` after each chunk.
    /// Each chunk is one redb transaction, committed off the async workers on a multi-threaded
    /// runtime (the worker's other tasks move to another thread meanwhile).
    pub async fn sync(&mut self, mut progress: impl FnMut(&SyncProgress)) -> Result<SyncReport> {
        let t0 = Instant::now();
        let (rolled_back_to, restarted) = self.handle_reorg().await?;
        let head = self.client.block_number().await?.saturating_sub(self.opts.confirmations);
        let head = self.opts.to_block.map_or(head, |t| t.min(head));
        let origin_start = self.store.origin().map(|o| o.start_block).unwrap_or(0);
        let start = self.store.progress().map_or(origin_start, |(n, _)| n + 1);
        let mut report = SyncReport {
            from_block: start,
            to_block: head,
            chunks: 0,
            events: 0,
            leaf_changes: 0,
            rolled_back_to,
            restarted,
            root: self.store.tree().root(),
            members: self.store.tree().next_index(),
            elapsed_ms: 0,
        };
        let mut chunk = self.opts.chunk_blocks.max(1);
        let mut from = start;
        while from <= head {
            let to = (from + chunk - 1).min(head);
            match self.sync_chunk(from, to).await {
                Ok((events, changes)) => {
                    report.chunks += 1;
                    report.events += events;
                    report.leaf_changes += changes;
                    progress(&SyncProgress {
                        from_block: start,
                        to_block: head,
                        current_block: to,
                        events: report.events,
                        leaves: self.store.tree().next_index(),
                    });
                    from = to + 1;
                }
                Err(SyncError::Logs { .. }) if chunk > 1 => {
                    chunk = (chunk / 2).max(1);
                    tracing::info!(
                        chunk,
                        "eth_getLogs refused the range; retrying with smaller chunks"
                    );
                }
                Err(e) => return Err(e),
            }
        }
        report.root = self.store.tree().root();
        report.members = self.store.tree().next_index();
        report.elapsed_ms = t0.elapsed().as_millis();
        Ok(report)
    }

    /// Reads and applies blocks `from..=to`; returns (events, leaf changes).
    async fn sync_chunk(&mut self, from: u64, to: u64) -> Result<(u64, u64)> {
        let filter = Filter::new()
            .address(self.client.registry())
            .event_signature(MembershipReader::tree_event_signatures())
            .from_block(from)
            .to_block(to);
        let mut attempt = 0;
        let (logs, to_hash) = loop {
            let before = self.block_hash(to).await?.ok_or(SyncError::MissingBlock(to))?;
            let logs = self.client.provider().get_logs(&filter).await.map_err(|e| {
                SyncError::Logs { from, to, source: RpcError::transport("eth_getLogs", e) }
            })?;
            let after = self.block_hash(to).await?;
            let consistent = after == Some(before)
                && logs.iter().all(|l| l.block_number != Some(to) || l.block_hash == Some(before));
            if consistent {
                break (logs, before);
            }
            attempt += 1;
            if attempt >= 5 {
                return Err(SyncError::Unstable(to));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let decoded = decode_chunk(&logs)?;
        let mut changes = decoded.changes;
        if !decoded.touched.is_empty() {
            // Final leaves of erased / slashed slots, as of `to` (authoritative when the node has the state).
            for &index in &decoded.touched {
                match self.client.leaves(index, index, Some(to)).await {
                    Ok(v) if v.len() == 1 => {
                        changes.push(LeafChange { block: to, index, leaf: v[0] })
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(index, error = %e, "no historical state; keeping the event-order rule")
                    }
                }
            }
        }
        let expected_root = decoded.roots.last().map(|r| r.1);
        let mut update = ChunkUpdate {
            changes,
            roots: decoded.roots,
            to_block: to,
            to_hash: to_hash.0,
            keep_blocks: self.opts.reorg_depth,
        };
        // The root is checked before anything is written.
        match off_worker(|| self.store.apply_checked(&update, expected_root)) {
            Ok(()) => {}
            Err(crate::tree::disk::StoreError::RootMismatch { .. }) => {
                // Something events do not show (e.g. an identity registering again clears its old
                // leaf): read every leaf as of `to` and apply the differences.
                tracing::info!(
                    block = to,
                    "events do not explain the new root; reading the leaves from the contract"
                );
                let n = self.client.next_free_index_at(to).await?;
                let mut index = 0u32;
                let mut fixes = Vec::new();
                let touched: std::collections::BTreeSet<u32> =
                    update.changes.iter().map(|c| c.index).collect();
                while index < n {
                    let end = (index + 999).min(n - 1);
                    for (k, leaf) in
                        self.client.leaves(index, end, Some(to)).await?.into_iter().enumerate()
                    {
                        let i = index + k as u32;
                        if touched.contains(&i)
                            || self
                                .store
                                .tree()
                                .leaf(i as u64)
                                .map_err(crate::tree::disk::StoreError::from)?
                                != leaf
                        {
                            fixes.push(LeafChange { block: to, index: i, leaf });
                        }
                    }
                    index = end + 1;
                }
                update.changes.extend(fixes);
                off_worker(|| self.store.apply_checked(&update, expected_root)).map_err(
                    |e| match e {
                        crate::tree::disk::StoreError::RootMismatch { ours, expected } => {
                            SyncError::TreeMismatch { block: to, ours, contract: expected }
                        }
                        other => other.into(),
                    },
                )?;
            }
            Err(e) => return Err(e.into()),
        }
        Ok((logs.len() as u64, update.changes.len() as u64))
    }
}

/// Leaf changes and roots decoded from one chunk's logs.
#[derive(Debug, Default)]
struct DecodedChunk {
    changes: Vec<LeafChange>,
    roots: Vec<(u64, Field)>,
    /// Indices of erased or slashed memberships (their final leaf is read from the contract).
    touched: Vec<u32>,
}

/// Per-transaction state of the event-order rule.
#[derive(Default)]
struct TxEvents {
    block: u64,
    erased: Vec<u32>,
    slashed: Vec<u32>,
    registered: bool,
    root_stored: bool,
}

impl TxEvents {
    /// Leaves the events alone do not give: a transaction that erased memberships and stored a
    /// root without registering one was a full erase or a slash (leaves set to 0); a slash of an
    /// already erased membership that stored a root cleared its still present leaf.
    fn finish(&mut self, out: &mut DecodedChunk) {
        if self.root_stored && !self.registered {
            for &index in self.erased.iter().chain(&self.slashed) {
                out.changes.push(LeafChange { block: self.block, index, leaf: Field::ZERO });
            }
        }
        *self = TxEvents::default();
    }
}

/// Decodes logs in chain order (see [`TxEvents::finish`] for leaves events do not give; those
/// slots are also listed in `touched` so the caller can read their final value).
fn decode_chunk(logs: &[Log]) -> Result<DecodedChunk> {
    let mut out = DecodedChunk::default();
    let mut tx: Option<B256> = None;
    let mut cur = TxEvents::default();
    for log in logs {
        if log.removed {
            continue;
        }
        let block = log.block_number.ok_or(RpcError::LogWithoutBlock)?;
        if log.transaction_hash != tx {
            cur.finish(&mut out);
            tx = log.transaction_hash;
        }
        cur.block = block;
        let topic = log.topic0().copied().unwrap_or_default();
        let bad = |event: &'static str| {
            move |source: alloy::sol_types::Error| {
                SyncError::from(RegistryError::BadEvent {
                    event,
                    block: Some(block),
                    source: Box::new(source),
                })
            }
        };
        if topic == RlnMembership::MembershipRegistered::SIGNATURE_HASH {
            let ev = log
                .log_decode::<RlnMembership::MembershipRegistered>()
                .map_err(bad("MembershipRegistered"))?
                .inner
                .data;
            let limit: u64 = ev
                .membershipRateLimit
                .try_into()
                .map_err(|_| SyncError::RateLimitOutOfRange(U256::from(ev.membershipRateLimit)))?;
            let leaf = poseidon2(u256_to_field(ev.idCommitment)?, Field::from_u64(limit));
            out.changes.push(LeafChange { block, index: ev.index, leaf });
            cur.registered = true;
        } else if topic == RlnMembership::MembershipErased::SIGNATURE_HASH {
            let ev = log
                .log_decode::<RlnMembership::MembershipErased>()
                .map_err(bad("MembershipErased"))?
                .inner
                .data;
            cur.erased.push(ev.index);
            out.touched.push(ev.index);
        } else if topic == RlnMembership::RootStored::SIGNATURE_HASH {
            let ev = log
                .log_decode::<RlnMembership::RootStored>()
                .map_err(bad("RootStored"))?
                .inner
                .data;
            cur.root_stored = true;
            out.roots.push((block, u256_to_field(ev.newRoot)?));
        } else if topic == RlnMembership::MembershipSlashed::SIGNATURE_HASH {
            let ev = log
                .log_decode::<RlnMembership::MembershipSlashed>()
                .map_err(bad("MembershipSlashed"))?
                .inner
                .data;
            cur.slashed.push(ev.index);
            out.touched.push(ev.index);
        }
    }
    cur.finish(&mut out);
    out.touched.sort_unstable();
    out.touched.dedup();
    Ok(out)
}
