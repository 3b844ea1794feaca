//! SB `MAC_Binding` rows for the neighbours pinctrl learns (`put_arp` /
//! `put_nd`): one row per (logical_port, ip), updated in place when the MAC
//! changes. Pure.

use std::net::IpAddr;

use ovsdb::{Condition, Datum, Operation};

use crate::db::Replica;
use crate::row;

/// A learned neighbour, as pinctrl reports it.
pub use crate::of::pinctrl::MacLearned as Learned;

fn same_ip(stored: &str, ip: &IpAddr) -> bool {
    stored.parse::<IpAddr>().is_ok_and(|s| s == *ip)
}

/// The operation recording `l`; `None` if already recorded or the port is
/// unknown (it may have been deleted meanwhile).
pub fn ops(sb: &Replica, l: &Learned, now_ms: i64) -> Option<Operation> {
    let (_, pb) = sb.find("Port_Binding", "logical_port", &l.logical_port)?;
    let datapath = row::uuid(pb, "datapath")?;
    let existing = sb
        .table("MAC_Binding")
        .find(|(_, r)| row::str(r, "logical_port") == l.logical_port && same_ip(row::str(r, "ip"), &l.ip));
    match existing {
        Some((_, r)) if row::str(r, "mac").eq_ignore_ascii_case(&l.mac) => None,
        Some((uuid, _)) => Some(Operation::Update {
            table: "MAC_Binding".into(),
            conditions: vec![Condition::uuid(*uuid)],
            row: row::build([
                ("mac", Datum::string(l.mac.clone())),
                ("timestamp", Datum::integer(now_ms)),
            ]),
        }),
        None => Some(Operation::Insert {
            table: "MAC_Binding".into(),
            row: row::build([
                ("logical_port", Datum::string(l.logical_port.clone())),
                ("ip", Datum::string(l.ip.to_string())),
                ("mac", Datum::string(l.mac.clone())),
                ("datapath", Datum::uuid(datapath)),
                ("timestamp", Datum::integer(now_ms)),
            ]),
            uuid_name: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovsdb::Uuid;

    #[test]
    fn inserts_then_updates_in_place() {
        let mut sb = Replica::default();
        let l = Learned {
            datapath: 3,
            logical_port: "lr1-ls2".into(),
            ip: "10.0.2.50".parse().unwrap(),
            mac: "50:54:00:00:00:50".into(),
        };
        assert!(ops(&sb, &l, 1).is_none(), "unknown port");
        sb.insert(
            "Port_Binding",
            Uuid::new_v4(),
            row::build([
                ("logical_port", Datum::string("lr1-ls2")),
                ("datapath", Datum::uuid(Uuid::new_v4())),
            ]),
        );
        assert!(matches!(ops(&sb, &l, 1), Some(Operation::Insert { .. })));
        sb.insert(
            "MAC_Binding",
            Uuid::new_v4(),
            row::build([
                ("logical_port", Datum::string("lr1-ls2")),
                ("ip", Datum::string("10.0.2.50")),
                ("mac", Datum::string("50:54:00:00:00:50")),
            ]),
        );
        assert!(ops(&sb, &l, 1).is_none());
        let moved = Learned {
            mac: "50:54:00:00:00:51".into(),
            ..l
        };
        assert!(matches!(ops(&sb, &moved, 1), Some(Operation::Update { .. })));
    }
}
