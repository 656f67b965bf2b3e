//! Links the chaos can cut: one TCP forwarder per relay process. Every node of the devnet dials a
//! relay at its forwarder's address, which stays the same when the relay restarts on a new port
//! ([`LinkProxy::retarget`]); [`LinkProxy::cut`] closes every open connection through it at once,
//! as a network fault would, and the nodes must dial again by themselves.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A TCP forwarder to one relay.
#[derive(Debug)]
pub(super) struct LinkProxy {
    addr: SocketAddr,
    target: watch::Sender<SocketAddr>,
    cuts: watch::Sender<u64>,
    accept: tokio::task::JoinHandle<()>,
}

impl LinkProxy {
    /// Listens on a free loopback port and forwards every connection to `target`.
    pub(super) async fn start(target: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let (target, target_rx) = watch::channel(target);
        let (cuts, cuts_rx) = watch::channel(0u64);
        let accept = tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    // Out of descriptors, say: try again shortly rather than spin.
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                };
                let to = *target_rx.borrow();
                let mut cut = cuts_rx.clone();
                cut.mark_unchanged();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(to).await else { return };
                    let _ = inbound.set_nodelay(true);
                    let _ = outbound.set_nodelay(true);
                    let (mut a, mut b) = (inbound, outbound);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut a, &mut b) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Ok(LinkProxy { addr, target, cuts, accept })
    }

    /// The address the devnet's nodes dial.
    pub(super) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Forwards new connections to `target` (the relay restarted on another port).
    pub(super) fn retarget(&self, target: SocketAddr) {
        let _ = self.target.send(target);
    }

    /// Closes every connection open through the forwarder; new ones are accepted as before.
    pub(super) fn cut(&self) {
        self.cuts.send_modify(|n| *n += 1);
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

#[cfg(test)]
mod tests {
    use super::LinkProxy;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn echo_server() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let task = tokio::spawn(async move {
            loop {
                let (mut s, _) = l.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (addr, task)
    }

    #[tokio::test]
    async fn forwards_cuts_and_follows_a_restarted_target() {
        let (first, _a) = echo_server().await;
        let proxy = LinkProxy::start(first).await.unwrap();
        let mut c = tokio::net::TcpStream::connect(proxy.addr()).await.unwrap();
        c.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");

        // A cut closes the open connection: the client reads end-of-stream.
        proxy.cut();
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), c.read(&mut buf))
            .await
            .expect("the cut closes the connection")
            .unwrap_or(0);
        assert_eq!(n, 0);

        // The relay came back elsewhere: the same proxy address reaches it.
        let (second, _b) = echo_server().await;
        proxy.retarget(second);
        let mut c = tokio::net::TcpStream::connect(proxy.addr()).await.unwrap();
        c.write_all(b"pong").await.unwrap();
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
    }
}
