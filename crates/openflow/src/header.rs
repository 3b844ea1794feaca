//! The 8-byte OpenFlow header and stream framing.

use crate::error::DecodeError;

/// OpenFlow 1.5 wire version.
pub const OFP15_VERSION: u8 = 0x06;

/// Size of [`Header`] on the wire.
pub const HEADER_LEN: usize = 8;

/// Common OpenFlow message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    pub version: u8,
    pub msg_type: u8,
    /// Total message length including this header.
    pub length: u16,
    pub xid: u32,
}

impl Header {
    /// Parses the first 8 bytes of `buf`.
    pub fn parse(buf: &[u8]) -> Result<Header, DecodeError> {
        if buf.len() < HEADER_LEN {
            return Err(DecodeError::Truncated {
                what: "header",
                need: HEADER_LEN,
                have: buf.len(),
            });
        }
        let length = u16::from_be_bytes([buf[2], buf[3]]);
        if usize::from(length) < HEADER_LEN {
            return Err(DecodeError::BadLength {
                what: "header",
                len: length.into(),
            });
        }
        Ok(Header {
            version: buf[0],
            msg_type: buf[1],
            length,
            xid: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.push(self.version);
        out.push(self.msg_type);
        out.extend_from_slice(&self.length.to_be_bytes());
        out.extend_from_slice(&self.xid.to_be_bytes());
    }
}

/// Length of the first complete message in `buf`, `Ok(None)` if more bytes
/// are needed, or an error if the header is corrupt (length < 8; the stream
/// cannot be resynchronised then).
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    if len < HEADER_LEN {
        return Err(DecodeError::BadLength { what: "header", len });
    }
    Ok((buf.len() >= len).then_some(len))
}

/// Accumulates bytes read from a stream and yields complete messages.
///
/// ```
/// use openflow::{Framer, Message, encode};
/// let mut wire = Vec::new();
/// encode(&Message::BarrierRequest, 7, &mut wire).unwrap();
/// let mut fr = Framer::new();
/// fr.extend(&wire[..3]);
/// assert!(fr.next_frame().unwrap().is_none());
/// fr.extend(&wire[3..]);
/// assert_eq!(fr.next_frame().unwrap().unwrap(), wire);
/// ```
#[derive(Debug, Default, Clone)]
pub struct Framer {
    buf: Vec<u8>,
}

impl Framer {
    pub fn new() -> Framer {
        Framer::default()
    }

    /// Appends bytes received from the peer.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Removes and returns the next complete message's bytes, if any.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, DecodeError> {
        match frame_len(&self.buf)? {
            None => Ok(None),
            Some(n) => Ok(Some(self.buf.drain(..n).collect())),
        }
    }

    /// Bytes buffered but not yet returned.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}
