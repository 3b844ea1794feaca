//! Turns the desired Southbound contents (from `northd-core`) and the rows the SB
//! replica currently holds into one transaction carrying only the difference.
//! Pure: rows in, operations out.
//!
//! Rows are matched by their natural keys, not by UUID: datapaths by
//! `external_ids:logical-switch`/`logical-router`, ports by `logical_port`,
//! multicast groups by (datapath, name), load balancers by `external_ids:lb_id`,
//! address sets and port groups by name, logical flows by their whole content.
//! Identical flows on several datapaths share one row through a
//! `Logical_DP_Group`, as OVN 23.03 does; a group whose datapath set grows (a new
//! switch) is updated in place, so its flows are not rewritten.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use northd_core::{LogicalFlow, Map, PortBinding, Southbound};
use ovsdb::{Atom, Condition, Datum, Operation, Row, Uuid};

/// A replica's contents: table → row UUID → row.
pub type Tables = BTreeMap<String, BTreeMap<Uuid, Row>>;

/// Which rows a datapath reference can point at: an existing row or one inserted
/// earlier in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Ref {
    Row(Uuid),
    New(String),
}

impl Ref {
    fn atom(&self) -> Atom {
        match self {
            Ref::Row(u) => Atom::Uuid(*u),
            Ref::New(n) => Atom::NamedUuid(n.clone()),
        }
    }
}

/// What a sync produced, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SyncStats {
    pub inserted: usize,
    pub updated: usize,
    pub deleted: usize,
}

impl SyncStats {
    pub fn is_empty(&self) -> bool {
        self.inserted + self.updated + self.deleted == 0
    }
}

/// The operations (without the lock assertion or any NB-side writes).
pub struct Plan {
    pub ops: Vec<Operation>,
    pub stats: SyncStats,
}

struct Builder<'a> {
    cur: &'a Tables,
    ops: Vec<Operation>,
    stats: SyncStats,
    next_name: usize,
}

static EMPTY: BTreeMap<Uuid, Row> = BTreeMap::new();

impl<'a> Builder<'a> {
    fn table(&self, t: &str) -> &'a BTreeMap<Uuid, Row> {
        self.cur.get(t).unwrap_or(&EMPTY)
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.next_name += 1;
        format!("{prefix}{}", self.next_name)
    }

    fn insert(&mut self, table: &str, row: Row, name: Option<String>) {
        self.stats.inserted += 1;
        self.ops.push(Operation::Insert {
            table: table.into(),
            row,
            uuid_name: name,
        });
    }

    /// Updates only the columns whose value differs from the current row.
    fn update(&mut self, table: &str, uuid: Uuid, current: &Row, want: Row) {
        let changed: Row = want
            .into_iter()
            .filter(|(k, v)| !same(current.get(k), v))
            .collect();
        if !changed.is_empty() {
            self.stats.updated += 1;
            self.ops.push(Operation::Update {
                table: table.into(),
                conditions: vec![Condition::uuid(uuid)],
                row: changed,
            });
        }
    }

    fn delete(&mut self, table: &str, uuid: Uuid) {
        self.stats.deleted += 1;
        self.ops.push(Operation::Delete {
            table: table.into(),
            conditions: vec![Condition::uuid(uuid)],
        });
    }
}

/// Empty sets and empty maps are the same "no value" on the wire.
fn same(cur: Option<&Datum>, want: &Datum) -> bool {
    match cur {
        Some(c) => c == want || (c.is_empty() && want.is_empty()),
        None => want.is_empty(),
    }
}

fn get<'r>(row: &'r Row, col: &str) -> Option<&'r Datum> {
    row.get(col)
}

fn str_col(row: &Row, col: &str) -> String {
    get(row, col)
        .and_then(Datum::as_str)
        .unwrap_or_default()
        .to_string()
}

fn map_col(row: &Row, col: &str) -> Map {
    get(row, col).map(Datum::string_pairs).unwrap_or_default()
}

fn smap(m: &Map) -> Datum {
    Datum::string_map(m.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

fn sset<S: AsRef<str>>(v: impl IntoIterator<Item = S>) -> Datum {
    Datum::set(v.into_iter().map(|s| Atom::string(s.as_ref())))
}

fn opt_str(v: Option<&String>) -> Datum {
    v.map_or_else(Datum::empty_set, |s| Datum::string(s.as_str()))
}

fn row(pairs: impl IntoIterator<Item = (&'static str, Datum)>) -> Row {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Computes the transaction that makes `cur` hold `want`.
pub fn plan(want: &Southbound, cur: &Tables) -> Plan {
    let mut b = Builder {
        cur,
        ops: Vec::new(),
        stats: SyncStats::default(),
        next_name: 0,
    };
    sync_sb_global(&mut b, want);
    let dps = sync_datapaths(&mut b, want);
    let chassis: HashMap<String, Uuid> = b
        .table("Chassis")
        .iter()
        .map(|(u, r)| (str_col(r, "name"), *u))
        .collect();
    let pbs = sync_port_bindings(&mut b, want, &dps, &chassis);
    sync_multicast_groups(&mut b, want, &dps, &pbs);
    sync_logical_flows(&mut b, &want.logical_flows, &dps);
    sync_load_balancers(&mut b, want, &dps);
    sync_named_sets(&mut b, "Address_Set", "addresses", &want.address_sets);
    sync_named_sets(&mut b, "Port_Group", "ports", &want.port_groups);
    cleanup_learned(&mut b, want);
    Plan {
        ops: b.ops,
        stats: b.stats,
    }
}

fn sync_sb_global(b: &mut Builder, want: &Southbound) {
    let desired = row([
        ("nb_cfg", Datum::integer(want.nb_cfg)),
        ("options", smap(&want.options)),
        ("ipsec", Datum::boolean(want.ipsec)),
    ]);
    let rows = b.table("SB_Global");
    match rows.iter().next() {
        Some((u, r)) => {
            b.update("SB_Global", *u, r, desired);
            // SB_Global has one row; a stray second one would confuse every reader.
            for u in rows.keys().skip(1).copied().collect::<Vec<_>>() {
                b.delete("SB_Global", u);
            }
        }
        None => b.insert("SB_Global", desired, None),
    }
}

/// Returns NB uuid (string) → SB reference for every desired datapath.
fn sync_datapaths(b: &mut Builder, want: &Southbound) -> HashMap<String, Ref> {
    let mut by_nb: HashMap<String, (Uuid, &Row)> = HashMap::new();
    let mut stale = Vec::new();
    for (u, r) in b.table("Datapath_Binding") {
        let ids = map_col(r, "external_ids");
        let key = ids
            .get("logical-switch")
            .or_else(|| ids.get("logical-router"))
            .cloned();
        match key {
            Some(k) if want.datapaths.contains_key(&k) && !by_nb.contains_key(&k) => {
                by_nb.insert(k, (*u, r));
            }
            _ => stale.push(*u),
        }
    }
    let mut refs = HashMap::new();
    for (nb, dp) in &want.datapaths {
        let desired = row([
            ("tunnel_key", Datum::integer(dp.tunnel_key as i64)),
            ("external_ids", smap(&dp.external_ids)),
        ]);
        match by_nb.get(nb) {
            Some((u, r)) => {
                b.update("Datapath_Binding", *u, r, desired);
                refs.insert(nb.clone(), Ref::Row(*u));
            }
            None => {
                let name = b.fresh("dp");
                b.insert("Datapath_Binding", desired, Some(name.clone()));
                refs.insert(nb.clone(), Ref::New(name));
            }
        }
    }
    for u in stale {
        b.delete("Datapath_Binding", u);
    }
    refs
}

fn port_binding_row(pb: &PortBinding, dp: &Ref, chassis: &HashMap<String, Uuid>) -> Row {
    let requested = pb.requested_chassis.as_ref().and_then(|c| chassis.get(c));
    row([
        ("logical_port", Datum::string(pb.logical_port.as_str())),
        ("datapath", Datum::atom(dp.atom())),
        ("tunnel_key", Datum::integer(pb.tunnel_key as i64)),
        ("type", Datum::string(pb.port_type.as_str())),
        ("options", smap(&pb.options)),
        ("mac", sset(&pb.mac)),
        ("port_security", sset(&pb.port_security)),
        ("external_ids", smap(&pb.external_ids)),
        ("parent_port", opt_str(pb.parent_port.as_ref())),
        ("tag", pb.tag.map_or_else(Datum::empty_set, Datum::integer)),
        (
            "requested_chassis",
            requested.map_or_else(Datum::empty_set, |u| Datum::uuid(*u)),
        ),
        ("nat_addresses", sset(&pb.nat_addresses)),
    ])
}

/// Returns logical_port → SB reference.
fn sync_port_bindings(
    b: &mut Builder,
    want: &Southbound,
    dps: &HashMap<String, Ref>,
    chassis: &HashMap<String, Uuid>,
) -> HashMap<String, Ref> {
    let mut by_name: HashMap<String, (Uuid, &Row)> = HashMap::new();
    let mut stale = Vec::new();
    for (u, r) in b.table("Port_Binding") {
        let name = str_col(r, "logical_port");
        if want.port_bindings.contains_key(&name) && !by_name.contains_key(&name) {
            by_name.insert(name, (*u, r));
        } else {
            stale.push(*u);
        }
    }
    let mut refs = HashMap::new();
    for (name, pb) in &want.port_bindings {
        let Some(dp) = dps.get(&pb.datapath) else { continue };
        let desired = port_binding_row(pb, dp, chassis);
        match by_name.get(name) {
            Some((u, r)) => {
                b.update("Port_Binding", *u, r, desired);
                refs.insert(name.clone(), Ref::Row(*u));
            }
            None => {
                let n = b.fresh("pb");
                let mut desired = desired;
                // Only the chassis sets `up`; a new binding starts down.
                desired.insert("up".into(), Datum::boolean(false));
                b.insert("Port_Binding", desired, Some(n.clone()));
                refs.insert(name.clone(), Ref::New(n));
            }
        }
    }
    for u in stale {
        b.delete("Port_Binding", u);
    }
    refs
}

fn ref_of(atom: Option<&Atom>) -> Option<Ref> {
    atom.and_then(Atom::as_uuid).map(Ref::Row)
}

fn sync_multicast_groups(
    b: &mut Builder,
    want: &Southbound,
    dps: &HashMap<String, Ref>,
    pbs: &HashMap<String, Ref>,
) {
    let mut current: HashMap<(Ref, String), (Uuid, &Row)> = HashMap::new();
    let mut stale = Vec::new();
    for (u, r) in b.table("Multicast_Group") {
        match ref_of(get(r, "datapath").and_then(Datum::as_atom)) {
            Some(dp) => {
                if current.insert((dp, str_col(r, "name")), (*u, r)).is_some() {
                    stale.push(*u);
                }
            }
            None => stale.push(*u),
        }
    }
    let mut kept = BTreeSet::new();
    for mg in want.multicast_groups.values() {
        let Some(dp) = dps.get(&mg.datapath) else { continue };
        let ports = Datum::set(mg.ports.iter().filter_map(|p| pbs.get(p)).map(Ref::atom));
        let desired = row([
            ("datapath", Datum::atom(dp.atom())),
            ("name", Datum::string(mg.name.as_str())),
            ("tunnel_key", Datum::integer(mg.tunnel_key as i64)),
            ("ports", ports),
        ]);
        match current.get(&(dp.clone(), mg.name.clone())) {
            Some((u, r)) => {
                kept.insert(*u);
                b.update("Multicast_Group", *u, r, desired);
            }
            None => b.insert("Multicast_Group", desired, None),
        }
    }
    let gone: Vec<Uuid> = current
        .values()
        .map(|(u, _)| *u)
        .filter(|u| !kept.contains(u))
        .chain(stale)
        .collect();
    for u in gone {
        b.delete("Multicast_Group", u);
    }
}

/// A logical flow without its datapath: the unit that datapath groups share.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct FlowContent {
    pipeline: String,
    table_id: i64,
    priority: i64,
    match_: String,
    actions: String,
    external_ids: Map,
    tags: Map,
}

impl FlowContent {
    fn of(f: &LogicalFlow) -> Self {
        let mut tags = Map::new();
        if let Some(p) = &f.in_out_port {
            tags.insert("in_out_port".into(), p.clone());
        }
        FlowContent {
            pipeline: f.pipeline().as_str().to_string(),
            table_id: f.table_id() as i64,
            priority: f.priority as i64,
            match_: f.match_.clone(),
            actions: f.actions.clone(),
            external_ids: f.external_ids(),
            tags,
        }
    }

    fn from_row(r: &Row) -> Self {
        FlowContent {
            pipeline: str_col(r, "pipeline"),
            table_id: get(r, "table_id").and_then(Datum::as_integer).unwrap_or(-1),
            priority: get(r, "priority").and_then(Datum::as_integer).unwrap_or(-1),
            match_: str_col(r, "match"),
            actions: str_col(r, "actions"),
            external_ids: map_col(r, "external_ids"),
            tags: map_col(r, "tags"),
        }
    }

    fn row(&self) -> Row {
        row([
            ("pipeline", Datum::string(self.pipeline.as_str())),
            ("table_id", Datum::integer(self.table_id)),
            ("priority", Datum::integer(self.priority)),
            ("match", Datum::string(self.match_.as_str())),
            ("actions", Datum::string(self.actions.as_str())),
            ("external_ids", smap(&self.external_ids)),
            ("tags", smap(&self.tags)),
        ])
    }
}

/// Where a flow row points: one datapath, or a group of them.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Placement {
    Single(Ref),
    Group(Ref),
}

fn sync_logical_flows(b: &mut Builder, flows: &BTreeSet<LogicalFlow>, dps: &HashMap<String, Ref>) {
    // Desired: content → set of datapaths.
    let mut want: BTreeMap<FlowContent, BTreeSet<Ref>> = BTreeMap::new();
    for f in flows {
        if let Some(dp) = dps.get(&f.datapath) {
            want.entry(FlowContent::of(f)).or_default().insert(dp.clone());
        }
    }

    let groups: BTreeMap<Uuid, BTreeSet<Ref>> = b
        .table("Logical_DP_Group")
        .iter()
        .map(|(u, r)| {
            (
                *u,
                get(r, "datapaths")
                    .map(|d| d.uuids().into_iter().map(Ref::Row).collect())
                    .unwrap_or_default(),
            )
        })
        .collect();

    // Current: content → (row, placement). Duplicated contents are deleted.
    let mut current: HashMap<FlowContent, (Uuid, Placement)> = HashMap::new();
    let mut stale = Vec::new();
    for (u, r) in b.table("Logical_Flow") {
        let placement = if let Some(g) = get(r, "logical_dp_group").and_then(Datum::as_uuid) {
            Placement::Group(Ref::Row(g))
        } else if let Some(d) = get(r, "logical_datapath").and_then(Datum::as_uuid) {
            Placement::Single(Ref::Row(d))
        } else {
            stale.push(*u);
            continue;
        };
        let content = FlowContent::from_row(r);
        if !want.contains_key(&content) || current.contains_key(&content) {
            stale.push(*u);
        } else {
            current.insert(content, (*u, placement));
        }
    }

    // Decide one group per distinct multi-datapath set: reuse a group that already
    // has that set; else adopt (and update) the group most of those flows already
    // use; else create one.
    let mut sets: BTreeMap<BTreeSet<Ref>, Vec<&FlowContent>> = BTreeMap::new();
    for (c, d) in &want {
        if d.len() > 1 {
            sets.entry(d.clone()).or_default().push(c);
        }
    }
    let mut claimed: BTreeSet<Uuid> = BTreeSet::new();
    let mut group_for: BTreeMap<BTreeSet<Ref>, Ref> = BTreeMap::new();
    for set in sets.keys() {
        if let Some((u, _)) = groups.iter().find(|(u, s)| *s == set && !claimed.contains(*u)) {
            claimed.insert(*u);
            group_for.insert(set.clone(), Ref::Row(*u));
        }
    }
    for (set, contents) in &sets {
        if group_for.contains_key(set) {
            continue;
        }
        let mut votes: BTreeMap<Uuid, usize> = BTreeMap::new();
        for c in contents {
            if let Some((_, Placement::Group(Ref::Row(g)))) = current.get(*c) {
                *votes.entry(*g).or_default() += 1;
            }
        }
        let adopted = votes
            .into_iter()
            .filter(|(g, _)| !claimed.contains(g))
            .max_by_key(|(_, n)| *n)
            .map(|(g, _)| g);
        let r = match adopted {
            Some(g) => {
                claimed.insert(g);
                let cur_row = &b.table("Logical_DP_Group")[&g];
                let desired = row([("datapaths", Datum::set(set.iter().map(Ref::atom)))]);
                b.update("Logical_DP_Group", g, cur_row, desired);
                Ref::Row(g)
            }
            None => {
                let name = b.fresh("grp");
                b.insert(
                    "Logical_DP_Group",
                    row([("datapaths", Datum::set(set.iter().map(Ref::atom)))]),
                    Some(name.clone()),
                );
                Ref::New(name)
            }
        };
        group_for.insert(set.clone(), r);
    }

    for (content, set) in &want {
        let target = if set.len() == 1 {
            Placement::Single(set.iter().next().expect("one datapath").clone())
        } else {
            Placement::Group(group_for[set].clone())
        };
        let placement_cols = |p: &Placement| match p {
            Placement::Single(d) => row([
                ("logical_datapath", Datum::atom(d.atom())),
                ("logical_dp_group", Datum::empty_set()),
            ]),
            Placement::Group(g) => row([
                ("logical_datapath", Datum::empty_set()),
                ("logical_dp_group", Datum::atom(g.atom())),
            ]),
        };
        match current.get(content) {
            Some((_, p)) if *p == target => {}
            Some((u, _)) => {
                b.stats.updated += 1;
                b.ops.push(Operation::Update {
                    table: "Logical_Flow".into(),
                    conditions: vec![Condition::uuid(*u)],
                    row: placement_cols(&target),
                });
            }
            None => {
                let mut r = content.row();
                r.extend(placement_cols(&target));
                b.insert("Logical_Flow", r, None);
            }
        }
    }
    for u in stale {
        b.delete("Logical_Flow", u);
    }
}

fn sync_load_balancers(b: &mut Builder, want: &Southbound, dps: &HashMap<String, Ref>) {
    let groups = b.table("Logical_DP_Group");
    let mut current: HashMap<String, (Uuid, &Row)> = HashMap::new();
    let mut stale = Vec::new();
    for (u, r) in b.table("Load_Balancer") {
        match map_col(r, "external_ids").get("lb_id") {
            Some(id) if want.load_balancers.contains_key(id) && !current.contains_key(id) => {
                current.insert(id.clone(), (*u, r));
            }
            _ => stale.push(*u),
        }
    }
    for (id, lb) in &want.load_balancers {
        let set: BTreeSet<Ref> = lb.datapaths.iter().filter_map(|d| dps.get(d)).cloned().collect();
        let mut desired = row([
            ("name", Datum::string(lb.name.as_str())),
            ("vips", smap(&lb.vips)),
            ("protocol", opt_str(lb.protocol.as_ref())),
            ("options", smap(&lb.options)),
            ("external_ids", smap(&lb.external_ids)),
        ]);
        let existing = current.get(id);
        // Keep the LB's group when it already lists exactly these datapaths.
        let group_ok = existing
            .and_then(|(_, r)| get(r, "datapath_group").and_then(Datum::as_uuid))
            .is_some_and(|g| {
                groups
                    .get(&g)
                    .and_then(|gr| get(gr, "datapaths"))
                    .map(|d| d.uuids().into_iter().map(Ref::Row).collect::<BTreeSet<_>>())
                    == Some(set.clone())
            });
        if !group_ok {
            let name = b.fresh("lbg");
            b.insert(
                "Logical_DP_Group",
                row([("datapaths", Datum::set(set.iter().map(Ref::atom)))]),
                Some(name.clone()),
            );
            desired.insert("datapath_group".into(), Datum::atom(Atom::NamedUuid(name)));
        }
        match existing {
            Some((u, r)) => b.update("Load_Balancer", *u, r, desired),
            None => b.insert("Load_Balancer", desired, None),
        }
    }
    for u in stale {
        b.delete("Load_Balancer", u);
    }
}

fn sync_named_sets(b: &mut Builder, table: &str, column: &'static str, want: &BTreeMap<String, Vec<String>>) {
    let mut current: HashMap<String, (Uuid, &Row)> = HashMap::new();
    let mut stale = Vec::new();
    for (u, r) in b.table(table) {
        let name = str_col(r, "name");
        if want.contains_key(&name) && !current.contains_key(&name) {
            current.insert(name, (*u, r));
        } else {
            stale.push(*u);
        }
    }
    for (name, items) in want {
        let desired = row([("name", Datum::string(name.as_str())), (column, sset(items))]);
        match current.get(name) {
            Some((u, r)) => b.update(table, *u, r, desired),
            None => b.insert(table, desired, None),
        }
    }
    for u in stale {
        b.delete(table, u);
    }
}

/// Rows the chassis learned (MAC_Binding, FDB) die with their port or datapath.
fn cleanup_learned(b: &mut Builder, want: &Southbound) {
    let dp_keys: BTreeSet<i64> = want.datapaths.values().map(|d| d.tunnel_key as i64).collect();
    let port_keys: BTreeSet<(i64, i64)> = want
        .port_bindings
        .values()
        .filter_map(|p| {
            Some((
                want.datapaths.get(&p.datapath)?.tunnel_key as i64,
                p.tunnel_key as i64,
            ))
        })
        .collect();
    let current_dp_key: HashMap<Uuid, i64> = b
        .table("Datapath_Binding")
        .iter()
        .filter_map(|(u, r)| Some((*u, get(r, "tunnel_key")?.as_integer()?)))
        .collect();
    let mut gone = Vec::new();
    for (u, r) in b.table("MAC_Binding") {
        let port_ok = want.port_bindings.contains_key(&str_col(r, "logical_port"));
        let dp_ok = get(r, "datapath")
            .and_then(Datum::as_uuid)
            .and_then(|d| current_dp_key.get(&d))
            .is_some_and(|k| dp_keys.contains(k));
        if !(port_ok && dp_ok) {
            gone.push(("MAC_Binding", *u));
        }
    }
    for (u, r) in b.table("FDB") {
        let dp = get(r, "dp_key").and_then(Datum::as_integer).unwrap_or(0);
        let port = get(r, "port_key").and_then(Datum::as_integer).unwrap_or(0);
        if !port_keys.contains(&(dp, port)) {
            gone.push(("FDB", *u));
        }
    }
    for (t, u) in gone {
        b.delete(t, u);
    }
}

/// NB `Logical_Switch_Port.up` follows the binding: `Port_Binding.up` for VIFs,
/// always true for router ports (as ovn-northd does with `port-up-notif` chassis).
pub fn nb_port_up_ops(nb: &Tables, sb: &Tables) -> Vec<Operation> {
    let sb_up: HashMap<String, bool> = sb
        .get("Port_Binding")
        .into_iter()
        .flatten()
        .map(|(_, r)| {
            (
                str_col(r, "logical_port"),
                get(r, "up").and_then(Datum::as_bool).unwrap_or(false),
            )
        })
        .collect();
    let mut ops = Vec::new();
    for (u, r) in nb.get("Logical_Switch_Port").into_iter().flatten() {
        let name = str_col(r, "name");
        let want = if str_col(r, "type") == "router" {
            Some(true)
        } else {
            sb_up.get(&name).copied()
        };
        let Some(want) = want else { continue };
        let cur = get(r, "up").and_then(Datum::as_bool);
        if cur != Some(want) {
            ops.push(Operation::Update {
                table: "Logical_Switch_Port".into(),
                conditions: vec![Condition::uuid(*u)],
                row: row([("up", Datum::boolean(want))]),
            });
        }
    }
    ops
}

/// Sets NB_Global `sb_cfg`/`hv_cfg` (and their timestamps) when they lag.
pub fn nb_cfg_ops(nb: &Tables, sb_cfg: i64, hv_cfg: i64, now_ms: i64) -> Vec<Operation> {
    let Some((u, r)) = nb.get("NB_Global").and_then(|t| t.iter().next()) else {
        return Vec::new();
    };
    let mut want = Row::new();
    if get(r, "sb_cfg").and_then(Datum::as_integer) != Some(sb_cfg) {
        want.insert("sb_cfg".into(), Datum::integer(sb_cfg));
        want.insert("sb_cfg_timestamp".into(), Datum::integer(now_ms));
    }
    if get(r, "hv_cfg").and_then(Datum::as_integer) != Some(hv_cfg) {
        want.insert("hv_cfg".into(), Datum::integer(hv_cfg));
        want.insert("hv_cfg_timestamp".into(), Datum::integer(now_ms));
    }
    if want.is_empty() {
        return Vec::new();
    }
    vec![Operation::Update {
        table: "NB_Global".into(),
        conditions: vec![Condition::uuid(*u)],
        row: want,
    }]
}

/// `hv_cfg`: the lowest `nb_cfg` any chassis has acknowledged; chassis marked
/// remote (`other_config:is-remote=true`) are not waited for. With no chassis the
/// value is the SB `nb_cfg` itself, so `--wait=hv` does not hang on an empty cloud.
pub fn hv_cfg(sb: &Tables, sb_nb_cfg: i64) -> i64 {
    let remote: BTreeSet<Uuid> = sb
        .get("Chassis")
        .into_iter()
        .flatten()
        .filter(|(_, r)| {
            map_col(r, "other_config")
                .get("is-remote")
                .is_some_and(|v| v == "true")
        })
        .map(|(u, _)| *u)
        .collect();
    sb.get("Chassis_Private")
        .into_iter()
        .flatten()
        .filter(|(_, r)| {
            !get(r, "chassis")
                .and_then(Datum::as_uuid)
                .is_some_and(|c| remote.contains(&c))
        })
        .filter_map(|(_, r)| get(r, "nb_cfg").and_then(Datum::as_integer))
        .min()
        .unwrap_or(sb_nb_cfg)
}

/// Stamps the time northd started working on the current `nb_cfg`.
pub fn nb_cfg_timestamp_op(nb: &Tables, now_ms: i64) -> Option<Operation> {
    let (u, _) = nb.get("NB_Global")?.iter().next()?;
    Some(Operation::Update {
        table: "NB_Global".into(),
        conditions: vec![Condition::uuid(*u)],
        row: row([("nb_cfg_timestamp", Datum::integer(now_ms))]),
    })
}
