//! Stable tunnel key allocation (datapaths 1..16711680 or 1..4095 with VXLAN; ports
//! 1..32767 or 1..2047 with VXLAN; multicast groups use fixed well-known keys).
//!
//! Order of precedence, as in northd: a valid `requested-tnl-key`, then the key the row
//! already has in the SB (if still free), then a fresh key searched upward from the
//! highest key in use (wrapping), so a just-freed key is not immediately handed to a
//! different object while controllers may still hold flows for it.

use std::collections::{BTreeMap, BTreeSet};

use crate::warning::{RowRef, Warning};

pub const MAX_DP_KEY: u32 = 16_711_680; // 2^24 - 2^16; the rest is for ovn-ic transit.
pub const MAX_DP_KEY_VXLAN: u32 = 4095;
pub const MAX_PORT_KEY: u32 = 32_767;
pub const MAX_PORT_KEY_VXLAN: u32 = 2047;

pub const MC_FLOOD_KEY: u32 = 32768;
pub const MC_UNKNOWN_KEY: u32 = 32769;
pub const MC_FLOOD_L2_KEY: u32 = 32772;

/// One object asking for a key.
pub(crate) struct KeyRequest<K> {
    pub id: K,
    pub row: RowRef,
    /// Raw `requested-tnl-key` option value, if any.
    pub requested: Option<String>,
    pub existing: Option<u32>,
}

/// Assigns keys in `1..=max`. Objects that cannot get one are left out (with a warning).
pub(crate) fn allocate<K: Ord + Clone>(
    requests: &[KeyRequest<K>],
    max: u32,
    warnings: &mut Vec<Warning>,
) -> BTreeMap<K, u32> {
    let mut used = BTreeSet::new();
    let mut out = BTreeMap::new();

    for r in requests {
        let Some(raw) = &r.requested else { continue };
        match raw.parse::<u32>() {
            Ok(k) if (1..=max).contains(&k) && used.insert(k) => {
                out.insert(r.id.clone(), k);
            }
            _ => warnings.push(Warning::KeyConflict {
                row: r.row.clone(),
                key: raw.clone(),
            }),
        }
    }
    for r in requests {
        if out.contains_key(&r.id) {
            continue;
        }
        if let Some(k) = r.existing
            && (1..=max).contains(&k)
            && used.insert(k)
        {
            out.insert(r.id.clone(), k);
        }
    }
    let mut hint = used.iter().next_back().copied().unwrap_or(0);
    for r in requests {
        if out.contains_key(&r.id) {
            continue;
        }
        match next_free(&used, hint, max) {
            Some(k) => {
                used.insert(k);
                hint = k;
                out.insert(r.id.clone(), k);
            }
            None => warnings.push(Warning::KeysExhausted { row: r.row.clone() }),
        }
    }
    out
}

pub(crate) fn next_free(used: &BTreeSet<u32>, hint: u32, max: u32) -> Option<u32> {
    if used.len() as u64 >= u64::from(max) {
        return None;
    }
    let start = if hint >= max { 1 } else { hint + 1 };
    (start..=max).chain(1..start).find(|k| !used.contains(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(id: &str, requested: Option<&str>, existing: Option<u32>) -> KeyRequest<String> {
        KeyRequest {
            id: id.to_string(),
            row: RowRef::new("Logical_Switch", id),
            requested: requested.map(str::to_string),
            existing,
        }
    }

    #[test]
    fn requested_then_existing_then_fresh() {
        let mut w = Vec::new();
        let keys = allocate(
            &[
                req("a", None, Some(5)),
                req("b", Some("5"), None),
                req("c", None, None),
                req("d", Some("bogus"), Some(2)),
            ],
            10,
            &mut w,
        );
        assert_eq!(keys["b"], 5);
        assert_eq!(keys["d"], 2);
        // "a" lost its key to the request; fresh keys go above the highest in use.
        assert_eq!(keys["a"], 6);
        assert_eq!(keys["c"], 7);
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn wraps_and_exhausts() {
        let mut w = Vec::new();
        let keys = allocate(
            &[
                req("a", None, Some(3)),
                req("b", None, None),
                req("c", None, None),
                req("d", None, None),
            ],
            3,
            &mut w,
        );
        assert_eq!(keys["a"], 3);
        assert_eq!(keys["b"], 1);
        assert_eq!(keys["c"], 2);
        assert!(!keys.contains_key("d"));
        assert!(matches!(w[0], Warning::KeysExhausted { .. }));
    }
}
