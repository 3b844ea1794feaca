//! Problems found in the NB content. Each names the offending row; the row (or the bad
//! part of it) is skipped and the rest of the database is still translated.

use thiserror::Error;

use crate::addresses::AddressError;

/// Identifies an NB row for diagnostics, e.g. `Logical_Switch_Port "vm1"`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowRef {
    pub table: &'static str,
    /// The row's name, or its UUID for rows without a name column.
    pub name: String,
}

impl RowRef {
    pub fn new(table: &'static str, name: impl Into<String>) -> Self {
        RowRef {
            table,
            name: name.into(),
        }
    }
}

impl std::fmt::Display for RowRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} \"{}\"", self.table, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Warning {
    #[error("{row}: column {column}: {error}; entry ignored")]
    BadAddress {
        row: RowRef,
        column: &'static str,
        error: AddressError,
    },
    #[error("{row}: {what} {value} already used by port \"{other}\"; duplicate ignored")]
    Duplicate {
        row: RowRef,
        what: &'static str,
        value: String,
        other: String,
    },
    #[error("{row}: column {column} references missing row {target}; reference ignored")]
    Dangling {
        row: RowRef,
        column: &'static str,
        target: String,
    },
    #[error("{row}: name already used by another row; row ignored")]
    DuplicateName { row: RowRef },
    #[error("{row}: peer \"{peer}\" does not exist or is not a router port; port left unconnected")]
    MissingPeer { row: RowRef, peer: String },
    #[error("{row}: port is referenced by more than one parent; extra reference ignored")]
    SharedPort { row: RowRef },
    #[error("{row}: VIP \"{vip}\": {reason}; VIP ignored")]
    BadLbVip {
        row: RowRef,
        vip: String,
        reason: String,
    },
    #[error("{row}: VIP \"{vip}\": backend \"{backend}\" is not IP[:port]; backend ignored")]
    BadLbBackend {
        row: RowRef,
        vip: String,
        backend: String,
    },
    #[error("{row}: {reason}; NAT rule ignored")]
    BadNat { row: RowRef, reason: String },
    #[error("{row}: {reason}; route ignored")]
    BadRoute { row: RowRef, reason: String },
    #[error("{row}: {reason}; router policy ignored")]
    BadPolicy { row: RowRef, reason: String },
    #[error("{row}: options:{key}=\"{value}\" is not a list of IP addresses; option ignored")]
    BadOption { row: RowRef, key: String, value: String },
    #[error("{row}: requested tunnel key {key} is invalid or already taken; allocating another")]
    KeyConflict { row: RowRef, key: String },
    #[error(
        "{row}: port \"{name}\" exists, so it cannot be this distributed gateway port's chassisredirect port; gateway configuration ignored"
    )]
    ChassisRedirectNameTaken { row: RowRef, name: String },
    #[error("{row}: {what} is not supported; gateway configuration ignored")]
    Unsupported { row: RowRef, what: String },
    #[error("{row}: no free tunnel key left; row not written to the SB")]
    KeysExhausted { row: RowRef },
}
