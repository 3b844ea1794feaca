//! Sessions, monitors and the IDL against a real `ovsdb-server` (OVN Northbound).
//! After every step the replica is compared with what the server returns for a
//! `select`, so the IDL is checked against the server itself, not against our idea
//! of it.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use ovsdb::idl::{Idl, RowChange, SyncKind};
use ovsdb::lock::LockEvent;
use ovsdb::monitor::{Clause, MonitorMethod, TableMonitor};
use ovsdb::remote::Remote;
use ovsdb::session::{Event, Session, SessionConfig};
use ovsdb::{Atom, Client, Condition, Datum, Mutation, Operation, Row, Uuid};
use testbed::OvsdbServer;

const NB: &str = "OVN_Northbound";
const LS: &str = "Logical_Switch";

fn have_ovs() -> bool {
    testbed::require(&["ovsdb-server", "ovsdb-tool"])
}

fn row(pairs: &[(&str, Datum)]) -> Row {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

async fn client(s: &OvsdbServer) -> Client {
    Client::connect(&Remote::parse(&s.remote()).unwrap())
        .await
        .unwrap()
        .0
}

fn insert_ls(name: &str) -> Operation {
    Operation::Insert {
        table: LS.into(),
        row: row(&[("name", Datum::string(name))]),
        uuid_name: None,
    }
}

fn by_name(name: &str) -> Vec<Condition> {
    vec![Condition::eq("name", Datum::string(name))]
}

/// The server's view of a table, as the IDL should hold it.
async fn server_rows(c: &Client, table: &str) -> BTreeMap<Uuid, Row> {
    let r = c
        .transact(
            NB,
            &[Operation::Select {
                table: table.into(),
                conditions: vec![],
                columns: None,
            }],
        )
        .await
        .unwrap();
    r[0].rows
        .clone()
        .unwrap()
        .into_iter()
        .map(|mut r| {
            r.remove("_version");
            (r["_uuid"].as_uuid().unwrap(), r)
        })
        .collect()
}

fn idl_rows(s: &Session, table: &str) -> BTreeMap<Uuid, Row> {
    s.with_idl(|idl| idl.table(table).map(|(u, r)| (*u, r.clone())).collect())
}

/// Waits until the replica equals the server's table.
async fn converge(s: &Session, c: &Client, table: &str) {
    let want = server_rows(c, table).await;
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        if idl_rows(s, table) == want {
            return;
        }
        assert!(
            Instant::now() < end,
            "replica of {table} never matched the server:\nidl {:#?}\nserver {want:#?}",
            idl_rows(s, table)
        );
        let seq = s.seqno();
        let _ = tokio::time::timeout(Duration::from_millis(200), s.changed(seq)).await;
    }
}

async fn next_event(
    rx: &mut tokio::sync::broadcast::Receiver<Event>,
    want: impl Fn(&Event) -> bool,
) -> Event {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Ok(e)) if want(&e) => return e,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("event channel: {e}"),
            Err(_) => panic!("timed out waiting for an event"),
        }
    }
}

fn session(s: &OvsdbServer) -> SessionConfig {
    SessionConfig::new(&s.remote(), NB)
        .unwrap()
        .monitor(LS, TableMonitor::all())
        .monitor("Logical_Switch_Port", TableMonitor::all())
}

#[tokio::test]
async fn idl_replicates_every_kind_of_change() {
    if !have_ovs() {
        return;
    }
    let srv = OvsdbServer::start(&testbed::nb_schema());
    let c = client(&srv).await;
    c.transact(NB, &[insert_ls("pre")]).await.unwrap();
    let s = Session::start(session(&srv));
    s.wait_connected().await.unwrap();
    converge(&s, &c, LS).await;
    let ch = s.take_changes();
    assert_eq!(ch.len(), 1);
    assert!(matches!(
        ch.table(LS).next().unwrap().1,
        RowChange::Inserted { .. }
    ));

    // insert a switch with a port, then mutate sets and maps every way
    let r = c
        .transact(
            NB,
            &[
                Operation::Insert {
                    table: "Logical_Switch_Port".into(),
                    row: row(&[
                        ("name", Datum::string("p1")),
                        (
                            "addresses",
                            Datum::set([Atom::string("00:00:00:00:00:01 10.0.0.1")]),
                        ),
                    ]),
                    uuid_name: Some("p".into()),
                },
                Operation::Insert {
                    table: LS.into(),
                    row: row(&[
                        ("name", Datum::string("ls1")),
                        ("ports", Datum::atom(Atom::NamedUuid("p".into()))),
                        ("other_config", Datum::string_map([("a", "1"), ("b", "2")])),
                    ]),
                    uuid_name: None,
                },
            ],
        )
        .await
        .unwrap();
    let ls1 = r[1].uuid.unwrap();
    converge(&s, &c, LS).await;
    converge(&s, &c, "Logical_Switch_Port").await;
    let ch = s.take_changes();
    assert_eq!(ch.len(), 2, "{ch:?}");

    let seq = s.seqno();
    c.transact(
        NB,
        &[Operation::Mutate {
            table: LS.into(),
            conditions: vec![Condition::uuid(ls1)],
            mutations: vec![
                Mutation::new("other_config", "delete", Datum::set([Atom::string("a")])),
                Mutation::new("other_config", "insert", Datum::string_map([("c", "3")])),
                Mutation::new("external_ids", "insert", Datum::string_map([("k", "v")])),
            ],
        }],
    )
    .await
    .unwrap();
    s.changed(seq).await.unwrap();
    converge(&s, &c, LS).await;
    c.transact(
        NB,
        &[Operation::Update {
            table: LS.into(),
            conditions: vec![Condition::uuid(ls1)],
            row: row(&[
                ("other_config", Datum::string_map([("b", "changed"), ("c", "3")])),
                ("name", Datum::string("ls1-renamed")),
            ]),
        }],
    )
    .await
    .unwrap();
    converge(&s, &c, LS).await;
    let ch = s.take_changes();
    let RowChange::Modified { old, new } = &ch.tables[LS][&ls1] else {
        panic!("{ch:?}")
    };
    assert_eq!(old["other_config"], Datum::string_map([("a", "1"), ("b", "2")]));
    assert_eq!(
        new["other_config"],
        Datum::string_map([("b", "changed"), ("c", "3")])
    );
    assert_eq!(new["external_ids"], Datum::string_map([("k", "v")]));

    // delete: the port goes with the switch (garbage collection) and both show up
    c.transact(
        NB,
        &[Operation::Delete {
            table: LS.into(),
            conditions: vec![Condition::uuid(ls1)],
        }],
    )
    .await
    .unwrap();
    converge(&s, &c, LS).await;
    converge(&s, &c, "Logical_Switch_Port").await;
    let ch = s.take_changes();
    assert!(matches!(ch.tables[LS][&ls1], RowChange::Deleted { .. }));
    assert_eq!(ch.table("Logical_Switch_Port").count(), 1);

    // transactions through the session, and typed errors
    s.transact(&[insert_ls("via-session")]).await.unwrap();
    let e = s
        .transact(&[Operation::Insert {
            table: "Load_Balancer".into(),
            row: row(&[("protocol", Datum::string("icmp"))]),
            uuid_name: None,
        }])
        .await
        .unwrap_err();
    assert!(matches!(e, ovsdb::Error::Txn(_)), "{e}");
    converge(&s, &c, LS).await;
}

#[tokio::test]
async fn restart_with_offline_writes_yields_the_exact_delta() {
    if !have_ovs() {
        return;
    }
    let mut srv = OvsdbServer::start(&testbed::nb_schema());
    let c = client(&srv).await;
    for n in ["keep", "modify", "delete"] {
        c.transact(NB, &[insert_ls(n)]).await.unwrap();
    }
    drop(c);
    let s = Session::start(session(&srv));
    let mut ev = s.events();
    s.wait_connected().await.unwrap();
    assert_eq!(s.with_idl(|i| i.len(LS)), 3);
    s.take_changes();

    srv.kill();
    next_event(&mut ev, |e| matches!(e, Event::Disconnected { .. })).await;
    // write to the database file while no server runs
    let ops = serde_json::json!([NB,
        {"op": "insert", "table": LS, "row": {"name": "new"}},
        {"op": "update", "table": LS, "where": [["name", "==", "modify"]], "row": {"external_ids": ["map", [["x", "y"]]]}},
        {"op": "delete", "table": LS, "where": [["name", "==", "delete"]]}]);
    testbed::run(
        Command::new("ovsdb-tool")
            .arg("transact")
            .arg(&srv.db_file)
            .arg(ops.to_string()),
    );
    srv.restart();
    let t0 = Instant::now();
    let e = next_event(&mut ev, |e| matches!(e, Event::Connected { .. })).await;
    eprintln!("reconnected {:?} after restart: {e:?}", t0.elapsed());
    let c = client(&srv).await;
    converge(&s, &c, LS).await;
    let ch = s.take_changes();
    let kinds: BTreeMap<String, &str> = ch
        .table(LS)
        .map(|(_, c)| {
            let r = c.new_row().or(c.old_row()).unwrap();
            let k = match c {
                RowChange::Inserted { .. } => "inserted",
                RowChange::Modified { .. } => "modified",
                RowChange::Deleted { .. } => "deleted",
            };
            (r["name"].as_str().unwrap().to_string(), k)
        })
        .collect();
    assert_eq!(
        kinds,
        BTreeMap::from([
            ("new".to_string(), "inserted"),
            ("modify".to_string(), "modified"),
            ("delete".to_string(), "deleted"),
        ]),
        "the untouched row must not show up"
    );
}

#[tokio::test]
async fn monitor_cond_since_resumes_with_a_delta() {
    if !have_ovs() {
        return;
    }
    let srv = OvsdbServer::start(&testbed::nb_schema());
    let w = client(&srv).await;
    w.transact(NB, &[insert_ls("a")]).await.unwrap();
    let schema = w.get_schema(NB).await.unwrap();
    let mut tables = BTreeMap::new();
    tables.insert(LS.to_string(), TableMonitor::columns(["name", "external_ids"]));
    let mut idl = Idl::with_schema(schema, tables);

    let (c1, mut notes) = client_pair(&srv).await;
    let p = idl.monitor_request(MonitorMethod::MonitorCondSince).unwrap();
    let reply = c1.call("monitor_cond_since", p).await.unwrap();
    assert_eq!(
        idl.apply_monitor_reply(MonitorMethod::MonitorCondSince, &reply)
            .unwrap(),
        SyncKind::Replaced
    );
    // a write while connected arrives as update3 and advances the transaction id
    w.transact(NB, &[insert_ls("b")]).await.unwrap();
    let n = tokio::time::timeout(Duration::from_secs(5), notes.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n.method, "update3");
    assert!(idl.apply_notification(&n.method, &n.params).unwrap());
    let txn = idl.last_txn_id().unwrap().to_string();
    idl.take_changes();
    c1.close();

    // writes while this client is away
    w.transact(NB, &[insert_ls("c")]).await.unwrap();
    w.transact(
        NB,
        &[Operation::Delete {
            table: LS.into(),
            conditions: by_name("a"),
        }],
    )
    .await
    .unwrap();
    let (c2, _notes) = client_pair(&srv).await;
    let p = idl.monitor_request(MonitorMethod::MonitorCondSince).unwrap();
    assert_eq!(p[3], serde_json::json!(txn));
    let reply = c2.call("monitor_cond_since", p).await.unwrap();
    let found = reply[0].as_bool().unwrap();
    let kind = idl
        .apply_monitor_reply(MonitorMethod::MonitorCondSince, &reply)
        .unwrap();
    eprintln!("standalone ovsdb-server: found={found}, {kind:?}");
    assert_eq!(kind == SyncKind::Resumed, found);
    let ch = idl.take_changes();
    let names: Vec<(String, bool)> = ch
        .table(LS)
        .map(|(_, c)| {
            let r = c.new_row().or(c.old_row()).unwrap();
            (r["name"].as_str().unwrap().to_string(), c.new_row().is_some())
        })
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&("a".into(), false)) && names.contains(&("c".into(), true)));
    assert_eq!(idl.len(LS), 2);
}

async fn client_pair(
    s: &OvsdbServer,
) -> (
    Client,
    tokio::sync::mpsc::UnboundedReceiver<ovsdb::client::Notification>,
) {
    Client::connect(&Remote::parse(&s.remote()).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn conditional_monitoring_and_condition_changes() {
    if !have_ovs() {
        return;
    }
    let srv = OvsdbServer::start(&testbed::nb_schema());
    let c = client(&srv).await;
    for n in ["a", "b", "c"] {
        c.transact(NB, &[insert_ls(n)]).await.unwrap();
    }
    let cond = |names: &[&str]| -> Vec<Clause> {
        names
            .iter()
            .map(|n| Clause::Cond(Condition::eq("name", Datum::string(*n))))
            .collect()
    };
    let cfg = SessionConfig::new(&srv.remote(), NB).unwrap().monitor(
        LS,
        TableMonitor::columns(["name"]).with_condition(cond(&["a", "b"])),
    );
    let s = Session::start(cfg);
    s.wait_connected().await.unwrap();
    let names = |s: &Session| -> Vec<String> {
        let mut v: Vec<String> = s.with_idl(|i| {
            i.table(LS)
                .map(|(_, r)| r["name"].as_str().unwrap().to_string())
                .collect()
        });
        v.sort();
        v
    };
    assert_eq!(names(&s), vec!["a", "b"], "clauses are a disjunction");
    s.take_changes();
    let seq = s.seqno();
    s.set_condition(LS, Some(cond(&["c"]))).await.unwrap();
    s.changed(seq).await.unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    while names(&s) != vec!["c"] {
        assert!(Instant::now() < end, "{:?}", names(&s));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ch = s.take_changes();
    assert_eq!(ch.len(), 3);
    s.set_condition(LS, Some(vec![Clause::False])).await.unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    while !names(&s).is_empty() {
        assert!(Instant::now() < end);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // back to everything; a new row shows up too
    s.set_condition(LS, None).await.unwrap();
    c.transact(NB, &[insert_ls("d")]).await.unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    while names(&s) != vec!["a", "b", "c", "d"] {
        assert!(Instant::now() < end, "{:?}", names(&s));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `set_conditions` returns only once the rows the new conditions select (and no
/// longer select) are in the replica: checked at once, without waiting, round after
/// round, on a multi-threaded runtime where the caller and the session run in
/// parallel (so that returning on the server's reply alone fails here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn condition_changes_are_in_the_replica_when_set_conditions_returns() {
    if !have_ovs() {
        return;
    }
    const LR: &str = "Logical_Router";
    const GROUPS: usize = 6;
    const PER_GROUP: usize = 400;
    let srv = OvsdbServer::start(&testbed::nb_schema());
    let c = client(&srv).await;
    let mut ops = Vec::new();
    for g in 0..GROUPS {
        for i in 0..PER_GROUP {
            ops.push(Operation::Insert {
                table: LS.into(),
                row: row(&[
                    ("name", Datum::string(format!("s{g}-{i}"))),
                    ("external_ids", Datum::string_map([("g", g.to_string())])),
                ]),
                uuid_name: None,
            });
        }
        ops.push(Operation::Insert {
            table: LR.into(),
            row: row(&[("name", Datum::string(format!("r{g}")))]),
            uuid_name: None,
        });
    }
    c.transact(NB, &ops).await.unwrap();
    let cfg = SessionConfig::new(&srv.remote(), NB)
        .unwrap()
        .monitor(
            LS,
            TableMonitor::columns(["name", "external_ids"]).with_condition(vec![Clause::False]),
        )
        .monitor(
            LR,
            TableMonitor::columns(["name"]).with_condition(vec![Clause::False]),
        );
    let s = Session::start(cfg);
    s.wait_connected().await.unwrap();
    let names = |table: &str| -> Vec<String> {
        let mut v: Vec<String> = s.with_idl(|i| {
            i.table(table)
                .map(|(_, r)| r["name"].as_str().unwrap().to_string())
                .collect()
        });
        v.sort();
        v
    };
    assert!(names(LS).is_empty() && names(LR).is_empty());
    for round in 0..3 * GROUPS {
        let g = round % GROUPS;
        let group = Datum::string_map([("g", g.to_string())]);
        let ls = Some(vec![Clause::Cond(Condition::new(
            "external_ids",
            "includes",
            group,
        ))]);
        let lr = Some(vec![Clause::Cond(Condition::eq(
            "name",
            Datum::string(format!("r{}", GROUPS - 1 - g)),
        ))]);
        s.set_conditions([(LS, ls), (LR, lr)]).await.unwrap();
        let (switches, routers) = (names(LS), names(LR));
        assert_eq!(switches.len(), PER_GROUP, "round {round}");
        assert!(
            switches.iter().all(|n| n.starts_with(&format!("s{g}-"))),
            "round {round}"
        );
        assert_eq!(routers, vec![format!("r{}", GROUPS - 1 - g)], "round {round}");
    }
    let none = Some(vec![Clause::False]);
    s.set_conditions([(LS, none.clone()), (LR, none)]).await.unwrap();
    assert!(names(LS).is_empty() && names(LR).is_empty());
}

/// A session's transactions take their results from the reply's text: new rows'
/// UUIDs, counts and an operation's error come out as from the tree.
#[tokio::test]
async fn session_transactions_report_uuids_counts_and_errors() {
    if !have_ovs() {
        return;
    }
    let srv = OvsdbServer::start(&testbed::nb_schema());
    let s = Session::start(session(&srv));
    s.wait_connected().await.unwrap();
    let r = s.transact(&[insert_ls("a"), insert_ls("b")]).await.unwrap();
    let (a, b) = (r[0].uuid.unwrap(), r[1].uuid.unwrap());
    assert_ne!(a, b);
    let del = Operation::Delete {
        table: LS.into(),
        conditions: vec![Condition::uuid(a)],
    };
    assert_eq!(s.transact(&[del]).await.unwrap()[0].count, Some(1));
    let never = Operation::Wait {
        table: LS.into(),
        timeout_ms: Some(0),
        conditions: by_name("b"),
        columns: vec!["name".into()],
        until_equal: true,
        rows: vec![row(&[("name", Datum::string("c"))])],
    };
    match s.transact(&[insert_ls("c"), never]).await {
        Err(ovsdb::Error::Txn(e)) => assert_eq!(e.op_index, Some(1), "{e:?}"),
        other => panic!("expected the wait to fail: {other:?}"),
    }
    let c = client(&srv).await;
    let names: Vec<String> = server_rows(&c, LS)
        .await
        .values()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["b"], "the failed transaction committed nothing");
}

#[tokio::test]
async fn hung_server_is_dropped_by_the_inactivity_probe() {
    if !have_ovs() || !testbed::installed("kill") {
        return;
    }
    let srv = OvsdbServer::start(&testbed::nb_schema());
    let probe = Duration::from_millis(300);
    let mut cfg = session(&srv).probe_interval(Some(probe)).probe_unix(true);
    cfg.setup_timeout = Duration::from_millis(500);
    let s = Session::start(cfg);
    let mut ev = s.events();
    s.wait_connected().await.unwrap();
    let pid = srv.pid().to_string();
    testbed::run(Command::new("kill").arg("-STOP").arg(&pid));
    let t0 = Instant::now();
    let e = next_event(&mut ev, |e| matches!(e, Event::Disconnected { .. })).await;
    let took = t0.elapsed();
    testbed::run(Command::new("kill").arg("-CONT").arg(&pid));
    let Event::Disconnected { reason, .. } = e else {
        unreachable!()
    };
    assert!(reason.contains("probe"), "{reason}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    next_event(&mut ev, |e| matches!(e, Event::Connected { .. })).await;
    assert!(s.is_connected());
}

#[tokio::test]
async fn locks_between_two_sessions() {
    if !have_ovs() {
        return;
    }
    let srv = OvsdbServer::start(&testbed::sb_schema());
    let mk = || {
        SessionConfig::new(&srv.remote(), "OVN_Southbound")
            .unwrap()
            .lock("ovn_northd")
    };
    let a = Session::start(mk());
    let mut aev = a.events();
    a.wait_connected().await.unwrap();
    next_event(&mut aev, |e| {
        *e == Event::Lock(LockEvent::Acquired("ovn_northd".into()))
    })
    .await;
    assert!(a.has_lock("ovn_northd"));

    let b = Session::start(mk());
    let mut bev = b.events();
    b.wait_connected().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!b.has_lock("ovn_northd"), "queued behind a");

    // a writes under the lock; b's assert fails
    let assert_op = Operation::Assert {
        lock: "ovn_northd".into(),
    };
    a.transact(std::slice::from_ref(&assert_op)).await.unwrap();
    let e = b.transact(std::slice::from_ref(&assert_op)).await.unwrap_err();
    assert!(
        matches!(&e, ovsdb::Error::Txn(t) if t.error == "not owner"),
        "{e}"
    );

    // a releases: b gets it (locked notification)
    a.unlock("ovn_northd").await.unwrap();
    next_event(&mut bev, |e| {
        *e == Event::Lock(LockEvent::Acquired("ovn_northd".into()))
    })
    .await;
    assert!(!a.has_lock("ovn_northd"));

    // a steals it back: b is told (stolen)
    assert!(a.steal("ovn_northd").await.unwrap());
    next_event(&mut bev, |e| {
        *e == Event::Lock(LockEvent::Lost("ovn_northd".into()))
    })
    .await;
    assert!(a.has_lock("ovn_northd") && !b.has_lock("ovn_northd"));

    // a goes away: b, still queued, gets the lock
    drop(a);
    next_event(&mut bev, |e| {
        *e == Event::Lock(LockEvent::Acquired("ovn_northd".into()))
    })
    .await;
    b.transact(&[assert_op]).await.unwrap();
}

#[tokio::test]
async fn rotates_through_remotes_and_backs_off() {
    if !have_ovs() {
        return;
    }
    let srv = OvsdbServer::start(&testbed::nb_schema());
    let dead = srv.dir.join("nobody.sock");
    let remotes = format!("unix:{},{}", dead.display(), srv.remote());
    let s = Session::start(
        SessionConfig::new(&remotes, NB)
            .unwrap()
            .monitor(LS, TableMonitor::all()),
    );
    let t0 = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(5), s.wait_connected())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.to_string(), srv.remote());
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
    s.close();
    assert!(matches!(s.wait_connected().await, Err(ovsdb::Error::Closed)));
}
