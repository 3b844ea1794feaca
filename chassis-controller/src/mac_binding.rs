//! SB `MAC_Binding` rows for the neighbours pinctrl learns (`put_arp` /
//! `put_nd`): one row per (logical_port, ip), updated in place when the MAC
//! changes. Pure.

use std::net::IpAddr;

use ovn_db::Table;
use ovn_db::sb::MacBinding;
use ovsdb::{Condition, Operation, Row};

use crate::db::Replica;
use crate::sb::opt;

/// A learned neighbour, as pinctrl reports it.
pub use crate::of::pinctrl::MacLearned as Learned;

fn same_ip(stored: &str, ip: &IpAddr) -> bool {
    stored.parse::<IpAddr>().is_ok_and(|s| s == *ip)
}

/// The operation recording `l`; `None` if already recorded or the port is
/// unknown (it may have been deleted meanwhile).
pub fn ops(sb: &Replica, l: &Learned, now_ms: i64) -> Option<Operation> {
    let pb = sb
        .sb
        .port_binding
        .values()
        .find(|pb| pb.logical_port == l.logical_port)?;
    let datapath = opt(pb.datapath)?;
    let existing = sb
        .sb
        .mac_binding
        .iter()
        .find(|(_, m)| m.logical_port == l.logical_port && same_ip(&m.ip, &l.ip));
    match existing {
        Some((_, m)) if m.mac.eq_ignore_ascii_case(&l.mac) => None,
        Some((uuid, _)) => {
            let mut row = Row::new();
            MacBinding::set_mac(&mut row, &l.mac);
            MacBinding::set_timestamp(&mut row, &now_ms);
            Some(Operation::Update {
                table: MacBinding::TABLE.into(),
                conditions: vec![Condition::uuid(*uuid)],
                row,
            })
        }
        None => Some(Operation::Insert {
            table: MacBinding::TABLE.into(),
            row: MacBinding {
                logical_port: l.logical_port.clone(),
                ip: l.ip.to_string(),
                mac: l.mac.clone(),
                datapath,
                timestamp: now_ms,
                ..Default::default()
            }
            .to_row(),
            uuid_name: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovn_db::sb;
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
        sb.sb.insert(sb::PortBinding {
            logical_port: "lr1-ls2".into(),
            datapath: Uuid::new_v4(),
            ..Default::default()
        });
        assert!(matches!(ops(&sb, &l, 1), Some(Operation::Insert { .. })));
        sb.sb.insert(MacBinding {
            logical_port: "lr1-ls2".into(),
            ip: "10.0.2.50".into(),
            mac: "50:54:00:00:00:50".into(),
            ..Default::default()
        });
        assert!(ops(&sb, &l, 1).is_none());
        let moved = Learned {
            mac: "50:54:00:00:00:51".into(),
            ..l
        };
        assert!(matches!(ops(&sb, &moved, 1), Some(Operation::Update { .. })));
    }
}
