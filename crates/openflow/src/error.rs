//! Typed decode and encode errors.

use thiserror::Error;

/// Why a byte string could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended before a structure it announced was complete.
    #[error("truncated {what}: need {need} bytes, have {have}")]
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    /// A length field is inconsistent (too small, not aligned, overruns its container).
    #[error("bad length in {what}: {len}")]
    BadLength { what: &'static str, len: usize },
    /// The header carries an OpenFlow version this codec does not speak.
    #[error("unsupported OpenFlow version {0:#04x} (only 1.5 = 0x06)")]
    BadVersion(u8),
    /// A field/action/message/property code that is recognised as valid
    /// OpenFlow but not supported by this codec, or simply unknown.
    #[error("unsupported {what} {code:#x}")]
    Unsupported { what: &'static str, code: u64 },
    /// The structure is recognised but its contents are invalid.
    #[error("invalid {what}: {why}")]
    Invalid { what: &'static str, why: String },
    /// Nesting (clone/ct exec/bundle) deeper than the codec allows.
    #[error("actions nested too deeply")]
    TooDeep,
}

impl DecodeError {
    pub(crate) fn invalid(what: &'static str, why: impl Into<String>) -> Self {
        DecodeError::Invalid {
            what,
            why: why.into(),
        }
    }
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// The encoded message would exceed the 16-bit OpenFlow length limit.
    #[error("{what} too long: {len} bytes")]
    TooLong { what: &'static str, len: usize },
    /// A value in the message cannot be represented on the wire.
    #[error("cannot encode {what}: {why}")]
    Invalid { what: &'static str, why: String },
}

impl EncodeError {
    pub(crate) fn invalid(what: &'static str, why: impl Into<String>) -> Self {
        EncodeError::Invalid {
            what,
            why: why.into(),
        }
    }
}

/// Why `ovs-ofctl`-syntax text could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("parse error: {0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub(crate) fn new(s: impl Into<String>) -> Self {
        ParseError(s.into())
    }
}
