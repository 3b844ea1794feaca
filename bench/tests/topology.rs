//! The generator's transaction against a real NB ovsdb-server: every row lands
//! (non-root rows that nothing referenced would be garbage-collected) and every
//! reference resolves.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb::{Datum, Operation, Row};
use rovn_bench::db::{self, NB_DB};
use rovn_bench::topology::{self, Scale};

fn select_all(table: &str) -> Operation {
    Operation::Select {
        table: table.into(),
        conditions: vec![],
        columns: None,
    }
}

fn names(rows: &[Row]) -> BTreeSet<String> {
    rows.iter()
        .filter_map(|r| r.get("name").and_then(Datum::as_str).map(str::to_string))
        .collect()
}

#[tokio::test]
async fn small_topology_loads_in_one_transaction_and_references_resolve() {
    if !testbed::require(&["ovsdb-server", "ovsdb-tool"]) {
        return;
    }
    let nb = testbed::OvsdbServer::start(&testbed::nb_schema());
    let (client, _notes) = db::connect(&nb.remote()).await.expect("connect");
    let s = Scale::SMALL;
    let ops = topology::operations(&s);
    client.transact(NB_DB, &ops).await.expect("one load transaction");

    let tables: Vec<&str> = s.expected_rows().keys().copied().collect();
    let counts = db::row_counts(&client, NB_DB, &tables).await.expect("counts");
    for (t, n) in s.expected_rows() {
        assert_eq!(counts[t], n, "rows in {t}");
    }

    let q: Vec<Operation> = [
        "Logical_Switch",
        "Logical_Switch_Port",
        "Logical_Router",
        "Logical_Router_Port",
        "Load_Balancer",
    ]
    .into_iter()
    .map(select_all)
    .collect();
    let res = client.transact(NB_DB, &q).await.expect("select");
    let rows: Vec<Vec<Row>> = res.into_iter().map(|r| r.rows.expect("rows")).collect();
    let (ls, lsp, lr, lrp, lb) = (&rows[0], &rows[1], &rows[2], &rows[3], &rows[4]);
    let uuid_of = |rows: &[Row]| -> BTreeMap<ovsdb::Uuid, Row> {
        rows.iter()
            .map(|r| (r["_uuid"].as_uuid().expect("_uuid"), r.clone()))
            .collect()
    };
    let (lsp_by, lrp_by, lb_by) = (uuid_of(lsp), uuid_of(lrp), uuid_of(lb));

    // Every switch holds its VM ports plus its router port, and its LB.
    let mut referenced_ports = BTreeSet::new();
    for sw in ls {
        let ports = sw["ports"].uuids();
        assert_eq!(ports.len(), s.ports_per_switch + 1, "{:?}", sw["name"]);
        for p in &ports {
            assert!(lsp_by.contains_key(p), "dangling port reference");
            referenced_ports.insert(*p);
        }
        let lbs = sw["load_balancer"].uuids();
        assert_eq!(lbs.len(), 1);
        assert!(lb_by.contains_key(&lbs[0]));
    }
    assert_eq!(referenced_ports.len(), lsp.len());

    // VM ports carry "MAC IP" in addresses and port_security.
    let lrp_names = names(lrp);
    for p in lsp {
        let addrs = p["addresses"].strings();
        if p["type"].as_str() == Some("router") {
            assert_eq!(addrs, ["router"]);
            let peer = p["options"].string_pairs();
            assert!(lrp_names.contains(&peer["router-port"]), "router-port {peer:?}");
        } else {
            assert_eq!(addrs.len(), 1);
            assert_eq!(addrs[0].split(' ').count(), 2, "{addrs:?}");
            assert_eq!(p["port_security"].strings(), addrs);
        }
    }

    // The router owns every router port; each has a MAC and a /24.
    let owned: BTreeSet<_> = lr.iter().flat_map(|r| r["ports"].uuids()).collect();
    assert_eq!(owned, lrp_by.keys().copied().collect());
    for p in lrp {
        assert!(p["mac"].as_str().is_some_and(|m| m.len() == 17));
        assert!(p["networks"].strings()[0].ends_with(".1/24"));
    }

    // One VIP with three backends per LB.
    for b in lb {
        let vips = b["vips"].string_pairs();
        assert_eq!(vips.len(), 1);
        assert_eq!(vips.values().next().map(|v| v.split(',').count()), Some(3));
    }
}
