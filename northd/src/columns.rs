//! Typed, lenient reads of single replica columns through the structs `ovn-db`
//! generates from `schemas/`, so northd never spells a column name.
//!
//! `col!(row, nb::LogicalSwitchPort, COL_NAME => name)` reads the column
//! `COL_NAME` names with the Rust type of the generated field `name` (the field
//! only fixes the type, checked at compile time). Only that column is converted,
//! which matters for the tens of thousands of rows `sb_sync` scans per change.
//!
//! As before the conversion to typed structs, a malformed column reads as its
//! type's default (`col!`) or as absent (`col_opt!`), never dropping the row or
//! panicking; each malformed `table.column` is logged once.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use ovsdb::Row;
use ovsdb::typed::{ColumnValue, Table, TypedError};

/// Reads column `name` of a `T` row; a missing column reads as `F::default()`, as
/// `T::from_row` reads it, and so does a malformed one (logged once).
/// `_field` ties `F` to the generated field's type and is never called.
pub fn column<T: Table, F: ColumnValue + Default>(row: &Row, name: &'static str, _field: fn(T) -> F) -> F {
    ovsdb::typed::column(row, T::TABLE, name).unwrap_or_else(|e| {
        warn_once(&e);
        F::default()
    })
}

/// Like [`column`], but a missing or malformed column is `None`.
pub fn column_opt<T: Table, F: ColumnValue>(row: &Row, name: &'static str, _field: fn(T) -> F) -> Option<F> {
    let d = row.get(name)?;
    F::from_datum(d)
        .map_err(|reason| {
            warn_once(&TypedError {
                table: T::TABLE.to_string(),
                column: name.to_string(),
                reason,
            })
        })
        .ok()
}

/// Logs a malformed column once per `table.column` for the life of the process.
pub fn warn_once(e: &TypedError) {
    static SEEN: Mutex<BTreeSet<(String, String)>> = Mutex::new(BTreeSet::new());
    let new = SEEN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert((e.table.clone(), e.column.clone()));
    if new {
        tracing::warn!("malformed column {e}: read as empty");
    }
}

/// `col!(row, Type, COL_X => field)`: see the module documentation.
#[macro_export]
macro_rules! col {
    ($row:expr, $t:ty, $c:ident => $f:ident) => {
        $crate::columns::column::<$t, _>($row, <$t>::$c, |r: $t| r.$f)
    };
}

/// `col_opt!(row, Type, COL_X => field)`: [`col!`], `None` when the column is
/// missing or malformed.
#[macro_export]
macro_rules! col_opt {
    ($row:expr, $t:ty, $c:ident => $f:ident) => {
        $crate::columns::column_opt::<$t, _>($row, <$t>::$c, |r: $t| r.$f)
    };
}

#[cfg(test)]
mod tests {
    use ovn_db::sb::PortBinding;
    use ovsdb::{Datum, Row};

    #[test]
    fn reads_typed_and_leniently() {
        let mut r = Row::new();
        PortBinding::set_logical_port(&mut r, &"p1".to_string());
        PortBinding::set_tag(&mut r, &Some(7));
        assert_eq!(col!(&r, PortBinding, COL_LOGICAL_PORT => logical_port), "p1");
        assert_eq!(col!(&r, PortBinding, COL_TAG => tag), Some(7));
        assert_eq!(col_opt!(&r, PortBinding, COL_TUNNEL_KEY => tunnel_key), None);
        assert_eq!(col!(&r, PortBinding, COL_TUNNEL_KEY => tunnel_key), 0);
        // A malformed column reads as the default / absent, the rest of the row still reads.
        r.insert(PortBinding::COL_TUNNEL_KEY.into(), Datum::string("x"));
        r.insert(PortBinding::COL_MAC.into(), Datum::integer(1));
        assert_eq!(col!(&r, PortBinding, COL_TUNNEL_KEY => tunnel_key), 0);
        assert_eq!(col_opt!(&r, PortBinding, COL_TUNNEL_KEY => tunnel_key), None);
        assert_eq!(col!(&r, PortBinding, COL_MAC => mac), Vec::<String>::new());
        assert_eq!(col!(&r, PortBinding, COL_LOGICAL_PORT => logical_port), "p1");
    }
}
