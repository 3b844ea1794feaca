//! [`Compiler`]: compilation with a cache of datapath-independent results.
//!
//! northd writes the same match and action strings for many datapaths (one
//! row per datapath group, or identical rows per switch/router), and a
//! controller's full recompute compiles the same strings again.  Parsing,
//! annotation, normalisation and action encoding depend only on the strings,
//! the pipeline and table, a few [`Context`] settings and the answers the
//! [`Lookup`] gives; the datapath key, conjunction ids and local-port
//! filtering are applied afterwards ([`assemble`]).  The cache keeps the
//! former, with a record of every lookup made while computing it.  On a hit
//! the lookups are asked again: with the same answers the computation would
//! be the same, so the cached result is used; otherwise it is recomputed.

use std::cell::RefCell;
use std::hash::Hash;

use crate::actions::Pipeline;
use crate::compile::{CompileError, Compiled, Context, LogicalFlow, Prepared, assemble, prepare};
use crate::expr::Lookup;
use crate::fx::{FxHashMap, hash_one};
use crate::of::Group;

/// Context settings the prepared result depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct CtxKey {
    is_switch: bool,
    ct_zero_snat: bool,
    common_zone_is_snat: bool,
    dp_hash_l4_sym: bool,
    controller_meter: Option<u32>,
    n_tables: u8,
    output_table: Option<u8>,
    dp_meters: bool,
    /// `sample()` encodes the datapath key and flow cookie into its action,
    /// so action strings that may contain it are cached per datapath/flow.
    sample: Option<(u32, u32)>,
}

impl CtxKey {
    fn new(ctx: &Context, actions: &str) -> Self {
        CtxKey {
            is_switch: ctx.is_switch,
            ct_zero_snat: ctx.ct_zero_snat,
            common_zone_is_snat: ctx.common_zone_is_snat,
            dp_hash_l4_sym: ctx.dp_hash_l4_sym,
            controller_meter: ctx.controller_meter,
            n_tables: ctx.n_tables,
            output_table: ctx.output_table,
            dp_meters: ctx.dp_meters,
            sample: actions
                .contains("sample")
                .then_some((ctx.datapath_key, ctx.lflow_cookie)),
        }
    }
}

/// One lookup made while preparing, with its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Query {
    PortKey(String, Option<u32>),
    AddressSet(String, Option<Vec<String>>),
    PortGroup(String, Option<Vec<String>>),
    Template(String, Option<String>),
    Resident(String, bool),
    LocalPort(u32, bool),
    TunnelOfport(String, Option<u32>),
    CollectorSet(u32, bool),
    // Allocating lookups: asked again only once every pure answer matched.
    GroupId(Group, Option<u32>),
    MeterId(String, Option<u32>),
}

impl Query {
    fn allocates(&self) -> bool {
        matches!(self, Query::GroupId(..) | Query::MeterId(..))
    }

    /// Asks `lookup` the same question again; the fresh answer.
    fn ask(&self, lookup: &mut dyn Lookup) -> Query {
        match self {
            Query::GroupId(g, _) => Query::GroupId(g.clone(), lookup.group_id(g)),
            Query::MeterId(n, _) => Query::MeterId(n.clone(), lookup.meter_id(n)),
            _ => unreachable!("only allocating queries are asked again"),
        }
    }

    /// Asks `lookup` the same pure question; true if it answers the same.
    fn holds(&self, lookup: &mut dyn Lookup) -> bool {
        match self {
            Query::PortKey(n, a) => lookup.port_key(n) == *a,
            Query::AddressSet(n, a) => lookup.address_set(n) == *a,
            Query::PortGroup(n, a) => lookup.port_group(n) == *a,
            Query::Template(n, a) => lookup.template(n) == *a,
            Query::Resident(n, a) => lookup.is_chassis_resident(n) == *a,
            Query::LocalPort(k, a) => lookup.is_local_port(*k) == *a,
            Query::TunnelOfport(n, a) => lookup.tunnel_ofport(n) == *a,
            Query::CollectorSet(id, a) => lookup.has_collector_set(*id) == *a,
            Query::GroupId(..) | Query::MeterId(..) => self.ask(lookup) == *self,
        }
    }
}

/// A [`Lookup`] that forwards to another and records every answer.
/// Allocating questions already asked while checking a cache entry are
/// answered from `asked` (in order), so the caller sees each allocating
/// call exactly once, as without a cache.
struct Recorder<'a> {
    inner: &'a mut dyn Lookup,
    log: RefCell<Vec<Query>>,
    asked: std::collections::VecDeque<Query>,
}

impl Recorder<'_> {
    fn note<T: Clone>(&self, answer: T, q: impl FnOnce(T) -> Query) -> T {
        self.log.borrow_mut().push(q(answer.clone()));
        answer
    }
}

impl Lookup for Recorder<'_> {
    fn port_key(&self, name: &str) -> Option<u32> {
        self.note(self.inner.port_key(name), |a| Query::PortKey(name.into(), a))
    }
    fn address_set(&self, name: &str) -> Option<Vec<String>> {
        self.note(self.inner.address_set(name), |a| {
            Query::AddressSet(name.into(), a)
        })
    }
    fn port_group(&self, name: &str) -> Option<Vec<String>> {
        self.note(self.inner.port_group(name), |a| Query::PortGroup(name.into(), a))
    }
    fn template(&self, name: &str) -> Option<String> {
        self.note(self.inner.template(name), |a| Query::Template(name.into(), a))
    }
    fn is_chassis_resident(&self, port: &str) -> bool {
        self.note(self.inner.is_chassis_resident(port), |a| {
            Query::Resident(port.into(), a)
        })
    }
    fn is_local_port(&self, key: u32) -> bool {
        self.note(self.inner.is_local_port(key), |a| Query::LocalPort(key, a))
    }
    fn group_id(&mut self, group: &Group) -> Option<u32> {
        let a = match self.asked.pop_front() {
            Some(Query::GroupId(g, a)) if g == *group => a,
            _ => {
                self.asked.clear();
                self.inner.group_id(group)
            }
        };
        self.log.get_mut().push(Query::GroupId(group.clone(), a));
        a
    }
    fn meter_id(&mut self, name: &str) -> Option<u32> {
        let a = match self.asked.pop_front() {
            Some(Query::MeterId(n, a)) if n == name => a,
            _ => {
                self.asked.clear();
                self.inner.meter_id(name)
            }
        };
        self.log.get_mut().push(Query::MeterId(name.into(), a));
        a
    }
    fn tunnel_ofport(&self, port: &str) -> Option<u32> {
        self.note(self.inner.tunnel_ofport(port), |a| {
            Query::TunnelOfport(port.into(), a)
        })
    }
    fn has_collector_set(&self, id: u32) -> bool {
        self.note(self.inner.has_collector_set(id), |a| Query::CollectorSet(id, a))
    }
}

struct Entry {
    match_: Box<str>,
    actions: Box<str>,
    pipeline: Pipeline,
    table_id: u8,
    ctx: CtxKey,
    /// Pure lookups first, then allocating ones, each in the order made.
    trace: Vec<Query>,
    prepared: Prepared,
}

impl Entry {
    fn is(&self, lflow: &LogicalFlow<'_>, ctx: &CtxKey) -> bool {
        self.table_id == lflow.table_id
            && self.pipeline == lflow.pipeline
            && *self.match_ == *lflow.match_
            && *self.actions == *lflow.actions
            && self.ctx == *ctx
    }
}

type Table = FxHashMap<u64, Vec<Entry>>;

/// Counters of a [`Compiler`]'s cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Compilations that reused a cached result.
    pub hits: u64,
    /// Compilations that parsed and normalised (first sight, or a lookup
    /// answered differently).
    pub misses: u64,
    /// Entries currently held.
    pub entries: usize,
}

/// Compiles logical flows, caching what does not depend on the datapath.
///
/// Memory is bounded: entries live in two generations of at most
/// `capacity` entries each; when the current one fills up it becomes the old
/// one (the previous old one is dropped), and a hit in the old generation
/// moves the entry back.  So strings compiled in every full recompute stay
/// cached and strings no longer in the southbound database age out.
///
/// [`Lookup`] implementations must answer the same question the same way
/// while nothing changed.  Pure lookups may be asked more often than an
/// uncached compilation would; allocating ones (`group_id`, `meter_id`) are
/// asked exactly as often and in the same order.
pub struct Compiler {
    cur: Table,
    old: Table,
    cur_len: usize,
    old_len: usize,
    capacity: usize,
    hits: u64,
    misses: u64,
}

impl Default for Compiler {
    fn default() -> Self {
        Compiler::new()
    }
}

impl Compiler {
    /// Entries per generation by default: a medium topology's ~23 000
    /// logical flows fit in one generation, so a full recompute hits for
    /// every flow.  A working set larger than the capacity partly misses
    /// (generations rotate mid-recompute); size the cache to the number of
    /// logical flows for large deployments.
    pub const DEFAULT_CAPACITY: usize = 32 * 1024;

    pub fn new() -> Self {
        Compiler::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A compiler keeping up to `2 * capacity` entries (0 disables caching).
    pub fn with_capacity(capacity: usize) -> Self {
        Compiler {
            cur: Table::default(),
            old: Table::default(),
            cur_len: 0,
            old_len: 0,
            capacity,
            hits: 0,
            misses: 0,
        }
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits,
            misses: self.misses,
            entries: self.cur_len + self.old_len,
        }
    }

    /// Drops every cached entry.
    pub fn clear(&mut self) {
        self.cur.clear();
        self.old.clear();
        self.cur_len = 0;
        self.old_len = 0;
    }

    /// Same result as [`compile_uncached`](crate::compile::compile_uncached).
    pub fn compile(
        &mut self,
        lflow: &LogicalFlow<'_>,
        ctx: &Context,
        lookup: &mut dyn Lookup,
    ) -> Result<Compiled, CompileError> {
        if self.capacity == 0 {
            return crate::compile::compile_uncached(lflow, ctx, lookup);
        }
        let key = CtxKey::new(ctx, lflow.actions);
        let h = hash_one(&(
            lflow.match_,
            lflow.actions,
            lflow.table_id,
            lflow.pipeline == Pipeline::Ingress,
            key,
        ));
        // The trace lists pure lookups before allocating ones: nothing is
        // allocated unless every pure answer still holds, and allocating
        // answers already obtained are handed to the recompilation.
        let mut asked = std::collections::VecDeque::new();
        let hit = self.find(h, lflow, &key).and_then(|e| {
            let (pure, alloc) = e
                .trace
                .split_at(e.trace.iter().position(Query::allocates).unwrap_or(e.trace.len()));
            if !pure.iter().all(|q| q.holds(lookup)) {
                return None;
            }
            for q in alloc {
                let fresh = q.ask(lookup);
                let same = fresh == *q;
                asked.push_back(fresh);
                if !same {
                    return None;
                }
            }
            Some(assemble(&e.prepared, lflow, ctx, &*lookup))
        });
        if let Some(out) = hit {
            self.hits += 1;
            return Ok(out);
        }
        self.misses += 1;
        let mut rec = Recorder {
            inner: lookup,
            log: RefCell::new(Vec::new()),
            asked,
        };
        let prepared = prepare(lflow, ctx, &mut rec)?;
        let (mut trace, alloc): (Vec<Query>, Vec<Query>) =
            rec.log.into_inner().into_iter().partition(|q| !q.allocates());
        trace.extend(alloc);
        let out = assemble(&prepared, lflow, ctx, &*lookup);
        let mut prepared = prepared;
        prepared.protos.shrink_to_fit();
        prepared.actions.shrink_to_fit();
        trace.shrink_to_fit();
        self.insert(
            h,
            Entry {
                match_: lflow.match_.into(),
                actions: lflow.actions.into(),
                pipeline: lflow.pipeline,
                table_id: lflow.table_id,
                ctx: key,
                trace,
                prepared,
            },
        );
        Ok(out)
    }

    /// The entry for this flow, moved into the current generation.
    fn find(&mut self, h: u64, lflow: &LogicalFlow<'_>, key: &CtxKey) -> Option<&Entry> {
        let in_cur = self
            .cur
            .get(&h)
            .and_then(|v| v.iter().position(|e| e.is(lflow, key)));
        if let Some(i) = in_cur {
            return self.cur.get(&h).map(|v| &v[i]);
        }
        let bucket = self.old.get_mut(&h)?;
        let i = bucket.iter().position(|e| e.is(lflow, key))?;
        let e = bucket.swap_remove(i);
        if bucket.is_empty() {
            self.old.remove(&h);
        }
        self.old_len -= 1;
        self.insert(h, e);
        self.cur.get(&h).and_then(|v| v.iter().find(|e| e.is(lflow, key)))
    }

    fn insert(&mut self, h: u64, e: Entry) {
        if let Some(v) = self.cur.get_mut(&h)
            && let Some(i) = v.iter().position(|x| x.is_same(&e))
        {
            v[i] = e;
            return;
        }
        if self.cur_len >= self.capacity {
            self.old = std::mem::take(&mut self.cur);
            self.old_len = self.cur_len;
            self.cur_len = 0;
        }
        self.cur.entry(h).or_default().push(e);
        self.cur_len += 1;
    }
}

impl Entry {
    fn is_same(&self, o: &Entry) -> bool {
        self.table_id == o.table_id
            && self.pipeline == o.pipeline
            && self.match_ == o.match_
            && self.actions == o.actions
            && self.ctx == o.ctx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ports(Vec<(&'static str, u32)>, Vec<u32>);
    impl Lookup for Ports {
        fn port_key(&self, name: &str) -> Option<u32> {
            self.0.iter().find(|p| p.0 == name).map(|p| p.1)
        }
        fn is_local_port(&self, key: u32) -> bool {
            self.1.contains(&key)
        }
    }

    fn lf<'a>(m: &'a str, a: &'a str) -> LogicalFlow<'a> {
        LogicalFlow {
            pipeline: Pipeline::Ingress,
            table_id: 3,
            priority: 10,
            match_: m,
            actions: a,
        }
    }

    #[test]
    fn hits_equal_uncached_results_and_changed_answers_recompile() {
        let mut c = Compiler::new();
        let l = lf(
            "inport == \"p1\" && ip4.src == {10.0.0.1, 10.0.0.2} && tcp.dst == {80, 443}",
            "outport = \"p2\"; output;",
        );
        let mut look = Ports(vec![("p1", 1), ("p2", 2)], vec![1]);
        for dp in [5, 6] {
            let mut ctx = Context::new(dp, true);
            ctx.conj_id_base = dp * 10;
            let want = crate::compile_uncached(&l, &ctx, &mut look).unwrap();
            assert_eq!(c.compile(&l, &ctx, &mut look).unwrap(), want);
        }
        assert_eq!((c.stats().hits, c.stats().misses), (1, 1));
        // Another datapath where the ports have other keys: recompiled.
        let mut other = Ports(vec![("p1", 7), ("p2", 8)], vec![7]);
        let ctx = Context::new(9, true);
        let want = crate::compile_uncached(&l, &ctx, &mut other).unwrap();
        assert_eq!(c.compile(&l, &ctx, &mut other).unwrap(), want);
        assert_eq!(c.stats().misses, 2);
        // Local ports are applied after the cache: p1 not local, no flows.
        let mut remote = Ports(vec![("p1", 7), ("p2", 8)], vec![]);
        assert!(c.compile(&l, &ctx, &mut remote).unwrap().flows.is_empty());
        assert_eq!(c.stats().hits, 2);
    }

    #[test]
    fn generations_bound_the_cache() {
        let mut c = Compiler::with_capacity(2);
        let mut look = Ports(vec![], vec![]);
        let ctx = Context::new(1, false);
        for m in ["ip4", "ip6", "arp", "tcp", "udp"] {
            c.compile(&lf(m, "next;"), &ctx, &mut look).unwrap();
        }
        assert!(c.stats().entries <= 4);
        // "udp" is in the current generation, "ip4" aged out.
        c.compile(&lf("udp", "next;"), &ctx, &mut look).unwrap();
        assert_eq!(c.stats().hits, 1);
        c.compile(&lf("ip4", "next;"), &ctx, &mut look).unwrap();
        assert_eq!(c.stats().misses, 6);
    }

    /// Allocates group ids from `next`, counting calls.
    struct Groups {
        next: u32,
        calls: usize,
    }
    impl Lookup for Groups {
        fn group_id(&mut self, _g: &Group) -> Option<u32> {
            self.calls += 1;
            Some(self.next)
        }
    }

    #[test]
    fn allocating_lookups_are_asked_as_often_as_without_cache() {
        let l = lf("ip4 && tcp", "ct_lb_mark(backends=10.0.0.2:80,10.0.0.3:80);");
        let ctx = Context::new(1, false);
        let mut c = Compiler::new();
        let mut g = Groups { next: 5, calls: 0 };
        let first = c.compile(&l, &ctx, &mut g).unwrap();
        assert_eq!(g.calls, 1);
        assert_eq!(c.compile(&l, &ctx, &mut g).unwrap(), first);
        assert_eq!((g.calls, c.stats().hits), (2, 1));
        // The group now gets another id: one call, and the new id is used.
        g.next = 9;
        let again = c.compile(&l, &ctx, &mut g).unwrap();
        assert_eq!(g.calls, 3);
        assert_eq!(
            again,
            crate::compile_uncached(&l, &ctx, &mut Groups { next: 9, calls: 0 }).unwrap()
        );
        assert_ne!(again, first);
    }
}
