//! The generated structs: shape, conversions both ways, errors, and a round trip
//! through a real ovsdb-server.

use std::collections::BTreeMap;

use ovn_db::{Table, nb, sb};
use ovsdb::remote::Remote;
use ovsdb::{Atom, Client, Datum, Operation, Row, Uuid};

#[test]
fn every_table_has_a_struct_matching_the_schema() {
    for (text, tables) in [(nb::SCHEMA, nb::TABLES), (sb::SCHEMA, sb::TABLES)] {
        let schema = ovn_db::schema(text);
        assert_eq!(tables.len(), schema.tables.len());
        for t in tables {
            assert!(schema.table(t).is_some(), "{t}");
        }
    }
    assert_eq!(nb::DATABASE, "OVN_Northbound");
    assert_eq!(sb::DATABASE, "OVN_Southbound");
    assert_eq!(nb::LogicalSwitch::TABLE, "Logical_Switch");
    assert_eq!(nb::LogicalSwitchPort::COL_TYPE, "type");
    assert!(sb::PortBinding::COLUMNS.contains(&"chassis"));
    // to_row carries every column of the schema, and only those
    let schema = ovn_db::schema(nb::SCHEMA);
    let row = nb::LogicalSwitchPort::default().to_row();
    let cols: Vec<&String> = row.keys().collect();
    let want: Vec<&String> = schema
        .table("Logical_Switch_Port")
        .unwrap()
        .columns
        .keys()
        .collect();
    assert_eq!(cols, want);
}

#[test]
fn fields_have_the_column_types() {
    let u = Uuid::new_v4();
    let lsp = nb::LogicalSwitchPort {
        uuid: u,
        name: "p1".into(),
        r#type: "router".into(),
        addresses: vec!["router".into()],
        tag: Some(7),
        tag_request: None,
        up: Some(true),
        enabled: None,
        options: BTreeMap::from([("router-port".to_string(), "lrp1".to_string())]),
        dhcpv4_options: Some(Uuid::new_v4()),
        ..Default::default()
    };
    let mut row = lsp.to_row();
    assert_eq!(row["tag"], Datum::integer(7));
    assert_eq!(row["tag_request"], Datum::empty_set());
    assert_eq!(row["options"], Datum::string_map([("router-port", "lrp1")]));
    assert!(!row.contains_key("_uuid"), "to_row is for insert/update");
    row.insert("_uuid".into(), Datum::uuid(u));
    assert_eq!(nb::LogicalSwitchPort::from_row(&row).unwrap(), lsp);

    let pb = sb::PortBinding {
        logical_port: "lp".into(),
        tunnel_key: 3,
        chassis: Some(Uuid::new_v4()),
        mac: vec!["00:00:00:00:00:01 10.0.0.1".into()],
        ..Default::default()
    };
    assert_eq!(sb::PortBinding::from_row(&pb.to_row()).unwrap(), pb);
    let lf = sb::LogicalFlow {
        r#match: "ip4".into(),
        actions: "next;".into(),
        priority: 100,
        ..Default::default()
    };
    assert_eq!(sb::LogicalFlow::from_row(&lf.to_row()).unwrap(), lf);
}

#[test]
fn setters_missing_columns_and_type_errors() {
    let mut row = Row::new();
    nb::LogicalSwitch::set_name(&mut row, &"ls1".to_string());
    nb::LogicalSwitch::set_ports(&mut row, &vec![Uuid::nil()]);
    assert_eq!(row.len(), 2);
    // columns not monitored come back as defaults
    let ls = nb::LogicalSwitch::from_row(&row).unwrap();
    assert_eq!(
        (ls.name.as_str(), ls.ports.len(), ls.uuid),
        ("ls1", 1, Uuid::nil())
    );
    assert!(ls.other_config.is_empty());
    row.insert("name".into(), Datum::integer(1));
    let e = nb::LogicalSwitch::from_row(&row).unwrap_err();
    assert_eq!((e.table.as_str(), e.column.as_str()), ("Logical_Switch", "name"));
    let mut row = Row::new();
    row.insert("tag".into(), Datum::set([Atom::Integer(1), Atom::Integer(2)]));
    assert!(nb::LogicalSwitchPort::from_row(&row).is_err());
}

#[tokio::test]
async fn round_trip_through_a_real_server() {
    if !testbed::require(&["ovsdb-server", "ovsdb-tool"]) {
        return;
    }
    let srv = testbed::OvsdbServer::start(&testbed::nb_schema());
    let (c, _) = Client::connect(&Remote::parse(&srv.remote()).unwrap())
        .await
        .unwrap();
    let acl = nb::Acl {
        action: "allow-related".into(),
        direction: "to-lport".into(),
        r#match: "ip4 && tcp.dst == 80".into(),
        priority: 1001,
        log: true,
        name: Some("web".into()),
        severity: Some("info".into()),
        external_ids: BTreeMap::from([("owner".to_string(), "test".to_string())]),
        ..Default::default()
    };
    let ls = nb::LogicalSwitch {
        name: "ls1".into(),
        ..Default::default()
    };
    let mut ls_row = ls.to_row();
    ls_row.insert("acls".into(), Datum::atom(Atom::NamedUuid("acl".into())));
    let r = c
        .transact(
            nb::DATABASE,
            &[
                Operation::Insert {
                    table: nb::Acl::TABLE.into(),
                    row: acl.to_row(),
                    uuid_name: Some("acl".into()),
                },
                Operation::Insert {
                    table: nb::LogicalSwitch::TABLE.into(),
                    row: ls_row,
                    uuid_name: None,
                },
            ],
        )
        .await
        .unwrap();
    let sel = |t: &str| Operation::Select {
        table: t.into(),
        conditions: vec![],
        columns: None,
    };
    let rows = c
        .transact(
            nb::DATABASE,
            &[sel(nb::Acl::TABLE), sel(nb::LogicalSwitch::TABLE)],
        )
        .await
        .unwrap();
    let got = nb::Acl::from_row(&rows[0].rows.as_ref().unwrap()[0]).unwrap();
    assert_eq!(
        got,
        nb::Acl {
            uuid: r[0].uuid.unwrap(),
            ..acl
        }
    );
    let got_ls = nb::LogicalSwitch::from_row(&rows[1].rows.as_ref().unwrap()[0]).unwrap();
    assert_eq!(got_ls.acls, vec![r[0].uuid.unwrap()]);
    assert_eq!(got_ls.uuid, r[1].uuid.unwrap());
}

#[test]
fn typed_rows_straight_from_the_idl() {
    let schema = ovn_db::schema(nb::SCHEMA);
    let mut idl = ovsdb::Idl::with_schema(schema.clone(), ovsdb::Idl::all_tables(&schema));
    let u = "11111111-1111-1111-1111-111111111111";
    let reply = serde_json::json!({"Logical_Switch": {u: {"initial": {
        "name": "ls1", "other_config": ["map", [["subnet", "10.0.0.0/24"]]]}}}});
    idl.apply_monitor_reply(ovsdb::monitor::MonitorMethod::MonitorCond, &reply)
        .unwrap();
    let all: Vec<nb::LogicalSwitch> = idl.typed().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].uuid, u.parse::<Uuid>().unwrap());
    assert_eq!(all[0].other_config["subnet"], "10.0.0.0/24");
    let one = idl.get::<nb::LogicalSwitch>(&all[0].uuid).unwrap().unwrap();
    assert_eq!(one, all[0]);
}
