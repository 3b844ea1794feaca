//! Error type shared by every stage of the compiler.

use thiserror::Error;

/// A failure to lex, parse or compile a logical flow.  Errors that come from a
/// specific place in the input carry the byte offset of that place.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    #[error("syntax error at offset {pos}: {msg}")]
    Syntax { pos: usize, msg: String },
    /// Well-formed input that cannot be compiled (unknown port, type
    /// mismatch, contradictory match, ...).
    #[error("{msg}")]
    Semantic { msg: String },
    /// The expression would expand into more OpenFlow flows than allowed.
    #[error("expression expands to more than {limit} flows")]
    TooComplex { limit: usize },
}

impl Error {
    pub fn syntax(pos: usize, msg: impl Into<String>) -> Self {
        Error::Syntax { pos, msg: msg.into() }
    }

    pub fn semantic(msg: impl Into<String>) -> Self {
        Error::Semantic { msg: msg.into() }
    }

    /// Byte offset into the input, when the error has one.
    pub fn position(&self) -> Option<usize> {
        match self {
            Error::Syntax { pos, .. } => Some(*pos),
            _ => None,
        }
    }
}
