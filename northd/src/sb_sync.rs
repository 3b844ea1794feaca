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

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use northd_core::{LogicalFlow, Map, PortBinding, SbHaChassisGroup, Southbound, Stage};
use ovn_db::{nb, sb};
use ovsdb::ops::WriteOp;
use ovsdb::typed::Table;
use ovsdb::{Atom, Condition, Datum, Operation, Row, Uuid};

use crate::snapshot::{DP_LOGICAL_ROUTER, DP_LOGICAL_SWITCH};

/// A replica's contents: table → row UUID → row.
pub type Tables = BTreeMap<String, BTreeMap<Uuid, Row>>;

/// Which rows a datapath reference can point at: an existing row or one inserted
/// earlier in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Ref {
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

pub(crate) struct Builder<'a> {
    pub(crate) cur: &'a Tables,
    pub(crate) ops: Vec<Operation>,
    pub(crate) stats: SyncStats,
    pub(crate) next_name: usize,
}

static EMPTY: BTreeMap<Uuid, Row> = BTreeMap::new();

impl<'a> Builder<'a> {
    /// The current rows of table `T`.
    pub(crate) fn table<T: Table>(&self) -> &'a BTreeMap<Uuid, Row> {
        self.cur.get(T::TABLE).unwrap_or(&EMPTY)
    }

    pub(crate) fn fresh(&mut self, prefix: &str) -> String {
        self.next_name += 1;
        format!("{prefix}{}", self.next_name)
    }

    pub(crate) fn insert<T: Table>(&mut self, row: Row, name: Option<String>) {
        self.stats.inserted += 1;
        self.ops.push(Operation::Insert {
            table: T::TABLE.into(),
            row,
            uuid_name: name,
        });
    }

    /// Updates only the columns whose value differs from the current row.
    pub(crate) fn update<T: Table>(&mut self, uuid: Uuid, current: &Row, want: Row) {
        let changed: Row = want
            .into_iter()
            .filter(|(k, v)| !same(current.get(k), v))
            .collect();
        if !changed.is_empty() {
            self.stats.updated += 1;
            self.ops.push(Operation::Update {
                table: T::TABLE.into(),
                conditions: vec![Condition::uuid(uuid)],
                row: changed,
            });
        }
    }

    pub(crate) fn delete<T: Table>(&mut self, uuid: Uuid) {
        self.stats.deleted += 1;
        self.ops.push(Operation::Delete {
            table: T::TABLE.into(),
            conditions: vec![Condition::uuid(uuid)],
        });
    }
}

/// Empty sets and empty maps are the same "no value" on the wire.
pub(crate) fn same(cur: Option<&Datum>, want: &Datum) -> bool {
    match cur {
        Some(c) => c == want || (c.is_empty() && want.is_empty()),
        None => want.is_empty(),
    }
}

/// Sets a reference column (`COL_*` of the generated struct) to a row that may
/// only be inserted by this transaction, which the generated setters (taking a
/// `Uuid`) cannot express.
pub(crate) fn set_ref(row: &mut Row, column: &'static str, r: &Ref) {
    row.insert(column.to_string(), Datum::atom(r.atom()));
}

/// Sets a set-of-references column, as [`set_ref`].
pub(crate) fn set_refs<'r>(row: &mut Row, column: &'static str, refs: impl IntoIterator<Item = &'r Ref>) {
    row.insert(column.to_string(), Datum::set(refs.into_iter().map(Ref::atom)));
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
        .table::<sb::Chassis>()
        .iter()
        .map(|(u, r)| (col!(r, sb::Chassis, COL_NAME => name), *u))
        .collect();
    let groups = sync_ha_chassis_groups(&mut b, want, &chassis);
    let pbs = sync_port_bindings(&mut b, want, &dps, &chassis, &groups);
    sync_multicast_groups(&mut b, want, &dps, &pbs);
    sync_logical_flows(&mut b, &want.logical_flows, &dps);
    sync_load_balancers(&mut b, want, &dps);
    sync_named_sets::<sb::AddressSet>(
        &mut b,
        &want.address_sets,
        |r| col!(r, sb::AddressSet, COL_NAME => name),
        |name, items| {
            let mut r = Row::new();
            sb::AddressSet::set_name(&mut r, name);
            sb::AddressSet::set_addresses(&mut r, items);
            r
        },
    );
    sync_named_sets::<sb::PortGroup>(
        &mut b,
        &want.port_groups,
        |r| col!(r, sb::PortGroup, COL_NAME => name),
        |name, items| {
            let mut r = Row::new();
            sb::PortGroup::set_name(&mut r, name);
            sb::PortGroup::set_ports(&mut r, items);
            r
        },
    );
    sync_dhcp_option_codes(&mut b);
    cleanup_learned(&mut b, want);
    Plan {
        ops: b.ops,
        stats: b.stats,
    }
}

fn sync_sb_global(b: &mut Builder, want: &Southbound) {
    type G = sb::SbGlobal;
    let mut desired = Row::new();
    G::set_nb_cfg(&mut desired, &want.nb_cfg);
    G::set_options(&mut desired, &want.options);
    G::set_ipsec(&mut desired, &want.ipsec);
    let rows = b.table::<G>();
    match rows.iter().next() {
        Some((u, r)) => {
            b.update::<G>(*u, r, desired);
            // SB_Global has one row; a stray second one would confuse every reader.
            for u in rows.keys().skip(1).copied().collect::<Vec<_>>() {
                b.delete::<G>(u);
            }
        }
        None => b.insert::<G>(desired, None),
    }
}

/// The NB switch or router a datapath row stands for.
pub(crate) fn datapath_nb_key(r: &Row) -> Option<String> {
    let mut ids = col!(r, sb::DatapathBinding, COL_EXTERNAL_IDS => external_ids);
    ids.remove(DP_LOGICAL_SWITCH)
        .or_else(|| ids.remove(DP_LOGICAL_ROUTER))
}

/// Returns NB uuid (string) → SB reference for every desired datapath.
fn sync_datapaths(b: &mut Builder, want: &Southbound) -> HashMap<String, Ref> {
    type Dp = sb::DatapathBinding;
    let mut by_nb: HashMap<String, (Uuid, &Row)> = HashMap::new();
    let mut stale = Vec::new();
    for (u, r) in b.table::<Dp>() {
        match datapath_nb_key(r) {
            Some(k) if want.datapaths.contains_key(&k) && !by_nb.contains_key(&k) => {
                by_nb.insert(k, (*u, r));
            }
            _ => stale.push(*u),
        }
    }
    let mut refs = HashMap::new();
    for (nb, dp) in &want.datapaths {
        let mut desired = Row::new();
        Dp::set_tunnel_key(&mut desired, &(dp.tunnel_key as i64));
        Dp::set_external_ids(&mut desired, &dp.external_ids);
        match by_nb.get(nb) {
            Some((u, r)) => {
                b.update::<Dp>(*u, r, desired);
                refs.insert(nb.clone(), Ref::Row(*u));
            }
            None => {
                let name = b.fresh("dp");
                b.insert::<Dp>(desired, Some(name.clone()));
                refs.insert(nb.clone(), Ref::New(name));
            }
        }
    }
    for u in stale {
        b.delete::<Dp>(u);
    }
    refs
}

/// `HA_Chassis_Group` rows by name (the first of duplicates).
pub(crate) fn ha_groups_by_name<'t>(b: &Builder<'t>) -> HashMap<String, (Uuid, &'t Row)> {
    let mut m = HashMap::new();
    for (u, r) in b.table::<sb::HaChassisGroup>() {
        m.entry(col!(r, sb::HaChassisGroup, COL_NAME => name))
            .or_insert((*u, r));
    }
    m
}

/// Makes the SB group `existing` (or a new one) hold `g`'s chassis, as ovn-northd writes
/// them: one `HA_Chassis` per chassis with its priority, `external_ids:chassis-name`
/// and a reference to the `Chassis` row when there is one. Its `HA_Chassis` rows are
/// replaced only when they differ. Returns the group's reference.
pub(crate) fn sync_ha_group(
    b: &mut Builder,
    existing: Option<(Uuid, &Row)>,
    g: &SbHaChassisGroup,
    chassis: &HashMap<String, Uuid>,
) -> Ref {
    type Hg = sb::HaChassisGroup;
    type Hc = sb::HaChassis;
    let want: BTreeSet<(String, i64, Option<Uuid>)> = g
        .chassis
        .iter()
        .map(|(n, p)| (n.clone(), *p, chassis.get(n).copied()))
        .collect();
    let current = existing.map(|(_, r)| {
        col!(r, Hg, COL_HA_CHASSIS => ha_chassis)
            .iter()
            .filter_map(|u| b.table::<Hc>().get(u))
            .map(|h| {
                (
                    col!(h, Hc, COL_EXTERNAL_IDS => external_ids)
                        .remove("chassis-name")
                        .unwrap_or_default(),
                    col!(h, Hc, COL_PRIORITY => priority),
                    col!(h, Hc, COL_CHASSIS => chassis),
                )
            })
            .collect::<BTreeSet<_>>()
    });
    let mut desired = Row::new();
    Hg::set_name(&mut desired, &g.name);
    if current.as_ref() != Some(&want) {
        let mut refs = Vec::new();
        for (name, prio, ch) in &want {
            let mut h = Row::new();
            Hc::set_chassis(&mut h, ch);
            Hc::set_priority(&mut h, prio);
            let mut ids = Map::new();
            ids.insert("chassis-name".into(), name.clone());
            Hc::set_external_ids(&mut h, &ids);
            let n = b.fresh("hac");
            b.insert::<Hc>(h, Some(n.clone()));
            refs.push(Ref::New(n));
        }
        set_refs(&mut desired, Hg::COL_HA_CHASSIS, &refs);
    }
    match existing {
        Some((u, r)) => {
            b.update::<Hg>(u, r, desired);
            Ref::Row(u)
        }
        None => {
            let n = b.fresh("hag");
            b.insert::<Hg>(desired, Some(n.clone()));
            Ref::New(n)
        }
    }
}

/// Returns group name → SB reference; deletes the groups no port needs.
fn sync_ha_chassis_groups(
    b: &mut Builder,
    want: &Southbound,
    chassis: &HashMap<String, Uuid>,
) -> HashMap<String, Ref> {
    let mut by_name = ha_groups_by_name(b);
    let mut refs = HashMap::new();
    for (name, g) in &want.ha_chassis_groups {
        let r = sync_ha_group(b, by_name.remove(name), g, chassis);
        refs.insert(name.clone(), r);
    }
    let stale: Vec<Uuid> = b
        .table::<sb::HaChassisGroup>()
        .keys()
        .filter(|u| !refs.values().any(|r| *r == Ref::Row(**u)))
        .copied()
        .collect();
    for u in stale {
        b.delete::<sb::HaChassisGroup>(u);
    }
    refs
}

pub(crate) fn port_binding_row(
    pb: &PortBinding,
    dp: &Ref,
    chassis: &HashMap<String, Uuid>,
    ha_group: Option<&Ref>,
) -> Row {
    type Pb = sb::PortBinding;
    let requested = pb
        .requested_chassis
        .as_ref()
        .and_then(|c| chassis.get(c))
        .copied();
    let mut r = Row::new();
    Pb::set_logical_port(&mut r, &pb.logical_port);
    set_ref(&mut r, Pb::COL_DATAPATH, dp);
    Pb::set_tunnel_key(&mut r, &(pb.tunnel_key as i64));
    Pb::set_type(&mut r, &pb.port_type);
    Pb::set_options(&mut r, &pb.options);
    Pb::set_mac(&mut r, &pb.mac);
    Pb::set_port_security(&mut r, &pb.port_security);
    Pb::set_external_ids(&mut r, &pb.external_ids);
    Pb::set_parent_port(&mut r, &pb.parent_port);
    Pb::set_tag(&mut r, &pb.tag);
    Pb::set_requested_chassis(&mut r, &requested);
    Pb::set_nat_addresses(&mut r, &pb.nat_addresses);
    set_refs(&mut r, Pb::COL_HA_CHASSIS_GROUP, ha_group);
    r
}

/// Returns logical_port → SB reference.
fn sync_port_bindings(
    b: &mut Builder,
    want: &Southbound,
    dps: &HashMap<String, Ref>,
    chassis: &HashMap<String, Uuid>,
    groups: &HashMap<String, Ref>,
) -> HashMap<String, Ref> {
    type Pb = sb::PortBinding;
    let mut by_name: HashMap<String, (Uuid, &Row)> = HashMap::new();
    let mut stale = Vec::new();
    for (u, r) in b.table::<Pb>() {
        let name = col!(r, Pb, COL_LOGICAL_PORT => logical_port);
        if want.port_bindings.contains_key(&name) && !by_name.contains_key(&name) {
            by_name.insert(name, (*u, r));
        } else {
            stale.push(*u);
        }
    }
    let mut refs = HashMap::new();
    for (name, pb) in &want.port_bindings {
        let Some(dp) = dps.get(&pb.datapath) else { continue };
        let group = pb.ha_chassis_group.as_ref().and_then(|g| groups.get(g));
        let desired = port_binding_row(pb, dp, chassis, group);
        match by_name.get(name) {
            Some((u, r)) => {
                b.update::<Pb>(*u, r, desired);
                refs.insert(name.clone(), Ref::Row(*u));
            }
            None => {
                let n = b.fresh("pb");
                let mut desired = desired;
                // Only the chassis sets `up`; a new binding starts down.
                Pb::set_up(&mut desired, &Some(false));
                b.insert::<Pb>(desired, Some(n.clone()));
                refs.insert(name.clone(), Ref::New(n));
            }
        }
    }
    for u in stale {
        b.delete::<Pb>(u);
    }
    refs
}

fn sync_multicast_groups(
    b: &mut Builder,
    want: &Southbound,
    dps: &HashMap<String, Ref>,
    pbs: &HashMap<String, Ref>,
) {
    type Mg = sb::MulticastGroup;
    let mut current: HashMap<(Ref, String), (Uuid, &Row)> = HashMap::new();
    let mut stale = Vec::new();
    for (u, r) in b.table::<Mg>() {
        match col_opt!(r, Mg, COL_DATAPATH => datapath).map(Ref::Row) {
            Some(dp) => {
                if current
                    .insert((dp, col!(r, Mg, COL_NAME => name)), (*u, r))
                    .is_some()
                {
                    stale.push(*u);
                }
            }
            None => stale.push(*u),
        }
    }
    let mut kept = BTreeSet::new();
    for mg in want.multicast_groups.values() {
        let Some(dp) = dps.get(&mg.datapath) else { continue };
        let mut desired = Row::new();
        set_ref(&mut desired, Mg::COL_DATAPATH, dp);
        Mg::set_name(&mut desired, &mg.name);
        Mg::set_tunnel_key(&mut desired, &(mg.tunnel_key as i64));
        set_refs(
            &mut desired,
            Mg::COL_PORTS,
            mg.ports.iter().filter_map(|p| pbs.get(p)),
        );
        match current.get(&(dp.clone(), mg.name.clone())) {
            Some((u, r)) => {
                kept.insert(*u);
                b.update::<Mg>(*u, r, desired);
            }
            None => b.insert::<Mg>(desired, None),
        }
    }
    let gone: Vec<Uuid> = current
        .values()
        .map(|(u, _)| *u)
        .filter(|u| !kept.contains(u))
        .chain(stale)
        .collect();
    for u in gone {
        b.delete::<Mg>(u);
    }
}

/// A logical flow without its datapath: the unit that datapath groups share.
/// Northd keeps one per desired flow and one per SB flow (tens of thousands), so the
/// two small maps are held as sorted pairs in one allocation rather than as B-trees
/// (~0.5 kB of node each even for one entry); ordering and equality are the maps'.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct FlowContent {
    /// "ingress" or "egress" without an allocation (anything else as read).
    pipeline: Cow<'static, str>,
    table_id: i64,
    priority: i64,
    /// Shared with the engine's flow (see `northd_core::LogicalFlow`).
    match_: std::sync::Arc<str>,
    actions: std::sync::Arc<str>,
    external_ids: Pairs,
    tags: Pairs,
}

/// A string column's text as the replica row holds it (shared, not copied).
fn shared_text(r: &Row, column: &str) -> Option<std::sync::Arc<str>> {
    match r.get(column)?.as_atom()? {
        Atom::String(s) => Some(s.to_arc()),
        _ => None,
    }
}

/// A string map as its pairs in key order.
type Pairs = Box<[(Text, Text)]>;

/// A key or value of a flow's small maps: the keys northd writes and the stage
/// names are static, anything else is held once and shared.
#[derive(Debug, Clone)]
pub(crate) enum Text {
    Static(&'static str),
    Shared(std::sync::Arc<str>),
}

impl Text {
    fn as_str(&self) -> &str {
        match self {
            Text::Static(s) => s,
            Text::Shared(s) => s,
        }
    }

    fn of(s: &str) -> Text {
        const KEYS: [&str; 2] = ["stage-name", TAG_IN_OUT_PORT];
        if let Some(k) = KEYS.iter().find(|k| **k == s) {
            return Text::Static(k);
        }
        match Stage::from_name(s) {
            Some(stage) => Text::Static(stage.name()),
            None => Text::Shared(s.into()),
        }
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

fn pairs(m: Map) -> Pairs {
    m.iter().map(|(k, v)| (Text::of(k), Text::of(v))).collect()
}

fn map(p: &Pairs) -> Map {
    p.iter()
        .map(|(k, v)| (k.as_str().to_string(), v.as_str().to_string()))
        .collect()
}

/// `Logical_Flow.tags` key naming the flow's port.
const TAG_IN_OUT_PORT: &str = "in_out_port";

impl FlowContent {
    pub(crate) fn of(f: &LogicalFlow) -> Self {
        let tags = f
            .in_out_port
            .iter()
            .map(|p| (Text::Static(TAG_IN_OUT_PORT), Text::Shared(p.clone())))
            .collect();
        FlowContent {
            pipeline: Cow::Borrowed(f.pipeline().as_str()),
            table_id: f.table_id() as i64,
            priority: f.priority as i64,
            match_: f.match_.clone(),
            actions: f.actions.clone(),
            external_ids: f
                .external_ids()
                .iter()
                .map(|(k, v)| (Text::Static(k), Text::Static(v)))
                .collect(),
            tags,
        }
    }

    pub(crate) fn from_row(r: &Row) -> Self {
        type Lf = sb::LogicalFlow;
        FlowContent {
            pipeline: match col!(r, Lf, COL_PIPELINE => pipeline).as_str() {
                "ingress" => Cow::Borrowed("ingress"),
                "egress" => Cow::Borrowed("egress"),
                other => Cow::Owned(other.to_string()),
            },
            table_id: col_opt!(r, Lf, COL_TABLE_ID => table_id).unwrap_or(-1),
            priority: col_opt!(r, Lf, COL_PRIORITY => priority).unwrap_or(-1),
            match_: shared_text(r, Lf::COL_MATCH).unwrap_or_else(|| col!(r, Lf, COL_MATCH => r#match).into()),
            actions: shared_text(r, Lf::COL_ACTIONS)
                .unwrap_or_else(|| col!(r, Lf, COL_ACTIONS => actions).into()),
            external_ids: pairs(col!(r, Lf, COL_EXTERNAL_IDS => external_ids)),
            tags: pairs(col!(r, Lf, COL_TAGS => tags)),
        }
    }

    pub(crate) fn row(&self) -> Row {
        type Lf = sb::LogicalFlow;
        let mut r = Row::new();
        Lf::set_pipeline(&mut r, &self.pipeline.to_string());
        Lf::set_table_id(&mut r, &self.table_id);
        Lf::set_priority(&mut r, &self.priority);
        Lf::set_match(&mut r, &self.match_.to_string());
        Lf::set_actions(&mut r, &self.actions.to_string());
        Lf::set_external_ids(&mut r, &map(&self.external_ids));
        Lf::set_tags(&mut r, &map(&self.tags));
        r
    }
}

/// A `Logical_Flow` insert whose row exists only while the transaction is
/// written: a cold start inserts every flow, and holding them all as rows until
/// then cost more memory than the request text itself.
#[derive(Debug)]
pub(crate) struct FlowInsert {
    pub(crate) content: FlowContent,
    pub(crate) placement: Placement,
}

impl FlowInsert {
    fn operation(&self) -> Operation {
        let mut row = self.content.row();
        row.extend(self.placement.columns());
        Operation::Insert {
            table: sb::LogicalFlow::TABLE.into(),
            row,
            uuid_name: None,
        }
    }
}

impl WriteOp for FlowInsert {
    fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        serde_json::to_writer(out, &self.operation().to_json())
    }

    fn inserts_into(&self) -> Option<&str> {
        Some(sb::LogicalFlow::TABLE)
    }
}

impl Builder<'_> {
    pub(crate) fn insert_flow(&mut self, content: FlowContent, placement: Placement) {
        self.stats.inserted += 1;
        self.ops.push(Operation::Deferred(std::sync::Arc::new(FlowInsert {
            content,
            placement,
        })));
    }
}

/// Where a flow row points: one datapath, or a group of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Placement {
    Single(Ref),
    Group(Ref),
}

impl Placement {
    /// The `Logical_Flow` columns that say where the flow applies.
    pub(crate) fn columns(&self) -> Row {
        type Lf = sb::LogicalFlow;
        let mut r = Row::new();
        match self {
            Placement::Single(d) => {
                set_ref(&mut r, Lf::COL_LOGICAL_DATAPATH, d);
                Lf::set_logical_dp_group(&mut r, &None);
            }
            Placement::Group(g) => {
                Lf::set_logical_datapath(&mut r, &None);
                set_ref(&mut r, Lf::COL_LOGICAL_DP_GROUP, g);
            }
        }
        r
    }
}

/// The datapaths of a `Logical_DP_Group` row.
pub(crate) fn group_datapaths(r: &Row) -> BTreeSet<Ref> {
    col!(r, sb::LogicalDpGroup, COL_DATAPATHS => datapaths)
        .into_iter()
        .map(Ref::Row)
        .collect()
}

/// A `Logical_DP_Group` row listing `set`.
pub(crate) fn group_row(set: &BTreeSet<Ref>) -> Row {
    let mut r = Row::new();
    set_refs(&mut r, sb::LogicalDpGroup::COL_DATAPATHS, set);
    r
}

fn sync_logical_flows(b: &mut Builder, flows: &BTreeSet<LogicalFlow>, dps: &HashMap<String, Ref>) {
    type Lf = sb::LogicalFlow;
    type Grp = sb::LogicalDpGroup;
    // Desired: content → set of datapaths.
    let mut want: BTreeMap<FlowContent, BTreeSet<Ref>> = BTreeMap::new();
    for f in flows {
        if let Some(dp) = dps.get(&*f.datapath) {
            want.entry(FlowContent::of(f)).or_default().insert(dp.clone());
        }
    }

    let groups: BTreeMap<Uuid, BTreeSet<Ref>> = b
        .table::<Grp>()
        .iter()
        .map(|(u, r)| (*u, group_datapaths(r)))
        .collect();

    // Current: content → (row, placement). Duplicated contents are deleted.
    let mut current: HashMap<FlowContent, (Uuid, Placement)> = HashMap::new();
    let mut stale = Vec::new();
    for (u, r) in b.table::<Lf>() {
        let placement = if let Some(g) = col_opt!(r, Lf, COL_LOGICAL_DP_GROUP => logical_dp_group).flatten() {
            Placement::Group(Ref::Row(g))
        } else if let Some(d) = col_opt!(r, Lf, COL_LOGICAL_DATAPATH => logical_datapath).flatten() {
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
    for (set, contents) in &sets {
        // Of the groups listing exactly this set (a load balancer's may too), the one
        // these flows already use, so a second plan finds nothing to move.
        let used = |g: &Uuid| {
            contents
                .iter()
                .filter(|c| matches!(current.get(**c), Some((_, Placement::Group(Ref::Row(x)))) if x == g))
                .count()
        };
        if let Some((u, _)) = groups
            .iter()
            .filter(|(u, s)| *s == set && !claimed.contains(*u))
            .max_by_key(|(u, _)| (used(u), std::cmp::Reverse(**u)))
        {
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
                let cur_row = &b.table::<Grp>()[&g];
                b.update::<Grp>(g, cur_row, group_row(set));
                Ref::Row(g)
            }
            None => {
                let name = b.fresh("grp");
                b.insert::<Grp>(group_row(set), Some(name.clone()));
                Ref::New(name)
            }
        };
        group_for.insert(set.clone(), r);
    }

    for (content, set) in want {
        let target = if set.len() == 1 {
            Placement::Single(set.iter().next().expect("one datapath").clone())
        } else {
            Placement::Group(group_for[&set].clone())
        };
        match current.get(&content) {
            Some((_, p)) if *p == target => {}
            Some((u, _)) => {
                b.stats.updated += 1;
                b.ops.push(Operation::Update {
                    table: Lf::TABLE.into(),
                    conditions: vec![Condition::uuid(*u)],
                    row: target.columns(),
                });
            }
            None => b.insert_flow(content, target),
        }
    }
    for u in stale {
        b.delete::<Lf>(u);
    }
}

/// `Load_Balancer.external_ids` key naming the NB load balancer.
pub(crate) const LB_ID: &str = "lb_id";

fn sync_load_balancers(b: &mut Builder, want: &Southbound, dps: &HashMap<String, Ref>) {
    type Lb = sb::LoadBalancer;
    type Grp = sb::LogicalDpGroup;
    let groups = b.table::<Grp>();
    let mut current: HashMap<String, (Uuid, &Row)> = HashMap::new();
    let mut stale = Vec::new();
    for (u, r) in b.table::<Lb>() {
        match col!(r, Lb, COL_EXTERNAL_IDS => external_ids).remove(LB_ID) {
            Some(id) if want.load_balancers.contains_key(&id) && !current.contains_key(&id) => {
                current.insert(id, (*u, r));
            }
            _ => stale.push(*u),
        }
    }
    for (id, lb) in &want.load_balancers {
        let set: BTreeSet<Ref> = lb.datapaths.iter().filter_map(|d| dps.get(d)).cloned().collect();
        let mut desired = Row::new();
        Lb::set_name(&mut desired, &lb.name);
        Lb::set_vips(&mut desired, &lb.vips);
        Lb::set_protocol(&mut desired, &lb.protocol);
        Lb::set_options(&mut desired, &lb.options);
        Lb::set_external_ids(&mut desired, &lb.external_ids);
        let existing = current.get(id);
        // Keep the LB's group when it already lists exactly these datapaths.
        let group_ok = existing
            .and_then(|(_, r)| col_opt!(r, Lb, COL_DATAPATH_GROUP => datapath_group).flatten())
            .is_some_and(|g| {
                groups
                    .get(&g)
                    .and_then(|gr| col_opt!(gr, Grp, COL_DATAPATHS => datapaths))
                    .map(|d| d.into_iter().map(Ref::Row).collect::<BTreeSet<_>>())
                    .as_ref()
                    == Some(&set)
            });
        if !group_ok {
            let name = b.fresh("lbg");
            b.insert::<Grp>(group_row(&set), Some(name.clone()));
            set_ref(&mut desired, Lb::COL_DATAPATH_GROUP, &Ref::New(name));
        }
        match existing {
            Some((u, r)) => b.update::<Lb>(*u, r, desired),
            None => b.insert::<Lb>(desired, None),
        }
    }
    for u in stale {
        b.delete::<Lb>(u);
    }
}

/// Syncs a table of named sets (`Address_Set`, `Port_Group`), matched by name:
/// `name_of` reads a current row's name, `build` makes the desired row.
fn sync_named_sets<T: Table>(
    b: &mut Builder,
    want: &BTreeMap<String, Vec<String>>,
    name_of: fn(&Row) -> String,
    build: fn(&String, &Vec<String>) -> Row,
) {
    let mut current: HashMap<String, (Uuid, &Row)> = HashMap::new();
    let mut stale = Vec::new();
    for (u, r) in b.table::<T>() {
        let name = name_of(r);
        if want.contains_key(&name) && !current.contains_key(&name) {
            current.insert(name, (*u, r));
        } else {
            stale.push(*u);
        }
    }
    for (name, items) in want {
        let desired = build(name, items);
        match current.get(name) {
            Some((u, r)) => b.update::<T>(*u, r, desired),
            None => b.insert::<T>(desired, None),
        }
    }
    for u in stale {
        b.delete::<T>(u);
    }
}

/// The DHCP option tables are static: what ovn-controller reads to encode
/// `put_dhcp_opts`/`put_dhcpv6_opts` (rovn-controller has the same table built in).
fn sync_dhcp_option_codes(b: &mut Builder) {
    use lflow::options::OptSet;
    fn sync<T: Table>(
        b: &mut Builder,
        set: OptSet,
        name_of: fn(&Row) -> String,
        build: fn(&str, i64, &str) -> Row,
    ) {
        let want: BTreeMap<&str, Row> = set
            .options()
            .map(|(n, code, ty)| (n, build(n, i64::from(code), ty.sb_type())))
            .collect();
        let mut seen = BTreeSet::new();
        let mut stale = Vec::new();
        let mut updates = Vec::new();
        for (u, r) in b.table::<T>() {
            let name = name_of(r);
            match want.get(name.as_str()) {
                Some(d) if seen.insert(name.clone()) => updates.push((*u, r.clone(), d.clone())),
                _ => stale.push(*u),
            }
        }
        for (u, r, d) in updates {
            b.update::<T>(u, &r, d);
        }
        for (n, d) in want {
            if !seen.contains(n) {
                b.insert::<T>(d, None);
            }
        }
        for u in stale {
            b.delete::<T>(u);
        }
    }
    sync::<sb::DhcpOptions>(
        b,
        OptSet::Dhcp4,
        |r| col!(r, sb::DhcpOptions, COL_NAME => name),
        |n, code, ty| {
            let mut r = Row::new();
            sb::DhcpOptions::set_name(&mut r, &n.to_string());
            sb::DhcpOptions::set_code(&mut r, &code);
            sb::DhcpOptions::set_type(&mut r, &ty.to_string());
            r
        },
    );
    sync::<sb::Dhcpv6Options>(
        b,
        OptSet::Dhcp6,
        |r| col!(r, sb::Dhcpv6Options, COL_NAME => name),
        |n, code, ty| {
            let mut r = Row::new();
            sb::Dhcpv6Options::set_name(&mut r, &n.to_string());
            sb::Dhcpv6Options::set_code(&mut r, &code);
            sb::Dhcpv6Options::set_type(&mut r, &ty.to_string());
            r
        },
    );
}

/// Rows the chassis learned (MAC_Binding, FDB) die with their port or datapath.
fn cleanup_learned(b: &mut Builder, want: &Southbound) {
    type Dp = sb::DatapathBinding;
    type Mb = sb::MacBinding;
    type Fdb = sb::Fdb;
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
        .table::<Dp>()
        .iter()
        .filter_map(|(u, r)| Some((*u, col_opt!(r, Dp, COL_TUNNEL_KEY => tunnel_key)?)))
        .collect();
    let mut gone_mb = Vec::new();
    for (u, r) in b.table::<Mb>() {
        let port_ok = want
            .port_bindings
            .contains_key(&col!(r, Mb, COL_LOGICAL_PORT => logical_port));
        let dp_ok = col_opt!(r, Mb, COL_DATAPATH => datapath)
            .and_then(|d| current_dp_key.get(&d))
            .is_some_and(|k| dp_keys.contains(k));
        if !(port_ok && dp_ok) {
            gone_mb.push(*u);
        }
    }
    let mut gone_fdb = Vec::new();
    for (u, r) in b.table::<Fdb>() {
        let dp = col!(r, Fdb, COL_DP_KEY => dp_key);
        let port = col!(r, Fdb, COL_PORT_KEY => port_key);
        if !port_keys.contains(&(dp, port)) {
            gone_fdb.push(*u);
        }
    }
    for u in gone_mb {
        b.delete::<Mb>(u);
    }
    for u in gone_fdb {
        b.delete::<Fdb>(u);
    }
}

/// `Logical_Switch_Port.type` of a port that links to a router.
const LSP_TYPE_ROUTER: &str = "router";

/// NB `Logical_Switch_Port.up` follows the binding: `Port_Binding.up` for VIFs,
/// always true for router ports (as ovn-northd does with `port-up-notif` chassis).
pub fn nb_port_up_ops(nb: &Tables, sb: &Tables) -> Vec<Operation> {
    type Pb = sb::PortBinding;
    type Lsp = nb::LogicalSwitchPort;
    let sb_up: HashMap<String, bool> = sb
        .get(Pb::TABLE)
        .into_iter()
        .flatten()
        .map(|(_, r)| {
            (
                col!(r, Pb, COL_LOGICAL_PORT => logical_port),
                col!(r, Pb, COL_UP => up).unwrap_or(false),
            )
        })
        .collect();
    nb.get(Lsp::TABLE)
        .into_iter()
        .flatten()
        .filter_map(|(u, r)| port_up_op(*u, r, |n| sb_up.get(n).copied()))
        .collect()
}

/// The `up` update one switch port needs, given its binding's `up` by port name.
pub fn port_up_op(u: Uuid, r: &Row, sb_up: impl Fn(&str) -> Option<bool>) -> Option<Operation> {
    type Lsp = nb::LogicalSwitchPort;
    let want = if col!(r, Lsp, COL_TYPE => r#type) == LSP_TYPE_ROUTER {
        Some(true)
    } else {
        sb_up(&col!(r, Lsp, COL_NAME => name))
    }?;
    let cur = col!(r, Lsp, COL_UP => up);
    if cur == Some(want) {
        return None;
    }
    let mut row = Row::new();
    Lsp::set_up(&mut row, &Some(want));
    Some(Operation::Update {
        table: Lsp::TABLE.into(),
        conditions: vec![Condition::uuid(u)],
        row,
    })
}

/// Sets NB_Global `sb_cfg`/`hv_cfg` (and their timestamps) when they lag.
pub fn nb_cfg_ops(nb: &Tables, sb_cfg: i64, hv_cfg: i64, now_ms: i64) -> Vec<Operation> {
    type G = nb::NbGlobal;
    let Some((u, r)) = nb.get(G::TABLE).and_then(|t| t.iter().next()) else {
        return Vec::new();
    };
    let mut want = Row::new();
    if col_opt!(r, G, COL_SB_CFG => sb_cfg) != Some(sb_cfg) {
        G::set_sb_cfg(&mut want, &sb_cfg);
        G::set_sb_cfg_timestamp(&mut want, &now_ms);
    }
    if col_opt!(r, G, COL_HV_CFG => hv_cfg) != Some(hv_cfg) {
        G::set_hv_cfg(&mut want, &hv_cfg);
        G::set_hv_cfg_timestamp(&mut want, &now_ms);
    }
    if want.is_empty() {
        return Vec::new();
    }
    vec![Operation::Update {
        table: G::TABLE.into(),
        conditions: vec![Condition::uuid(*u)],
        row: want,
    }]
}

/// `Chassis.other_config` key marking a chassis northd does not wait for.
const IS_REMOTE: &str = "is-remote";

/// `hv_cfg`: the lowest `nb_cfg` any chassis has acknowledged; chassis marked
/// remote (`other_config:is-remote=true`) are not waited for. With no chassis the
/// value is the SB `nb_cfg` itself, so `--wait=hv` does not hang on an empty cloud.
pub fn hv_cfg(sb: &Tables, sb_nb_cfg: i64) -> i64 {
    type Ch = sb::Chassis;
    type Cp = sb::ChassisPrivate;
    let remote: BTreeSet<Uuid> = sb
        .get(Ch::TABLE)
        .into_iter()
        .flatten()
        .filter(|(_, r)| {
            col!(r, Ch, COL_OTHER_CONFIG => other_config)
                .get(IS_REMOTE)
                .is_some_and(|v| v == "true")
        })
        .map(|(u, _)| *u)
        .collect();
    sb.get(Cp::TABLE)
        .into_iter()
        .flatten()
        .filter(|(_, r)| !col!(r, Cp, COL_CHASSIS => chassis).is_some_and(|c| remote.contains(&c)))
        .filter_map(|(_, r)| col_opt!(r, Cp, COL_NB_CFG => nb_cfg))
        .min()
        .unwrap_or(sb_nb_cfg)
}

/// Stamps the time northd started working on the current `nb_cfg`.
pub fn nb_cfg_timestamp_op(nb: &Tables, now_ms: i64) -> Option<Operation> {
    type G = nb::NbGlobal;
    let (u, _) = nb.get(G::TABLE)?.iter().next()?;
    let mut row = Row::new();
    G::set_nb_cfg_timestamp(&mut row, &now_ms);
    Some(Operation::Update {
        table: G::TABLE.into(),
        conditions: vec![Condition::uuid(*u)],
        row,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use northd_core::{DatapathBinding, DatapathKind};

    /// Applies a plan of inserts to `cur`, resolving named UUIDs.
    fn apply_inserts(p: &Plan, cur: &mut Tables) {
        let mut names = BTreeMap::new();
        for op in &p.ops {
            if let Operation::Insert {
                uuid_name: Some(n), ..
            } = op
            {
                names.insert(n.clone(), Uuid::new_v4());
            }
        }
        let resolve = |a: &Atom| match a {
            Atom::NamedUuid(n) => Atom::Uuid(names[n]),
            a => a.clone(),
        };
        for op in &p.ops {
            let Operation::Insert {
                table,
                row,
                uuid_name,
            } = op
            else {
                panic!("expected only inserts: {op:?}");
            };
            let u = uuid_name.as_ref().map_or_else(Uuid::new_v4, |n| names[n]);
            let row = row
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Datum::Set(s) => Datum::set(s.iter().map(resolve)),
                        Datum::Map(m) => Datum::map(m.iter().map(|(k, v)| (resolve(k), resolve(v)))),
                    };
                    (k.clone(), v)
                })
                .collect();
            cur.entry(table.clone()).or_default().insert(u, row);
        }
    }

    fn want() -> Southbound {
        let mut sb = Southbound::default();
        sb.datapaths.insert(
            "ls-u".into(),
            DatapathBinding {
                kind: DatapathKind::Switch,
                name: "ls1".into(),
                tunnel_key: 1,
                external_ids: [(DP_LOGICAL_SWITCH.to_string(), "ls-u".to_string())].into(),
            },
        );
        sb.port_bindings.insert(
            "p1".into(),
            PortBinding {
                logical_port: "p1".into(),
                datapath: "ls-u".into(),
                tunnel_key: 1,
                mac: vec!["02:00:00:00:00:01".into()],
                ..Default::default()
            },
        );
        sb
    }

    #[test]
    fn updates_only_differing_columns_and_keeps_malformed_rows() {
        type Pb = sb::PortBinding;
        let want = want();
        let mut cur = Tables::new();
        let first = plan(&want, &cur);
        // SB_Global, datapath, binding, and the static DHCPv4/v6 option codes.
        let dhcp =
            lflow::options::OptSet::Dhcp4.options().count() + lflow::options::OptSet::Dhcp6.options().count();
        assert_eq!(first.stats.inserted, 3 + dhcp);
        apply_inserts(&first, &mut cur);
        assert!(plan(&want, &cur).ops.is_empty(), "written once, nothing to do");

        let (&pb, _) = cur[Pb::TABLE].iter().next().unwrap();
        let row = cur.get_mut(Pb::TABLE).unwrap().get_mut(&pb).unwrap();
        // An empty set where northd writes an empty map is the same value.
        row.insert(Pb::COL_EXTERNAL_IDS.into(), Datum::empty_set());
        // A column northd does not own is left alone.
        Pb::set_chassis(row, &Some(Uuid::new_v4()));
        assert!(plan(&want, &cur).ops.is_empty());

        // A malformed column does not lose the row: it is matched and repaired in place.
        let row = cur.get_mut(Pb::TABLE).unwrap().get_mut(&pb).unwrap();
        row.insert(Pb::COL_MAC.into(), Datum::integer(5));
        let p = plan(&want, &cur);
        assert_eq!(
            p.stats,
            SyncStats {
                inserted: 0,
                updated: 1,
                deleted: 0
            }
        );
        let Operation::Update { table, row, .. } = &p.ops[0] else {
            panic!("{:?}", p.ops)
        };
        assert_eq!(table, Pb::TABLE);
        let mut expected = Row::new();
        Pb::set_mac(&mut expected, &want.port_bindings["p1"].mac);
        assert_eq!(row, &expected);
    }
}
