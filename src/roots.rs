//! The Merkle roots a proof may be made against: one trait, [`AcceptedRoots`], for the verifier,
//! the relay's validator and the chain's root sources.
//!
//! Order: wherever roots are listed (here, in [`crate::tree::disk::TreeStore::recent_roots`] and
//! in the chain's recent roots), the **newest root is last**. A membership check never copies:
//! [`AcceptedRoots::contains_root`] looks the root up in place, once per message.

use std::collections::{HashSet, VecDeque};
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
