//! The Merkle roots a proof may be made against: one trait, [`AcceptedRoots`], for the verifier,
//! the relay's validator and the chain's root sources, and [`RootWindow`], the time-bounded window
//! a relay following the registry keeps (a root stays acceptable for a bounded *time* after it was
//! superseded, never for a count of later roots).
//!
//! Order: wherever roots are listed (here, in [`crate::tree::disk::TreeStore::recent_roots`] and
//! in the chain's recent roots), the **newest root is last**. A membership check never copies:
//! [`AcceptedRoots::contains_root`] looks the root up in place, once per message.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, RwLock};

use crate::field::Field;

/// nwaku's window of acceptable roots: the last 50.
pub const DEFAULT_ROOT_WINDOW: usize = 50;

/// The roots a proof may currently be made against.
///
/// Implemented by plain lists (a slice, an array, a `Vec`, a `HashSet`), by [`StaticRoots`] (a
/// window fed by hand or from a members file), by a synced tree
/// ([`TreeStore`](crate::tree::disk::TreeStore)) and by the registry's recent roots
/// ([`ContractRoots`](crate::chain::ContractRoots)). An empty set accepts nothing.
pub trait AcceptedRoots: Send + Sync {
    /// Whether a proof made against `root` is acceptable now (no copy of the set).
    fn contains_root(&self, root: &Field) -> bool;

    /// The roots, newest last (a `HashSet` has no age: its order is arbitrary). For diagnostics
    /// and start-up messages, not for the per-message check.
    fn roots(&self) -> Vec<Field>;

    /// A message came with a root this set does not accept: a source that follows the chain may
    /// refresh sooner (the root may be newer than its last refresh). Does nothing by default.
    fn note_unknown_root(&self) {}
}

impl AcceptedRoots for [Field] {
    fn contains_root(&self, root: &Field) -> bool {
        self.contains(root)
    }
    fn roots(&self) -> Vec<Field> {
        self.to_vec()
    }
}

impl<const N: usize> AcceptedRoots for [Field; N] {
    fn contains_root(&self, root: &Field) -> bool {
        self.contains(root)
    }
    fn roots(&self) -> Vec<Field> {
        self.to_vec()
    }
}

impl AcceptedRoots for Vec<Field> {
    fn contains_root(&self, root: &Field) -> bool {
        self.contains(root)
    }
    fn roots(&self) -> Vec<Field> {
        self.clone()
    }
}

impl AcceptedRoots for VecDeque<Field> {
    fn contains_root(&self, root: &Field) -> bool {
        self.contains(root)
    }
    fn roots(&self) -> Vec<Field> {
        self.iter().copied().collect()
    }
}

impl AcceptedRoots for HashSet<Field> {
    fn contains_root(&self, root: &Field) -> bool {
        self.contains(root)
    }
    fn roots(&self) -> Vec<Field> {
        self.iter().copied().collect()
    }
}

impl<T: AcceptedRoots + ?Sized> AcceptedRoots for Arc<T> {
    fn contains_root(&self, root: &Field) -> bool {
        (**self).contains_root(root)
    }
    fn roots(&self) -> Vec<Field> {
        (**self).roots()
    }
    fn note_unknown_root(&self) {
        (**self).note_unknown_root()
    }
}

/// A poisoned lock accepts nothing (a writer panicked mid-update).
impl<T: AcceptedRoots> AcceptedRoots for RwLock<T> {
    fn contains_root(&self, root: &Field) -> bool {
        self.read().map(|g| g.contains_root(root)).unwrap_or(false)
    }
    fn roots(&self) -> Vec<Field> {
        self.read().map(|g| g.roots()).unwrap_or_default()
    }
}

/// The registry's rule for a relay following the chain: the current root is acceptable, and a root
/// superseded at chain time `t` (the timestamp of the block whose tree change replaced it) stays
/// acceptable until `t + window` (the registry's `rootAcceptanceWindow`). The current root is only
/// known to be current as of the last successful sync, so it stays acceptable until `confirmed +
/// window`: a relay that cannot sync stops accepting after `window` rather than accepting a root
/// for longer than the registry allows (the registry releases a deposit only after the window plus
/// its slash reveal window). Times are unix seconds; roots are kept newest last.
#[derive(Debug, Clone, Default)]
pub struct RootWindow {
    window_secs: u64,
    current: Option<Field>,
    confirmed_at: u64,
    /// When each superseded root was superseded (one lookup per message).
    superseded: HashMap<Field, u64>,
    /// The superseded roots, oldest first (times ascending).
    order: VecDeque<Field>,
}

impl RootWindow {
    /// An empty window of `window_secs` seconds.
    pub fn new(window_secs: u64) -> Self {
        RootWindow { window_secs, ..Default::default() }
    }

    /// How long a superseded root stays acceptable, in seconds.
    pub fn window_secs(&self) -> u64 {
        self.window_secs
    }

    /// Sets the window (the registry's owner may change it; it applies to every root at once).
    pub fn set_window(&mut self, window_secs: u64) {
        self.window_secs = window_secs;
    }

    /// The current root, if any.
    pub fn current(&self) -> Option<Field> {
        self.current
    }

    /// `root` was stored at chain time `at`: it becomes current and the previous current root is
    /// superseded at `at`. Storing the current root again changes nothing.
    pub fn push(&mut self, root: Field, at: u64) {
        if self.current == Some(root) {
            return;
        }
        // A root stored again (the tree went back to an earlier state) is current, not superseded.
        if self.superseded.remove(&root).is_some() {
            self.order.retain(|r| *r != root);
        }
        if let Some(old) = self.current.replace(root) {
            let at = self.order.back().map_or(at, |r| at.max(self.superseded[r]));
            self.superseded.insert(old, at);
            self.order.push_back(old);
        }
    }

    /// A root superseded at `at`, learnt from the registry's recent roots (older than the current
    /// one); ignored if already known.
    pub fn insert_superseded(&mut self, root: Field, at: u64) {
        if self.current == Some(root) || self.superseded.contains_key(&root) {
            return;
        }
        let pos =
            self.order.iter().position(|r| self.superseded[r] > at).unwrap_or(self.order.len());
        self.superseded.insert(root, at);
        self.order.insert(pos, root);
    }

    /// The current root was still current at `now` (a sync succeeded).
    pub fn confirm(&mut self, now: u64) {
        self.confirmed_at = self.confirmed_at.max(now);
    }

    /// Whether a proof against `root` is acceptable at `now`.
    pub fn accepts(&self, root: &Field, now: u64) -> bool {
        if self.current.as_ref() == Some(root) {
            return now < self.confirmed_at.saturating_add(self.window_secs);
        }
        self.superseded.get(root).is_some_and(|at| now < at.saturating_add(self.window_secs))
    }

    /// Forgets the superseded roots no longer acceptable at `now`.
    pub fn prune(&mut self, now: u64) {
        while let Some(r) = self.order.front() {
            if now < self.superseded[r].saturating_add(self.window_secs) {
                break;
            }
            self.superseded.remove(r);
            self.order.pop_front();
        }
    }

    /// The roots acceptable at `now`, newest last.
    pub fn acceptable(&self, now: u64) -> Vec<Field> {
        let mut v: Vec<Field> =
            self.order.iter().filter(|r| self.accepts(r, now)).copied().collect();
        v.extend(self.current.filter(|r| self.accepts(r, now)));
        v
    }
}

/// Unix time in seconds (0 if the clock is before 1970).
pub fn unix_now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A window of the last `capacity` roots, fed by hand (or from a members file); newest last.
#[derive(Debug)]
pub struct StaticRoots {
    roots: RwLock<VecDeque<Field>>,
    capacity: usize,
}

impl StaticRoots {
    /// A window of [`DEFAULT_ROOT_WINDOW`] roots holding `roots` (oldest first).
    pub fn new(roots: impl IntoIterator<Item = Field>) -> Self {
        let s = StaticRoots { roots: RwLock::new(VecDeque::new()), capacity: DEFAULT_ROOT_WINDOW };
        for r in roots {
            s.push(r);
        }
        s
    }

    /// Adds a root as the newest; the oldest falls out beyond the window's capacity. Pushing the
    /// newest root again changes nothing.
    pub fn push(&self, root: Field) {
        let mut w = self.roots.write().unwrap_or_else(|p| p.into_inner());
        if w.back() == Some(&root) {
            return;
        }
        w.push_back(root);
        while w.len() > self.capacity {
            w.pop_front();
        }
    }
}

impl AcceptedRoots for StaticRoots {
    fn contains_root(&self, root: &Field) -> bool {
        self.roots.contains_root(root)
    }
    fn roots(&self) -> Vec<Field> {
        self.roots.roots()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_window_keeps_the_newest_last_and_drops_the_oldest() {
        let w = StaticRoots::new((0..3).map(Field::from_u64));
        w.push(Field::from_u64(2));
        assert_eq!(w.roots(), vec![Field::from_u64(0), Field::from_u64(1), Field::from_u64(2)]);
        for i in 3..(DEFAULT_ROOT_WINDOW as u64 + 1) {
            w.push(Field::from_u64(i));
        }
        assert!(!w.contains_root(&Field::from_u64(0)));
        assert!(w.contains_root(&Field::from_u64(1)));
        assert_eq!(w.roots().last(), Some(&Field::from_u64(DEFAULT_ROOT_WINDOW as u64)));
        assert_eq!(w.roots().len(), DEFAULT_ROOT_WINDOW);
    }

    #[test]
    fn a_superseded_root_is_acceptable_for_the_window_only() {
        let (a, b, c) = (Field::from_u64(1), Field::from_u64(2), Field::from_u64(3));
        let mut w = RootWindow::new(60);
        w.push(a, 1_000);
        w.confirm(1_000);
        assert!(w.accepts(&a, 1_059));
        assert!(
            !w.accepts(&a, 1_060),
            "not confirmed for a whole window: the current root too expires"
        );
        w.push(b, 1_010); // a superseded at 1,010
        w.confirm(1_030);
        assert!(w.accepts(&a, 1_069) && !w.accepts(&a, 1_070), "a: until 1,010 + 60");
        assert!(w.accepts(&b, 1_089) && !w.accepts(&b, 1_090), "b: current, until 1,030 + 60");
        // However many roots follow, a stays acceptable for its time (no count window).
        for i in 10..200 {
            w.push(Field::from_u64(i), 1_020);
        }
        assert!(w.accepts(&a, 1_069), "many later roots do not push a out early");
        assert!(w.accepts(&b, 1_079) && !w.accepts(&b, 1_080), "b superseded at 1,020");
        assert!(!w.accepts(&c, 1_020), "an unknown root is not acceptable");
        w.prune(1_075);
        assert!(!w.acceptable(1_075).contains(&a));
        assert_eq!(
            w.acceptable(1_075).len(),
            191,
            "b, the 189 roots superseded at 1,020, the current"
        );
        w.confirm(1_075);
        assert_eq!(w.acceptable(1_075).last(), Some(&Field::from_u64(199)), "newest last");
        w.insert_superseded(c, 1_000);
        assert!(!w.accepts(&c, 1_075), "learnt from the ring, superseded long ago");
        w.insert_superseded(c, 1_050);
        assert!(!w.accepts(&c, 1_075), "known already: the first time stands");
    }

    #[test]
    fn lists_and_shared_sets_answer_alike() {
        let r = [Field::from_u64(5), Field::from_u64(6)];
        let shared: Arc<dyn AcceptedRoots> = Arc::new(r.to_vec());
        let locked = RwLock::new(r.to_vec());
        let v = r.to_vec();
        for set in [&v as &dyn AcceptedRoots, &r, &shared, &locked] {
            assert!(set.contains_root(&Field::from_u64(6)));
            assert!(!set.contains_root(&Field::from_u64(7)));
            assert_eq!(set.roots(), r.to_vec());
        }
        assert!(!r[..0].contains_root(&Field::ZERO), "an empty set accepts nothing");
        assert!(r[..].contains_root(&Field::from_u64(5)));
    }
}
