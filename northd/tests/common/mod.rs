//! Helpers shared by northd's integration tests.

use ovsdb::{Client, Operation};
use rovn_northd::sb_sync::Tables;

/// Every row of `tables` in database `db`, as the SB writer and snapshot code read them.
pub async fn dump(c: &Client, db: &str, tables: &[&str]) -> Tables {
    let ops: Vec<Operation> = tables
        .iter()
        .map(|t| Operation::Select {
            table: t.to_string(),
            conditions: vec![],
            columns: None,
        })
        .collect();
    let res = c.transact(db, &ops).await.unwrap();
    tables
        .iter()
        .zip(res)
        .map(|(t, r)| {
            let rows = r
                .rows
                .unwrap()
                .into_iter()
                .map(|row| (row["_uuid"].as_uuid().unwrap(), row))
                .collect();
            (t.to_string(), rows)
        })
        .collect()
}
