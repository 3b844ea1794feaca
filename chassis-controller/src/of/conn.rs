//! One OpenFlow 1.5 connection to a bridge's management socket: hello and
//! version negotiation, message framing, xids, and automatic echo replies.

use std::path::Path;
use std::time::Duration;

use openflow::{
    DecodeError, EncodeError, ErrorMsg, Framer, Header, Hello, Message, OFP15_VERSION, negotiate_version,
};
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tracing::{debug, warn};

/// Why an OpenFlow connection failed.
#[derive(Debug, Error)]
pub enum ConnError {
    #[error("connecting to {path}: {source}")]
    Connect { path: String, source: std::io::Error },
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("connection closed by the switch")]
    Closed,
    #[error("corrupt OpenFlow stream: {0}")]
    Framing(DecodeError),
    #[error("encoding {what}: {source}")]
    Encode { what: &'static str, source: EncodeError },
    #[error("switch does not speak OpenFlow 1.5")]
    Version,
    #[error("switch error: {0}")]
    Switch(ErrorMsg),
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
}

/// How long the handshake and request/reply exchanges may take.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// An established OpenFlow 1.5 connection.
pub struct Conn {
    stream: UnixStream,
    framer: Framer,
    buf: Vec<u8>,
    next_xid: u32,
}

impl Conn {
    /// Connects to `path` and completes the hello exchange.
    pub async fn connect(path: &Path) -> Result<Conn, ConnError> {
        let stream = UnixStream::connect(path)
            .await
            .map_err(|source| ConnError::Connect {
                path: path.display().to_string(),
                source,
            })?;
        let mut conn = Conn {
            stream,
            framer: Framer::new(),
            buf: vec![0; 64 * 1024],
            next_xid: 1,
        };
        conn.send(&Message::Hello(Hello::of15())).await?;
        let (h, msg) = tokio::time::timeout(REPLY_TIMEOUT, conn.recv_raw())
            .await
            .map_err(|_| ConnError::Timeout("hello"))??;
        match msg {
            Message::Hello(hello) if negotiate_version(h.version, &hello) == Some(OFP15_VERSION) => Ok(conn),
            Message::Hello(_) => Err(ConnError::Version),
            Message::Error(e) => Err(ConnError::Switch(e)),
            _ => Err(ConnError::Version),
        }
    }

    /// A fresh transaction id.
    pub fn xid(&mut self) -> u32 {
        let x = self.next_xid;
        self.next_xid = self.next_xid.wrapping_add(1).max(1);
        x
    }

    /// Encodes `msg` with a fresh xid and appends it to `out`.
    pub fn encode_into(&mut self, msg: &Message, out: &mut Vec<u8>) -> Result<u32, ConnError> {
        let xid = self.xid();
        openflow::encode(msg, xid, out).map_err(|source| ConnError::Encode {
            what: msg_name(msg),
            source,
        })?;
        Ok(xid)
    }

    /// Sends `msg` with a fresh xid, which is returned.
    pub async fn send(&mut self, msg: &Message) -> Result<u32, ConnError> {
        let mut out = Vec::new();
        let xid = self.encode_into(msg, &mut out)?;
        self.stream.write_all(&out).await?;
        Ok(xid)
    }

    /// Writes already-encoded messages.
    pub async fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), ConnError> {
        self.stream.write_all(bytes).await?;
        Ok(())
    }

    /// The next message from the switch. Echo requests are answered here and
    /// not returned; messages that fail to decode are logged and skipped.
    /// Cancel-safe (buffered state lives in `self`).
    pub async fn recv(&mut self) -> Result<(Header, Message), ConnError> {
        loop {
            let (h, msg) = self.recv_raw().await?;
            if let Message::EchoRequest(data) = msg {
                let mut out = Vec::new();
                openflow::encode(&Message::EchoReply(data), h.xid, &mut out).map_err(|source| {
                    ConnError::Encode {
                        what: "echo reply",
                        source,
                    }
                })?;
                self.stream.write_all(&out).await?;
                continue;
            }
            return Ok((h, msg));
        }
    }

    async fn recv_raw(&mut self) -> Result<(Header, Message), ConnError> {
        loop {
            if let Some(frame) = self.framer.next_frame().map_err(ConnError::Framing)? {
                match openflow::decode(&frame) {
                    Ok(hm) => return Ok(hm),
                    Err(e) => {
                        let h = Header::parse(&frame).ok();
                        warn!("ignoring undecodable OpenFlow message {h:?}: {e}");
                        continue;
                    }
                }
            }
            let n = self.stream.read(&mut self.buf).await?;
            if n == 0 {
                return Err(ConnError::Closed);
            }
            self.framer.extend(&self.buf[..n]);
        }
    }

    /// Sends `req` and waits for the reply `pick` accepts (other messages
    /// are passed to `other`). Errors referring to the request fail.
    pub async fn request<T>(
        &mut self,
        req: &Message,
        what: &'static str,
        mut pick: impl FnMut(&Message) -> Option<T>,
        mut other: impl FnMut(Message),
    ) -> Result<T, ConnError> {
        let xid = self.send(req).await?;
        let fut = async {
            loop {
                let (h, msg) = self.recv().await?;
                if h.xid == xid {
                    if let Message::Error(e) = msg {
                        return Err(ConnError::Switch(e));
                    }
                    if let Some(t) = pick(&msg) {
                        return Ok(t);
                    }
                }
                debug!("{what}: unrelated message while waiting: {}", msg_name(&msg));
                other(msg);
            }
        };
        tokio::time::timeout(REPLY_TIMEOUT, fut)
            .await
            .map_err(|_| ConnError::Timeout(what))?
    }
}

/// Reconnection delays: immediately, then every 20 ms for the first 2 s,
/// then 100 ms doubling up to 2 s; [`Backoff::reset`] after a connection was
/// established. The switch is local: an attempt on its management socket
/// costs a failed `connect`, and after an ovs-vswitchd restart every 100 ms
/// waited here was 100 ms more of dark data plane.
#[derive(Debug, Default)]
pub struct Backoff {
    attempts: u32,
    next: Duration,
}

impl Backoff {
    pub const FAST: Duration = Duration::from_millis(20);
    pub const FAST_ATTEMPTS: u32 = 100;
    pub const MIN: Duration = Duration::from_millis(100);
    pub const MAX: Duration = Duration::from_secs(2);

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        self.attempts += 1;
        match self.attempts {
            1 => Duration::ZERO,
            n if n <= Self::FAST_ATTEMPTS => Self::FAST,
            _ => {
                self.next = (self.next * 2).clamp(Self::MIN, Self::MAX);
                self.next
            }
        }
    }

    /// Whether the last failure was the first in a row (worth a warning).
    pub fn is_first(&self) -> bool {
        self.attempts == 0
    }

    pub fn reset(&mut self) {
        *self = Backoff::default();
    }
}

/// A short name for log messages.
pub fn msg_name(m: &Message) -> &'static str {
    match m {
        Message::Hello(_) => "hello",
        Message::Error(_) => "error",
        Message::EchoRequest(_) => "echo request",
        Message::FeaturesReply(_) => "features reply",
        Message::BarrierReply => "barrier reply",
        Message::FlowMod(_) => "flow mod",
        Message::GroupMod(_) => "group mod",
        Message::PacketOut(_) => "packet out",
        Message::BundleControl(_) => "bundle control",
        Message::TlvTableReply(_) => "tlv table reply",
        Message::PacketIn2(_) => "packet-in2",
        Message::FlowStatsReply(_) => "flow stats reply",
        Message::GroupDescReply(_) => "group desc reply",
        _ => "other message",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_immediate_then_capped() {
        let mut b = Backoff::default();
        let d: Vec<_> = (0..Backoff::FAST_ATTEMPTS + 6)
            .map(|_| b.next_delay().as_millis())
            .collect();
        assert_eq!(d[0], 0);
        assert!(d[1..100].iter().all(|&x| x == 20));
        assert_eq!(d[100..], [100, 200, 400, 800, 1600, 2000]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::ZERO);
    }
}
