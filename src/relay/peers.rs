//! Static peers: the bootstrap peers a node keeps connected. When a connection to one closes (the
//! peer restarted, the link was cut) or a dial fails, the node dials it again after a backoff that
//! doubles from 1 s up to 30 s and resets once connected. A peer whose score is graylisted is not
//! redialled. Only addresses that name their peer (`/p2p/<id>`) are kept; others are dialled once.

use std::time::Duration;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use tokio::time::Instant;

/// The first redial waits this long.
pub const REDIAL_MIN: Duration = Duration::from_secs(1);
/// Redials back off up to this.
pub const REDIAL_MAX: Duration = Duration::from_secs(30);

/// One peer to keep connected.
#[derive(Debug, Clone)]
struct StaticPeer {
    id: PeerId,
    addr: Multiaddr,
    /// When the next dial may start (`None`: connected at the last check).
    next: Option<Instant>,
    backoff: Duration,
}

/// The peers a node keeps connected, and when each is due for a dial.
#[derive(Debug, Clone, Default)]
pub struct StaticPeers {
    peers: Vec<StaticPeer>,
}

/// The peer id an address ends with, if any.
pub fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        Protocol::P2p(id) => Some(id),
        _ => None,
    })
}

impl StaticPeers {
    /// The peers among `addrs` that name their peer id, first dial due after [`REDIAL_MIN`]
    /// (the node dials every address once at start).
    pub fn new(addrs: &[Multiaddr], now: Instant) -> Self {
        let peers = addrs
            .iter()
            .filter_map(|a| {
                peer_of(a).map(|id| StaticPeer {
                    id,
                    addr: a.clone(),
                    next: Some(now + REDIAL_MIN),
                    backoff: REDIAL_MIN,
                })
            })
            .collect();
        StaticPeers { peers }
    }

    /// Whether there is no peer to keep.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    /// The peers to dial now. `connected` says whether the node has a connection to a peer,
    /// `graylisted` whether its score forbids one. A connected peer's backoff resets; a peer
    /// that is due gets dialled and its backoff doubles (up to [`REDIAL_MAX`]).
    pub fn due(
        &mut self,
        now: Instant,
        connected: impl Fn(&PeerId) -> bool,
        graylisted: impl Fn(&PeerId) -> bool,
    ) -> Vec<(PeerId, Multiaddr)> {
        let mut dial = Vec::new();
        for p in &mut self.peers {
            if connected(&p.id) {
                p.next = None;
                p.backoff = REDIAL_MIN;
                continue;
            }
            let next = *p.next.get_or_insert(now + REDIAL_MIN);
            if now < next || graylisted(&p.id) {
                continue;
            }
            dial.push((p.id, p.addr.clone()));
            p.next = Some(now + p.backoff);
            p.backoff = (p.backoff * 2).min(REDIAL_MAX);
        }
        dial
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(id: &PeerId, port: u16) -> Multiaddr {
        format!("/ip4/127.0.0.1/tcp/{port}/p2p/{id}").parse().unwrap()
    }

    #[test]
    fn only_addresses_with_a_peer_id_are_kept() {
        let id = PeerId::random();
        let plain: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        let peers = StaticPeers::new(&[plain, addr(&id, 2)], Instant::now());
        assert_eq!(peers.peers.len(), 1);
        assert_eq!(peers.peers[0].id, id);
    }

    #[test]
    fn a_lost_peer_is_redialled_with_a_doubling_backoff_that_resets_once_connected() {
        let id = PeerId::random();
        let t0 = Instant::now();
        let mut peers = StaticPeers::new(&[addr(&id, 1)], t0);
        let down = |_: &PeerId| false;
        let up = |_: &PeerId| true;
        assert!(peers.due(t0, down, down).is_empty(), "the start-up dial is not repeated at once");
        let mut t = t0 + REDIAL_MIN;
        let mut gaps = Vec::new();
        let mut last = t0;
        while t < t0 + Duration::from_secs(120) {
            if !peers.due(t, down, down).is_empty() {
                gaps.push((t - last).as_secs());
                last = t;
            }
            t += Duration::from_millis(500);
        }
        assert_eq!(&gaps[..7], &[1, 1, 2, 4, 8, 16, 30]);
        assert!(gaps[7..].iter().all(|&g| g == 30), "capped: {gaps:?}");

        // Connected: nothing to dial, and the next loss starts over at 1 s.
        assert!(peers.due(t, up, down).is_empty());
        assert!(peers.due(t, down, down).is_empty(), "not at once after a loss");
        assert_eq!(peers.due(t + REDIAL_MIN, down, down).len(), 1);
        assert_eq!(peers.due(t + REDIAL_MIN * 2, down, down).len(), 1);
    }

    #[test]
    fn a_graylisted_peer_is_not_redialled() {
        let id = PeerId::random();
        let t0 = Instant::now();
        let mut peers = StaticPeers::new(&[addr(&id, 1)], t0);
        let down = |_: &PeerId| false;
        let gray = |_: &PeerId| true;
        assert!(peers.due(t0 + REDIAL_MAX, down, gray).is_empty());
        assert_eq!(peers.due(t0 + REDIAL_MAX, down, down).len(), 1, "dialled once it recovers");
    }
}
