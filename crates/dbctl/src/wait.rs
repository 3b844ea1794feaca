//! `--wait=sb|hv`: bump a counter in the same transaction as the commands, then
//! watch the row until the daemons report they have caught up with it.

use ovsdb::{Datum, Row};

use crate::{CtlError, Ctx, WaitType};

/// Whether `row` shows that configuration `next` has been processed: `sb_cfg >=
/// next` (or `min(sb_cfg, hv_cfg) >= next` for `hv`), allowing for wrap-around.
pub fn caught_up(row: &Row, wait: WaitType, next: i64) -> bool {
    let get = |c: &str| row.get(c).and_then(Datum::as_integer).unwrap_or(0);
    let cur = match wait {
        WaitType::None => return true,
        WaitType::Sb => get("sb_cfg"),
        WaitType::Hv => get("sb_cfg").min(get("hv_cfg")),
    };
    cur >= next && cur.wrapping_sub(next) < i32::MAX as i64
}

/// Waits until the only row of `table` has caught up with `next`.
pub fn wait_for_cfg(ctx: &mut Ctx, table: &str, next: i64) -> Result<(), CtlError> {
    let wait = ctx.wait;
    ctx.txn.wait_for_rows(
        table,
        &[
            "sb_cfg",
            "hv_cfg",
            "nb_cfg_timestamp",
            "sb_cfg_timestamp",
            "hv_cfg_timestamp",
        ],
        |rows| rows.values().any(|r| caught_up(r, wait, next)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catches_up_on_sb_or_min_of_sb_and_hv() {
        let mut r = Row::new();
        r.insert("sb_cfg".into(), Datum::integer(5));
        r.insert("hv_cfg".into(), Datum::integer(3));
        assert!(caught_up(&r, WaitType::Sb, 5));
        assert!(!caught_up(&r, WaitType::Sb, 6));
        assert!(!caught_up(&r, WaitType::Hv, 4));
        assert!(caught_up(&r, WaitType::Hv, 3));
    }
}
