//! The client against a real `ovsdb-server` serving the OVN Northbound schema.

use ovsdb::ops::OpResult;
use ovsdb::remote::Remote;
use ovsdb::{Atom, Client, Condition, Datum, Error, Mutation, Operation, Row};
use testbed::OvsdbServer;

const NB: &str = "OVN_Northbound";

fn row(pairs: &[(&str, Datum)]) -> Row {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

async fn connect(s: &OvsdbServer) -> Client {
    Client::connect(&Remote::parse(&s.remote()).unwrap())
        .await
        .unwrap()
        .0
}

#[tokio::test]
async fn transact_every_operation_kind() {
    if !testbed::require(&["ovsdb-server", "ovsdb-tool"]) {
        return;
    }
    let s = OvsdbServer::start(&testbed::nb_schema());
    let c = connect(&s).await;
    assert!(c.list_dbs().await.unwrap().contains(&NB.to_string()));
    let schema = c.get_schema(NB).await.unwrap();
    assert_eq!(schema.version, "7.0.0");

    // insert a switch and a port in one transaction, linked by named-uuid
    let r = c
        .transact(
            NB,
            &[
                Operation::Insert {
                    table: "Logical_Switch_Port".into(),
                    row: row(&[("name", Datum::string("p1"))]),
                    uuid_name: Some("p".into()),
                },
                Operation::Insert {
                    table: "Logical_Switch".into(),
                    row: row(&[
                        ("name", Datum::string("ls1")),
                        ("ports", Datum::atom(Atom::NamedUuid("p".into()))),
                    ]),
                    uuid_name: None,
                },
                Operation::Comment("test".into()),
            ],
        )
        .await
        .unwrap();
    let (port, ls) = (r[0].uuid.unwrap(), r[1].uuid.unwrap());

    let sel = |conds| Operation::Select {
        table: "Logical_Switch".into(),
        conditions: conds,
        columns: None,
    };
    let rows = c
        .transact(NB, &[sel(vec![Condition::eq("name", Datum::string("ls1"))])])
        .await
        .unwrap();
    let got = &rows[0].rows.as_ref().unwrap()[0];
    assert_eq!(got["_uuid"].as_uuid(), Some(ls));
    assert_eq!(got["ports"].uuids(), vec![port]);

    let upd = Operation::Update {
        table: "Logical_Switch".into(),
        conditions: vec![Condition::uuid(ls)],
        row: row(&[("external_ids", Datum::string_map([("a", "1")]))]),
    };
    let mutate = Operation::Mutate {
        table: "Logical_Switch".into(),
        conditions: vec![Condition::uuid(ls)],
        mutations: vec![Mutation::new(
            "external_ids",
            "insert",
            Datum::string_map([("b", "2")]),
        )],
    };
    // the owned form sends the same operations
    let r = c.transact_owned(NB, vec![upd, mutate]).await.unwrap();
    assert_eq!((r[0].count, r[1].count), (Some(1), Some(1)));
    let rows = c.transact(NB, &[sel(vec![Condition::uuid(ls)])]).await.unwrap();
    assert_eq!(
        rows[0].rows.as_ref().unwrap()[0]["external_ids"],
        Datum::string_map([("a", "1"), ("b", "2")])
    );

    // wait succeeds when the rows match
    let wait = Operation::Wait {
        table: "Logical_Switch".into(),
        timeout_ms: Some(0),
        conditions: vec![Condition::uuid(ls)],
        columns: vec!["name".into()],
        until_equal: true,
        rows: vec![row(&[("name", Datum::string("ls1"))])],
    };
    c.transact(NB, &[wait]).await.unwrap();

    let del = Operation::Delete {
        table: "Logical_Switch".into(),
        conditions: vec![Condition::uuid(ls)],
    };
    let r = c.transact(NB, &[del]).await.unwrap();
    assert_eq!(
        r,
        vec![OpResult {
            count: Some(1),
            ..Default::default()
        }]
    );
    // the port was only referenced by the switch: garbage-collected with it
    let rows = c
        .transact(
            NB,
            &[Operation::Select {
                table: "Logical_Switch_Port".into(),
                conditions: vec![],
                columns: None,
            }],
        )
        .await
        .unwrap();
    assert!(rows[0].rows.as_ref().unwrap().is_empty());
}

#[tokio::test]
async fn constraint_violations_are_typed_and_commit_nothing() {
    if !testbed::require(&["ovsdb-server", "ovsdb-tool"]) {
        return;
    }
    let s = OvsdbServer::start(&testbed::nb_schema());
    let c = connect(&s).await;
    let ins = |name: &str| Operation::Insert {
        table: "Logical_Switch_Port".into(),
        row: row(&[("name", Datum::string(name))]),
        uuid_name: None,
    };
    let ls = |n| Operation::Insert {
        table: "Logical_Switch".into(),
        row: row(&[
            ("name", Datum::string("ls")),
            ("ports", Datum::atom(Atom::NamedUuid(n))),
        ]),
        uuid_name: None,
    };
    let with_name = |op: Operation, n: &str| match op {
        Operation::Insert { table, row, .. } => Operation::Insert {
            table,
            row,
            uuid_name: Some(n.into()),
        },
        o => o,
    };
    // two ports with the same name violate the unique index
    let err = c
        .transact(
            NB,
            &[
                with_name(ins("dup"), "a"),
                with_name(ins("dup"), "b"),
                ls("a".into()),
                ls("b".into()),
            ],
        )
        .await
        .unwrap_err();
    match err {
        Error::Txn(t) => assert_eq!(t.error, "constraint violation", "{t}"),
        e => panic!("unexpected {e}"),
    }
    let bad_enum = Operation::Insert {
        table: "Load_Balancer".into(),
        row: row(&[("protocol", Datum::string("icmp"))]),
        uuid_name: None,
    };
    assert!(matches!(c.transact(NB, &[bad_enum]).await, Err(Error::Txn(_))));
    let rows = c
        .transact(
            NB,
            &[Operation::Select {
                table: "Logical_Switch_Port".into(),
                conditions: vec![],
                columns: None,
            }],
        )
        .await
        .unwrap();
    assert!(rows[0].rows.as_ref().unwrap().is_empty(), "nothing committed");
    // unknown table / method errors do not kill the session
    assert!(
        c.transact(
            NB,
            &[Operation::Delete {
                table: "Nope".into(),
                conditions: vec![]
            }]
        )
        .await
        .is_err()
    );
    assert!(matches!(
        c.call("no_such_method", serde_json::json!([])).await,
        Err(Error::Rpc { .. })
    ));
    c.echo().await.unwrap();
}

#[tokio::test]
async fn server_death_fails_pending_and_later_calls() {
    if !testbed::require(&["ovsdb-server", "ovsdb-tool"]) {
        return;
    }
    let mut s = OvsdbServer::start(&testbed::nb_schema());
    let c = connect(&s).await;
    c.echo().await.unwrap();
    s.kill();
    // the reader notices EOF; every call afterwards fails cleanly
    let e = c.echo().await.unwrap_err();
    assert!(matches!(e, Error::Disconnected), "{e}");
    assert!(!c.is_connected());
    s.restart();
    let c = connect(&s).await;
    c.echo().await.unwrap();
}
