//! Request-response services a node hosts beside the relay (lightpush is one): frames are
//! unsigned-varint length-prefixed bytes, one request and one response per libp2p stream. The
//! node knows no service's format: it forwards each inbound request, as a [`Frame`], on the
//! service's channel ([`RequestService`]) and sends back the bytes the service answers with
//! through [`NodeHandle::respond`](super::NodeHandle::respond). When the service's queue is full
//! the node answers with the service's own "busy" response at once (backpressure, counted).

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::request_response::{self, ResponseChannel};
use libp2p::{PeerId, StreamProtocol};
use tokio::sync::mpsc;

/// Largest frame a node reads: a full Waku message plus 64 KiB for the other fields (as
/// nwaku's MaxRpcSize).
pub const MAX_FRAME_BYTES: usize = super::message::MAX_MESSAGE_BYTES + 64 * 1024;

/// One frame read from a stream: its bytes, or the length it announced if that was too large
/// (the body is then not read; the service answers as it sees fit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The frame's bytes.
    Bytes(Vec<u8>),
    /// The announced length, above [`MAX_FRAME_BYTES`].
    TooLarge(usize),
}

/// The length-prefixed codec: requests are [`Frame`]s, responses plain bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct FramedCodec;

async fn read_varint<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<usize> {
    let mut n: u64 = 0;
    for i in 0..10 {
        let mut b = [0u8; 1];
        io.read_exact(&mut b).await?;
        n |= u64::from(b[0] & 0x7f) << (7 * i);
        if b[0] & 0x80 == 0 {
            return usize::try_from(n).map_err(|_| io::ErrorKind::InvalidData.into());
        }
    }
    Err(io::Error::new(io::ErrorKind::InvalidData, "varint longer than 10 bytes"))
}

/// Reads one frame (a too-large one is announced, not read).
pub async fn read_frame<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<Frame> {
    let len = read_varint(io).await?;
    if len > MAX_FRAME_BYTES {
        return Ok(Frame::TooLarge(len));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(Frame::Bytes(buf))
}

/// Writes one frame and flushes.
pub async fn write_frame<T: AsyncWrite + Unpin>(io: &mut T, bytes: &[u8]) -> io::Result<()> {
    let mut head = Vec::with_capacity(10 + bytes.len());
    prost::encoding::encode_varint(bytes.len() as u64, &mut head);
    head.extend_from_slice(bytes);
    io.write_all(&head).await?;
    io.flush().await
}

impl request_response::Codec for FramedCodec {
    type Protocol = StreamProtocol;
    type Request = Frame;
    type Response = Vec<u8>;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &Self::Protocol,
        io: &mut T,
    ) -> io::Result<Frame> {
        read_frame(io).await
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &Self::Protocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        match read_frame(io).await? {
            Frame::Bytes(b) => Ok(b),
            Frame::TooLarge(n) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("response of {n} bytes is too large"),
            )),
        }
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &Self::Protocol,
        io: &mut T,
        req: Frame,
    ) -> io::Result<()> {
        match req {
            Frame::Bytes(b) => write_frame(io, &b).await,
            Frame::TooLarge(n) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot send a {n}-byte placeholder frame"),
            )),
        }
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &Self::Protocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> io::Result<()> {
        write_frame(io, &res).await
    }
}

/// A request-response behaviour for `protocol` (`inbound`: serve it; otherwise client only).
pub fn behaviour(
    protocol: &'static str,
    inbound: bool,
    timeout: std::time::Duration,
) -> request_response::Behaviour<FramedCodec> {
    use request_response::{Config, ProtocolSupport};
    let support = if inbound { ProtocolSupport::Full } else { ProtocolSupport::Outbound };
    request_response::Behaviour::new(
        [(StreamProtocol::new(protocol), support)],
        Config::default().with_request_timeout(timeout),
    )
}

/// Where a node sends the requests of a service it hosts.
#[derive(Debug, Clone)]
pub struct RequestService {
    /// The protocol id (e.g. `/vac/waku/lightpush/3.0.0`).
    pub protocol: &'static str,
    /// The service's queue (bounded: its capacity is the backpressure).
    pub requests: mpsc::Sender<InboundRequest>,
    /// What the node answers at once when the queue is full.
    pub busy: Vec<u8>,
}

/// How a service answers one request: hand it to [`NodeHandle::respond`](super::NodeHandle::respond).
#[derive(Debug)]
pub struct Responder(pub(crate) ResponseChannel<Vec<u8>>);

/// A request a peer sent to a hosted service.
#[derive(Debug)]
pub struct InboundRequest {
    /// Who sent it.
    pub peer: PeerId,
    /// The request.
    pub frame: Frame,
    /// Where the answer goes.
    pub responder: Responder,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_oversize_is_not_read() {
        let mut buf = Vec::new();
        write_frame(&mut futures::io::Cursor::new(&mut buf), b"hello").await.unwrap();
        let mut r = futures::io::Cursor::new(buf);
        assert_eq!(read_frame(&mut r).await.unwrap(), Frame::Bytes(b"hello".to_vec()));
        let mut big = Vec::new();
        prost::encoding::encode_varint((MAX_FRAME_BYTES + 1) as u64, &mut big);
        assert_eq!(
            read_frame(&mut futures::io::Cursor::new(big)).await.unwrap(),
            Frame::TooLarge(MAX_FRAME_BYTES + 1)
        );
    }

    #[tokio::test]
    async fn an_overlong_varint_is_an_error() {
        let bad = vec![0xffu8; 11];
        assert!(read_frame(&mut futures::io::Cursor::new(bad)).await.is_err());
    }
}
