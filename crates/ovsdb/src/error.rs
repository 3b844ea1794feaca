use thiserror::Error;

/// Errors of the OVSDB library. Nothing the server sends can cause a panic; it ends up here.
#[derive(Debug, Error)]
pub enum Error {
    #[error("invalid remote {0:?}: {1}")]
    BadRemote(String, String),
    #[error("connection to {remote} failed: {source}")]
    Connect {
        remote: String,
        #[source]
        source: std::io::Error,
    },
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("connection closed")]
    Disconnected,
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("framing error: {0}")]
    Framing(#[from] crate::jsonrpc::FramingError),
    #[error("malformed datum: {0}")]
    Datum(String),
    #[error("malformed schema: {0}")]
    Schema(String),
    #[error("server error for {method}: {error}")]
    Rpc {
        method: String,
        error: serde_json::Value,
    },
    #[error("transaction failed: {0}")]
    Txn(#[from] TxnError),
    #[error("timed out")]
    Timeout,
    #[error("tls: {0}")]
    Tls(String),
    /// The server cannot serve the database as asked (e.g. a follower when the
    /// session wants the cluster leader).
    #[error("unsuitable server {remote}: {reason}")]
    Unsuitable { remote: String, reason: String },
    /// The session was closed.
    #[error("session closed")]
    Closed,
}

/// A transaction the server refused, with the operation that failed (RFC 7047 §4.1.3).
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{error}{}{}", details.as_deref().map(|d| format!(": {d}")).unwrap_or_default(), op_index.map(|i| format!(" (operation {i})")).unwrap_or_default())]
pub struct TxnError {
    /// The error tag, e.g. `constraint violation`, `referential integrity violation`.
    pub error: String,
    pub details: Option<String>,
    /// Index of the failing operation, when the server attributes it to one.
    pub op_index: Option<usize>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
