//! The relay's transport: TCP (production) or libp2p's in-process memory transport (the
//! simulation's large runs), both upgraded with noise and yamux, with the raw bytes in and out
//! counted per node and an optional emulated one-way latency per link.
//!
//! The latency is added on the receiving side of each raw connection: bytes read from the socket
//! are held until `link_latency` after their arrival, so every hop (the handshakes too) costs
//! that much more, and bandwidth is not limited.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{AsyncRead, AsyncWrite};
use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::{Boxed, MemoryTransport, Transport};
use libp2p::core::upgrade::Version;
use libp2p::identity::Keypair;
use libp2p::{noise, tcp, yamux, PeerId};
use tokio::time::{Instant, Sleep};

/// Which network the node's connections run over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransportKind {
    /// TCP sockets (`/ip4/…/tcp/…` addresses).
    #[default]
    Tcp,
    /// libp2p's in-process memory transport (`/memory/<port>` addresses; one process only).
    Memory,
}

/// The transport a node is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransportConfig {
    /// TCP or in-memory.
    pub kind: TransportKind,
    /// Emulated one-way latency added to every received byte (zero: none).
    pub link_latency: Duration,
}

/// Raw bytes a node sent and received (all connections, noise and yamux framing included).
#[derive(Debug, Default)]
pub struct Traffic {
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

impl Traffic {
    /// Bytes received so far.
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in.load(Ordering::Relaxed)
    }

    /// Bytes sent so far.
    pub fn bytes_out(&self) -> u64 {
        self.bytes_out.load(Ordering::Relaxed)
    }
}

/// The noise + yamux transport of `config`, counting into `traffic`.
pub fn build_transport(
    key: &Keypair,
    config: TransportConfig,
    traffic: Arc<Traffic>,
) -> Result<Boxed<(PeerId, StreamMuxerBox)>, noise::Error> {
    let noise = noise::Config::new(key)?;
    let latency = config.link_latency;
    Ok(match config.kind {
        TransportKind::Tcp => tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
            .map(move |s, _| Counted::new(s, traffic, latency))
            .upgrade(Version::V1)
            .authenticate(noise)
            .multiplex(yamux::Config::default())
            .boxed(),
        TransportKind::Memory => MemoryTransport::default()
            .map(move |s, _| Counted::new(s, traffic, latency))
            .upgrade(Version::V1)
            .authenticate(noise)
            .multiplex(yamux::Config::default())
            .boxed(),
    })
}

/// A raw connection that counts its bytes and delays what it reads by the link latency.
struct Counted<S> {
    inner: S,
    traffic: Arc<Traffic>,
    latency: Duration,
    /// Bytes read from `inner` and the instant they may be handed on (latency only).
    held: VecDeque<(Instant, Vec<u8>, usize)>,
    eof: bool,
    timer: Option<Pin<Box<Sleep>>>,
}

impl<S> Counted<S> {
    fn new(inner: S, traffic: Arc<Traffic>, latency: Duration) -> Self {
        Counted { inner, traffic, latency, held: VecDeque::new(), eof: false, timer: None }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.latency.is_zero() {
            let r = Pin::new(&mut this.inner).poll_read(cx, buf);
            if let Poll::Ready(Ok(n)) = r {
                this.traffic.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
            }
            return r;
        }
        // Take in everything the socket has now, stamped with its release time.
        while !this.eof {
            let mut chunk = vec![0u8; 16 * 1024];
            match Pin::new(&mut this.inner).poll_read(cx, &mut chunk) {
                Poll::Ready(Ok(0)) => this.eof = true,
                Poll::Ready(Ok(n)) => {
                    this.traffic.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
                    chunk.truncate(n);
                    this.held.push_back((Instant::now() + this.latency, chunk, 0));
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => break,
            }
        }
        loop {
            let Some((due, chunk, offset)) = this.held.front_mut() else {
                // Nothing held: end of stream, or the socket will wake us.
                return if this.eof { Poll::Ready(Ok(0)) } else { Poll::Pending };
            };
            if *due <= Instant::now() {
                let n = buf.len().min(chunk.len() - *offset);
                buf[..n].copy_from_slice(&chunk[*offset..*offset + n]);
                *offset += n;
                if *offset == chunk.len() {
                    this.held.pop_front();
                }
                this.timer = None;
                return Poll::Ready(Ok(n));
            }
            let due = *due;
            let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
            if timer.deadline() != due {
                timer.as_mut().reset(due);
            }
            match timer.as_mut().poll(cx) {
                Poll::Ready(()) => continue,
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            this.traffic.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
        }
        r
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}
