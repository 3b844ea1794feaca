//! The IDL state machine fed with hand-written server JSON.

use serde_json::json;

use super::*;

const SCHEMA: &str = r#"{"name": "T", "version": "1.0.0", "tables": {
  "R": {"columns": {
    "name": {"type": "string"},
    "n": {"type": {"key": "integer", "min": 0, "max": 1}},
    "tags": {"type": {"key": "string", "min": 0, "max": "unlimited"}},
    "pair": {"type": {"key": "integer", "min": 0, "max": 2}},
    "opts": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}},
    "refs": {"type": {"key": {"type": "uuid", "refTable": "R"}, "min": 0, "max": "unlimited"}},
    "flag": {"type": "boolean"}
  }},
  "S": {"columns": {"v": {"type": "integer"}}}
}}"#;

fn idl() -> Idl {
    let schema = DatabaseSchema::parse(SCHEMA).unwrap();
    let reqs = Idl::all_tables(&schema);
    Idl::with_schema(schema, reqs)
}

fn u(i: u8) -> Uuid {
    Uuid::from_bytes([i; 16])
}

fn strs(v: &[&str]) -> Datum {
    Datum::set(v.iter().map(|s| Atom::string(*s)))
}

fn initial(idl: &mut Idl) {
    let reply = json!({"R": {
        u(1).to_string(): {"initial": {"name": "a", "tags": ["set", ["x", "y"]], "opts": ["map", [["k", "v"], ["k2", "v2"]]]}},
        u(2).to_string(): {"initial": {"name": "b", "n": 5}}
    }});
    assert_eq!(
        idl.apply_monitor_reply(MonitorMethod::MonitorCond, &reply)
            .unwrap(),
        SyncKind::Replaced
    );
}

fn update2(idl: &mut Idl, table_updates: Value) {
    assert!(
        idl.apply_notification("update2", &json!(["idl", table_updates]))
            .unwrap()
    );
}

#[test]
fn initial_rows_get_defaults_and_uuid() {
    let mut idl = idl();
    initial(&mut idl);
    let r = idl.row("R", &u(2)).unwrap();
    assert_eq!(r["name"], Datum::string("b"));
    assert_eq!(r["n"], Datum::integer(5));
    assert_eq!(r["tags"], Datum::empty_set());
    assert_eq!(r["opts"], Datum::empty_map());
    assert_eq!(r["flag"], Datum::boolean(false));
    assert_eq!(r["_uuid"], Datum::uuid(u(2)));
    assert_eq!(idl.seqno(), 1);
    let ch = idl.take_changes();
    assert_eq!(ch.len(), 2);
    assert!(matches!(ch.tables["R"][&u(1)], RowChange::Inserted { .. }));
    assert!(!idl.has_changes());
    assert!(idl.take_changes().is_empty());
}

#[test]
fn modify_diffs_follow_ovsdb_semantics() {
    let mut idl = idl();
    initial(&mut idl);
    idl.take_changes();
    update2(
        &mut idl,
        json!({"R": {u(1).to_string(): {"modify": {
            // set: symmetric difference (remove x, add z)
            "tags": ["set", ["x", "z"]],
            // map: k removed (same value), k2 replaced (other value), k3 added
            "opts": ["map", [["k", "v"], ["k2", "new"], ["k3", "v3"]]],
            // optional and scalar columns are replaced
            "n": 9,
            "name": "a2",
            // a set with max 2 is composite too
            "pair": ["set", [1, 2]]
        }}}}),
    );
    let r = idl.row("R", &u(1)).unwrap();
    assert_eq!(r["tags"], strs(&["y", "z"]));
    assert_eq!(r["opts"], Datum::string_map([("k2", "new"), ("k3", "v3")]));
    assert_eq!(r["n"], Datum::integer(9));
    assert_eq!(r["name"], Datum::string("a2"));
    assert_eq!(r["pair"], Datum::set([Atom::Integer(1), Atom::Integer(2)]));
    // optional emptied: the diff is the new (empty) value
    update2(
        &mut idl,
        json!({"R": {u(1).to_string(): {"modify": {"n": ["set", []], "pair": 1, "tags": "y"}}}}),
    );
    let r = idl.row("R", &u(1)).unwrap();
    assert_eq!(r["n"], Datum::empty_set());
    assert_eq!(r["pair"], Datum::integer(2));
    assert_eq!(r["tags"], strs(&["z"]));
    let ch = idl.take_changes();
    let RowChange::Modified { old, new } = &ch.tables["R"][&u(1)] else {
        panic!("{ch:?}")
    };
    assert_eq!(old["tags"], strs(&["x", "y"]));
    assert_eq!(new["tags"], strs(&["z"]));
    let mut cols = ch.tables["R"][&u(1)].changed_columns();
    cols.sort();
    assert_eq!(cols, vec!["name", "opts", "pair", "tags"]);
}

#[test]
fn map_diff_on_empty_and_unknown_columns() {
    assert_eq!(
        apply_datum_diff(Datum::empty_set(), Datum::string_map([("a", "1")])),
        Datum::string_map([("a", "1")])
    );
    assert_eq!(
        apply_datum_diff(Datum::string_map([("a", "1")]), Datum::empty_set()),
        Datum::string_map([("a", "1")])
    );
    assert_eq!(
        apply_datum_diff(Datum::string_map([("a", "1")]), Datum::string_map([("a", "1")])),
        Datum::empty_map()
    );
    // a column unknown to the schema is replaced
    let mut row = Row::new();
    row.insert("x".into(), Datum::integer(1));
    let mut diff = Row::new();
    diff.insert("x".into(), Datum::integer(2));
    assert_eq!(apply_diff(row, diff, None)["x"], Datum::integer(2));
}

#[test]
fn changes_coalesce() {
    let mut idl = idl();
    initial(&mut idl);
    idl.take_changes();
    // insert then modify: one insertion with the final contents
    update2(
        &mut idl,
        json!({"R": {u(3).to_string(): {"insert": {"name": "c"}}}}),
    );
    update2(
        &mut idl,
        json!({"R": {u(3).to_string(): {"modify": {"name": "c2"}}}}),
    );
    // insert then delete: nothing
    update2(
        &mut idl,
        json!({"R": {u(4).to_string(): {"insert": {"name": "d"}}}}),
    );
    update2(&mut idl, json!({"R": {u(4).to_string(): {"delete": null}}}));
    // modify and back: nothing
    update2(
        &mut idl,
        json!({"R": {u(2).to_string(): {"modify": {"name": "zz"}}}}),
    );
    update2(
        &mut idl,
        json!({"R": {u(2).to_string(): {"modify": {"name": "b"}}}}),
    );
    // modify then delete: deleted, with the row as the consumer last saw it
    update2(
        &mut idl,
        json!({"R": {u(1).to_string(): {"modify": {"name": "q"}}}}),
    );
    update2(&mut idl, json!({"R": {u(1).to_string(): {"delete": null}}}));
    let ch = idl.take_changes();
    assert_eq!(ch.len(), 2, "{ch:?}");
    match &ch.tables["R"][&u(3)] {
        RowChange::Inserted { new } => assert_eq!(new["name"], Datum::string("c2")),
        c => panic!("{c:?}"),
    }
    match &ch.tables["R"][&u(1)] {
        RowChange::Deleted { old } => assert_eq!(old["name"], Datum::string("a")),
        c => panic!("{c:?}"),
    }
    assert_eq!(idl.len("R"), 2);
    // unknown rows in modify/delete are ignored, not fatal
    update2(
        &mut idl,
        json!({"R": {u(9).to_string(): {"modify": {"name": "x"}}}}),
    );
    update2(&mut idl, json!({"R": {u(9).to_string(): {"delete": null}}}));
    assert!(idl.take_changes().is_empty());
}

#[test]
fn since_resume_applies_delta_and_resync_replaces() {
    let mut idl = idl();
    idl.monitor_request(MonitorMethod::MonitorCondSince).unwrap();
    let first = json!([false, "t1", {"R": {
        u(1).to_string(): {"initial": {"name": "a"}},
        u(2).to_string(): {"initial": {"name": "b"}}
    }}]);
    assert_eq!(
        idl.apply_monitor_reply(MonitorMethod::MonitorCondSince, &first)
            .unwrap(),
        SyncKind::Replaced
    );
    assert_eq!(idl.last_txn_id(), Some("t1"));
    idl.take_changes();
    assert!(
        idl.apply_notification(
            "update3",
            &json!(["idl", "t2", {"R": {u(2).to_string(): {"modify": {"name": "b2"}}}}])
        )
        .unwrap()
    );
    assert_eq!(idl.last_txn_id(), Some("t2"));
    idl.take_changes();
    // the next request resumes from t2
    let p = idl.monitor_request(MonitorMethod::MonitorCondSince).unwrap();
    assert_eq!(p[3], json!("t2"));

    // found=true: the reply is a delta
    idl.monitor_request(MonitorMethod::MonitorCondSince).unwrap();
    let delta = json!([true, "t3", {"R": {u(3).to_string(): {"insert": {"name": "c"}}, u(1).to_string(): {"delete": null}}}]);
    assert_eq!(
        idl.apply_monitor_reply(MonitorMethod::MonitorCondSince, &delta)
            .unwrap(),
        SyncKind::Resumed
    );
    let ch = idl.take_changes();
    assert_eq!(ch.len(), 2);
    assert!(matches!(ch.tables["R"][&u(1)], RowChange::Deleted { .. }));
    assert!(matches!(ch.tables["R"][&u(3)], RowChange::Inserted { .. }));

    // found=false: full contents; the changes are exactly the difference
    let full = json!([false, "t9", {"R": {
        u(2).to_string(): {"initial": {"name": "b2"}},
        u(3).to_string(): {"initial": {"name": "c-changed"}},
        u(4).to_string(): {"initial": {"name": "d"}}
    }}]);
    assert_eq!(
        idl.apply_monitor_reply(MonitorMethod::MonitorCondSince, &full)
            .unwrap(),
        SyncKind::Replaced
    );
    let ch = idl.take_changes();
    assert_eq!(ch.len(), 2, "{ch:?}");
    assert!(matches!(ch.tables["R"][&u(3)], RowChange::Modified { .. }));
    assert!(matches!(ch.tables["R"][&u(4)], RowChange::Inserted { .. }));
    assert_eq!(idl.len("R"), 3);
    idl.monitor_request(MonitorMethod::MonitorCondSince).unwrap();
    // a resync that deletes everything
    idl.apply_monitor_reply(MonitorMethod::MonitorCondSince, &json!([false, "t10", {}]))
        .unwrap();
    let ch = idl.take_changes();
    assert_eq!(ch.len(), 3);
    assert!(ch.table("R").all(|(_, c)| matches!(c, RowChange::Deleted { .. })));
}

#[test]
fn plain_monitor_update_format() {
    let mut idl = idl();
    let reply = json!({"R": {u(1).to_string(): {"new": {"name": "a", "tags": ["set", []]}}}});
    idl.apply_monitor_reply(MonitorMethod::Monitor, &reply).unwrap();
    idl.take_changes();
    let up = json!(["idl", {"R": {
        u(1).to_string(): {"old": {"name": "a"}, "new": {"name": "a1", "tags": "t"}},
        u(2).to_string(): {"new": {"name": "b"}}
    }}]);
    assert!(idl.apply_notification("update", &up).unwrap());
    assert_eq!(idl.row("R", &u(1)).unwrap()["tags"], strs(&["t"]));
    let ch = idl.take_changes();
    assert_eq!(ch.len(), 2);
    idl.apply_notification(
        "update",
        &json!(["idl", {"R": {u(2).to_string(): {"old": {"name": "b"}}}}]),
    )
    .unwrap();
    assert_eq!(idl.len("R"), 1);
    assert_eq!(idl.last_txn_id(), None);
}

#[test]
fn malformed_updates_change_nothing() {
    let mut idl = idl();
    initial(&mut idl);
    idl.take_changes();
    let seq = idl.seqno();
    for bad in [
        json!(["idl", {"R": {u(1).to_string(): {"modify": {"name": 5}}}}]),
        json!(["idl", {"R": {"zz": {"delete": null}}}]),
        json!(["idl", []]),
        json!(["idl"]),
        json!("x"),
    ] {
        // one good row before the bad one: still nothing applied
        let mut v = bad.clone();
        if let Some(t) = v
            .get_mut(1)
            .and_then(|t| t.get_mut("R"))
            .and_then(Value::as_object_mut)
        {
            t.insert(u(7).to_string(), json!({"insert": {"name": "partial"}}));
        }
        assert!(idl.apply_notification("update2", &v).is_err(), "{v}");
    }
    assert_eq!(idl.seqno(), seq);
    assert!(idl.row("R", &u(7)).is_none());
    assert!(!idl.has_changes());
    // other monitors' updates and other methods are not ours
    assert!(!idl.apply_notification("update2", &json!(["other", {}])).unwrap());
    assert!(!idl.apply_notification("locked", &json!(["l"])).unwrap());
    // an initial dump may not contain modify/delete
    assert!(
        idl.apply_monitor_reply(
            MonitorMethod::MonitorCond,
            &json!({"R": {u(1).to_string(): {"delete": null}}})
        )
        .is_err()
    );
    assert!(
        idl.apply_monitor_reply(MonitorMethod::MonitorCondSince, &json!([1, 2]))
            .is_err()
    );
}

#[test]
fn updates_without_schema_are_errors() {
    let mut idl = Idl::new("T", BTreeMap::new());
    assert!(
        idl.apply_monitor_reply(MonitorMethod::MonitorCond, &json!({}))
            .is_err()
    );
    assert!(idl.monitor_request(MonitorMethod::MonitorCond).is_err());
}

#[test]
fn condition_changes() {
    let mut idl = idl();
    let c = vec![Clause::Cond(crate::Condition::eq("name", Datum::string("a")))];
    let p = idl.set_condition("R", Some(c.clone())).unwrap();
    assert_eq!(
        p,
        json!(["idl", "idl", {"R": [{"where": [["name", "==", "a"]]}]}])
    );
    assert!(idl.set_condition("R", Some(c)).is_none(), "unchanged");
    assert!(idl.set_condition("Nope", None).is_none());
    // not sent: the next monitor starts over with the new condition
    idl.apply_monitor_reply(MonitorMethod::MonitorCondSince, &json!([false, "t1", {}]))
        .unwrap();
    idl.conditions_not_sent();
    let p = idl.monitor_request(MonitorMethod::MonitorCondSince).unwrap();
    assert_eq!(p[3], json!(monitor::ZERO_TXN_ID));
    assert_eq!(p[2]["R"][0]["where"], json!([["name", "==", "a"]]));
    assert!(
        idl.pending_condition_change().is_none(),
        "carried by the monitor request"
    );
    idl.conditions_not_sent();
    let all = idl.pending_condition_change().unwrap();
    assert_eq!(all[2]["S"], json!([{"where": [true]}]));
    assert_eq!(
        idl.set_condition("R", None).unwrap()[2]["R"],
        json!([{"where": [true]}])
    );
}

#[test]
fn condition_changes_go_together() {
    let mut idl = idl();
    let a = vec![Clause::Cond(crate::Condition::eq("name", Datum::string("a")))];
    let p = idl
        .set_conditions([
            ("R", Some(a.clone())),
            ("S", Some(vec![Clause::False])),
            ("Nope", None),
        ])
        .unwrap();
    assert_eq!(
        p[2],
        json!({"R": [{"where": [["name", "==", "a"]]}], "S": [{"where": [false]}]})
    );
    // only what changed is sent again
    let p = idl.set_conditions([("R", Some(a)), ("S", None)]).unwrap();
    assert_eq!(p[2], json!({"S": [{"where": [true]}]}));
    assert!(idl.set_conditions([("S", None)]).is_none());
}

#[test]
fn all_tables_follow_the_schema() {
    let mut idl = Idl::new_all_tables("T");
    assert!(idl.is_monitoring());
    idl.set_schema(DatabaseSchema::parse(SCHEMA).unwrap());
    assert_eq!(idl.requests().len(), 2);
    let p = idl.monitor_request(MonitorMethod::MonitorCond).unwrap();
    assert!(p[2].get("S").is_some());
}

/// `take_notification` moves an update for this IDL out of the params (nothing is
/// copied), and leaves any other notification as it was for the next consumer.
#[test]
fn take_notification_moves_only_its_own_updates() {
    let mut idl = idl();
    initial(&mut idl);
    let mut other = json!(["other", {"R": {u(3).to_string(): {"insert": {"name": "c"}}}}]);
    let before = other.clone();
    assert!(!idl.take_notification("update2", &mut other).unwrap());
    assert_eq!(other, before);
    let mut locked = json!(["l"]);
    assert!(!idl.take_notification("locked", &mut locked).unwrap());
    assert_eq!(locked, json!(["l"]));

    let mut ours = json!(["idl", "t9", {"R": {u(3).to_string(): {"insert": {"name": "c"}}}}]);
    assert!(idl.take_notification("update3", &mut ours).unwrap());
    assert_eq!(ours, json!(["idl", "t9", null]));
    assert_eq!(idl.row("R", &u(3)).unwrap()["name"], Datum::string("c"));
    assert_eq!(idl.last_txn_id(), Some("t9"));
}

/// A consumed monitor reply gives the same replica as a borrowed one.
#[test]
fn owned_monitor_reply_matches_borrowed() {
    let reply = json!([false, "t1", {"R": {
        u(1).to_string(): {"initial": {"name": "a", "opts": ["map", [["k", "v"]]]}},
        u(2).to_string(): {"initial": {"name": "b", "refs": ["set", [["uuid", u(1).to_string()]]]}}
    }}]);
    let mut a = idl();
    let mut b = idl();
    a.apply_monitor_reply(MonitorMethod::MonitorCondSince, &reply)
        .unwrap();
    b.apply_monitor_reply_owned(MonitorMethod::MonitorCondSince, reply)
        .unwrap();
    assert_eq!(a.tables(), b.tables());
    assert_eq!(b.len("R"), 2);
    assert_eq!(b.last_txn_id(), Some("t1"));
    for bad in [json!([true, "t"]), json!([1, "t", {}]), json!({"x": 1})] {
        assert!(
            b.apply_monitor_reply_owned(MonitorMethod::MonitorCondSince, bad)
                .is_err()
        );
    }
}

/// Batches cover exactly the changes `take_changes` gives, in table then UUID order,
/// none larger than asked; discarding copies nothing and leaves nothing pending.
#[test]
fn changes_taken_in_batches_add_up_to_all_of_them() {
    let mut a = idl();
    initial(&mut a);
    let _ = a.take_changes();
    let mut ups = serde_json::Map::new();
    for i in 10..15 {
        ups.insert(u(i).to_string(), json!({"insert": {"name": format!("r{i}")}}));
    }
    ups.insert(u(1).to_string(), json!({"delete": null}));
    update2(
        &mut a,
        json!({"R": ups, "S": {
            u(20).to_string(): {"insert": {"v": 1}}, u(21).to_string(): {"insert": {"v": 2}}
        }}),
    );
    let mut b = idl();
    initial(&mut b);
    let _ = b.take_changes();
    b.pending = a.pending.clone();
    b.tables = a.tables.clone();
    let all = b.take_changes();
    assert_eq!(all.len(), 8);

    let mut got: Vec<(String, Uuid)> = Vec::new();
    let mut merged = Changes::default();
    loop {
        let batch = a.take_changes_upto(3);
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 3);
        for (t, rows) in batch.tables {
            for (u, c) in rows {
                got.push((t.clone(), u));
                merged.tables.entry(t.clone()).or_default().insert(u, c);
            }
        }
    }
    assert!(!a.has_changes());
    assert_eq!(merged, all);
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(got, sorted);

    update2(&mut a, json!({"S": {u(22).to_string(): {"insert": {"v": 3}}}}));
    assert!(a.has_changes());
    a.discard_changes();
    assert!(!a.has_changes());
    assert!(a.take_changes().is_empty());
    assert!(a.row("S", &u(22)).is_some());
}

/// The diff semantics as they were implemented on `BTreeMap`/`BTreeSet` before rows and
/// data became compact: the reference the merge-based [`apply_datum_diff`] must match.
fn reference_datum_diff(old: &Datum, diff: &Datum) -> Datum {
    use std::collections::BTreeSet;
    match (old, diff) {
        (Datum::Map(m), Datum::Map(d)) => {
            let mut m: BTreeMap<Atom, Atom> = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            for (k, v) in d {
                match m.get(k) {
                    Some(cur) if cur == v => {
                        m.remove(k);
                    }
                    _ => {
                        m.insert(k.clone(), v.clone());
                    }
                }
            }
            Datum::map(m)
        }
        (Datum::Set(s), Datum::Set(d)) => {
            let mut set: BTreeSet<Atom> = s.iter().cloned().collect();
            for a in d.iter() {
                if !set.remove(a) {
                    set.insert(a.clone());
                }
            }
            Datum::set(set)
        }
        _ => unreachable!("the test only pairs sets with sets and maps with maps"),
    }
}

/// A small deterministic generator, so a failure reproduces.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }

    fn atom(&mut self) -> Atom {
        Atom::string(format!("k{}", self.below(8)))
    }

    fn set(&mut self) -> Datum {
        let n = self.below(5);
        Datum::set((0..n).map(|_| self.atom()))
    }

    fn map(&mut self) -> Datum {
        let n = self.below(5);
        Datum::map((0..n).map(|_| (self.atom(), Atom::string(format!("v{}", self.below(3))))))
    }
}

#[test]
fn set_and_map_diffs_match_the_btree_semantics() {
    let mut g = Lcg(7);
    for _ in 0..2000 {
        let (old, diff) = (g.set(), g.set());
        assert_eq!(
            apply_datum_diff(old.clone(), diff.clone()),
            reference_datum_diff(&old, &diff),
            "{old} ^ {diff}"
        );
        let (old, diff) = (g.map(), g.map());
        assert_eq!(
            apply_datum_diff(old.clone(), diff.clone()),
            reference_datum_diff(&old, &diff),
            "{old} ^ {diff}"
        );
    }
    // a set built by hand, unsorted and with duplicates, still gets the same result
    let unsorted = Datum::Set(vec![Atom::string("b"), Atom::string("a"), Atom::string("b")].into());
    assert_eq!(apply_datum_diff(unsorted, strs(&["a", "c"])), strs(&["b", "c"]));
}

#[test]
fn replica_rows_share_their_column_names() {
    let mut idl = idl();
    initial(&mut idl);
    update2(
        &mut idl,
        json!({"R": {
            u(3).to_string(): {"insert": {"name": "c", "flag": true}},
            u(1).to_string(): {"modify": {"tags": "q", "opts": ["map", [["k", "x"]]]}}
        }}),
    );
    let cols = idl.row("R", &u(1)).unwrap().columns().clone();
    assert_eq!(
        cols.names(),
        ["_uuid", "flag", "n", "name", "opts", "pair", "refs", "tags"]
    );
    for (_, r) in idl.table("R") {
        assert!(Arc::ptr_eq(r.columns(), &cols), "{r:?}");
    }
    // the changes' copies share them too, and a reconnect's schema keeps them
    for (_, c) in idl.take_changes().table("R") {
        for r in [c.old_row(), c.new_row()].into_iter().flatten() {
            assert!(Arc::ptr_eq(r.columns(), &cols));
        }
    }
    let schema = idl.schema().unwrap().clone();
    idl.set_schema(schema);
    update2(
        &mut idl,
        json!({"R": {u(4).to_string(): {"insert": {"name": "d"}}}}),
    );
    assert!(Arc::ptr_eq(idl.row("R", &u(4)).unwrap().columns(), &cols));
    // the row reads as the old map-of-columns row did
    let expected: Row = [
        ("_uuid".to_string(), Datum::uuid(u(4))),
        ("flag".into(), Datum::boolean(false)),
        ("n".into(), Datum::empty_set()),
        ("name".into(), Datum::string("d")),
        ("opts".into(), Datum::empty_map()),
        ("pair".into(), Datum::empty_set()),
        ("refs".into(), Datum::empty_set()),
        ("tags".into(), Datum::empty_set()),
    ]
    .into();
    assert_eq!(idl.row("R", &u(4)), Some(&expected));
}

#[test]
fn columns_the_schema_does_not_know_are_kept_on_their_row_only() {
    let mut idl = idl();
    initial(&mut idl);
    update2(
        &mut idl,
        json!({"R": {
            u(3).to_string(): {"insert": {"name": "c", "zz_new": 5, "_aa": "x"}}
        }}),
    );
    let r3 = idl.row("R", &u(3)).unwrap();
    assert_eq!(r3["zz_new"], Datum::integer(5));
    assert_eq!(r3["_aa"], Datum::string("x"));
    assert_eq!(r3["name"], Datum::string("c"));
    assert_eq!(r3.len(), 10);
    let r1 = idl.row("R", &u(1)).unwrap();
    assert!(!r1.contains_key("zz_new"));
    assert!(!Arc::ptr_eq(r1.columns(), r3.columns()));
    // a modify may bring an unknown column too; it is replaced like a scalar
    update2(
        &mut idl,
        json!({"R": {u(1).to_string(): {"modify": {"zz_new": 1}}}}),
    );
    update2(
        &mut idl,
        json!({"R": {u(1).to_string(): {"modify": {"zz_new": 2}}}}),
    );
    assert_eq!(idl.row("R", &u(1)).unwrap()["zz_new"], Datum::integer(2));
    assert!(!idl.row("R", &u(2)).unwrap().contains_key("zz_new"));
}

#[test]
fn data_stay_small() {
    // A replica holds one datum per column per row: a set of one atom inline, no larger
    // than a plain atom.
    assert!(std::mem::size_of::<Datum>() <= std::mem::size_of::<Atom>());
    assert!(std::mem::size_of::<Row>() <= 32);
}
