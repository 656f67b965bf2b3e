//! A random connected topology: node `i` dials `degree / 2` distinct random nodes among the
//! earlier ones (all of them while there are fewer), so the graph is connected, the average
//! degree is about `degree`, and nodes can be started one after another, each dialing only
//! running nodes. Nodes that already have `degree + 2` connections take no more dials while
//! others can (as a peer manager's connection limit would): otherwise the first nodes collect
//! dozens of connections, prune their oversubscribed meshes, and late nodes whose every peer
//! pruned them are left without a mesh for the minute of the prune backoff.

use std::collections::VecDeque;

use rand::seq::index::sample;
use rand::Rng;

/// Who dials whom.
#[derive(Debug, Clone)]
pub struct Topology {
    /// `dials[i]`: the earlier nodes node `i` dials.
    pub dials: Vec<Vec<usize>>,
    /// Neighbours of each node (both directions).
    pub neighbours: Vec<Vec<usize>>,
}

impl Topology {
    /// A random topology of `n` nodes with average degree about `degree` (at least 2).
    pub fn random(n: usize, degree: usize, rng: &mut impl Rng) -> Self {
        let per_node = (degree / 2).max(1);
        let cap = degree.max(2) + 2;
        let mut dials = vec![Vec::new(); n];
        let mut neighbours: Vec<Vec<usize>> = vec![Vec::new(); n];
        for i in 1..n {
            let k = per_node.min(i);
            let open: Vec<usize> = (0..i).filter(|&j| neighbours[j].len() < cap).collect();
            let targets: Vec<usize> = if open.len() >= k {
                sample(rng, open.len(), k).into_iter().map(|x| open[x]).collect()
            } else {
                sample(rng, i, k).into_iter().collect()
            };
            for j in targets {
                dials[i].push(j);
                neighbours[i].push(j);
                neighbours[j].push(i);
            }
        }
        Topology { dials, neighbours }
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.dials.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.dials.is_empty()
    }

    /// Hop distances from `from` to every node (`usize::MAX` if unreachable).
    pub fn distances(&self, from: usize) -> Vec<usize> {
        let mut d = vec![usize::MAX; self.len()];
        let mut queue = VecDeque::from([from]);
        d[from] = 0;
        while let Some(u) = queue.pop_front() {
            for &v in &self.neighbours[u] {
                if d[v] == usize::MAX {
                    d[v] = d[u] + 1;
                    queue.push_back(v);
                }
            }
        }
        d
    }

    /// The greatest hop distance between two nodes, sampled from `samples` sources.
    pub fn diameter_estimate(&self, samples: usize) -> usize {
        (0..self.len().min(samples))
            .map(|s| self.distances(s * self.len() / samples.max(1)))
            .flat_map(|d| d.into_iter().filter(|&x| x != usize::MAX))
            .max()
            .unwrap_or(0)
    }

    /// The mean hop distance between two nodes, sampled from `samples` sources.
    pub fn mean_distance(&self, samples: usize) -> f64 {
        let (mut sum, mut count) = (0usize, 0usize);
        for s in 0..self.len().min(samples) {
            for x in self.distances(s * self.len() / samples.max(1)) {
                if x != usize::MAX && x > 0 {
                    sum += x;
                    count += 1;
                }
            }
        }
        if count == 0 {
            0.0
        } else {
            sum as f64 / count as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn random_topologies_are_connected_with_the_degree_asked_for() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let t = Topology::random(500, 8, &mut rng);
        assert!(t.distances(0).iter().all(|&d| d != usize::MAX));
        let mean = t.neighbours.iter().map(Vec::len).sum::<usize>() as f64 / 500.0;
        assert!((7.5..=8.0).contains(&mean), "mean degree {mean}");
        let max = t.neighbours.iter().map(Vec::len).max().unwrap();
        assert!(max <= 10, "no node takes more than degree + 2 connections: {max}");
        for (i, d) in t.dials.iter().enumerate() {
            assert!(d.iter().all(|&j| j < i), "node {i} dials only earlier nodes");
        }
    }
}
