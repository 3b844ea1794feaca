//! Symbol expansion ("annotation") and normalisation of match expressions
//! into OpenFlow matches, with conjunctive matches for products of sets.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::error::Error;
use crate::expr::{Expr, FieldRef, Lookup, Relop, Value};
use crate::fx::UniqueVec;
use crate::of::{Field, Match, ones};
use crate::parser::parse_match;
use crate::symbols::{Kind, Symbol, symtab};

/// Upper bound on the number of flows one logical flow may expand into.
pub const MAX_CLAUSES: usize = 4096;

/// `field & mask == value` on an OpenFlow field (registers still in their
/// xxreg/xreg form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Term {
    pub field: Field,
    pub value: u128,
    pub mask: u128,
}

/// A match expression after symbol expansion: only terms remain.
#[derive(Debug, Clone)]
pub enum AExpr {
    Term(Term),
    And(Vec<AExpr>),
    Or(Vec<AExpr>),
    Not(Box<AExpr>),
    Bool(bool),
}

/// Fields OVN never uses as a conjunction dimension.
fn must_crossproduct(f: Field) -> bool {
    matches!(
        f,
        Field::EthType
            | Field::IpProto
            | Field::Icmpv6Type
            | Field::Icmpv6Code
            | Field::Reg(14)
            | Field::Reg(15)
    )
}

struct NoLookup;
impl Lookup for NoLookup {}

/// Annotated expansion of a predicate or prerequisite string (these never
/// depend on the caller's names, so they are cached process-wide).
fn expand_static(text: &'static str) -> Result<AExpr, Error> {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, AExpr>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(e) = cache.lock().ok().and_then(|c| c.get(text).cloned()) {
        return Ok(e);
    }
    let parsed = parse_match(text, &NoLookup)?;
    let e = annotate(&parsed, &NoLookup)?;
    if let Ok(mut c) = cache.lock() {
        c.insert(text, e.clone());
    }
    Ok(e)
}

/// The prerequisite expressions of `sym`, including those of the fields it
/// is a subfield of.
pub fn prereqs_of(sym: &Symbol) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut cur = Some(sym);
    while let Some(s) = cur {
        if let Some(p) = s.prereqs {
            out.push(p);
        }
        cur = match &s.kind {
            Kind::Subfield { parent, .. } => symtab().get(parent),
            _ => None,
        };
    }
    out
}

/// Expands one prerequisite string into an annotated expression.
pub fn prereq_expr(text: &'static str) -> Result<AExpr, Error> {
    expand_static(text)
}

/// Expands symbols, predicates, port names and relations into terms, and
/// adds prerequisites.
pub fn annotate(e: &Expr, lookup: &dyn Lookup) -> Result<AExpr, Error> {
    annotate_neg(e, false, true, lookup)
}

/// The one symbol every comparison under `e` uses, if there is one.
fn unique_symbol(e: &Expr) -> Option<&'static Symbol> {
    match e {
        Expr::Cmp { field, .. } => Some(field.sym),
        Expr::Not(x) => unique_symbol(x),
        Expr::And(v) | Expr::Or(v) => {
            let mut prev: Option<&'static Symbol> = None;
            for x in v {
                let s = unique_symbol(x)?;
                if prev.is_some_and(|p| !std::ptr::eq(p, s)) {
                    return None;
                }
                prev = Some(s);
            }
            prev
        }
        Expr::Bool(_) | Expr::ChassisResident(_) => None,
    }
}

fn with_prereqs(core: AExpr, pre: Vec<&'static str>) -> Result<AExpr, Error> {
    if pre.is_empty() {
        return Ok(core);
    }
    let mut v = vec![core];
    for p in pre {
        v.push(expand_static(p)?);
    }
    Ok(AExpr::And(v))
}

/// Negations are applied to comparisons before expansion, so that a
/// symbol's prerequisites are never negated (`!ct.est` means
/// `ct.est == 0 && ct.trk`); a negated predicate negates its whole expansion.
/// When every comparison in an AND/OR uses the same symbol, its
/// prerequisites are added once for the group rather than per comparison,
/// which keeps `ip4.src == {a, b}` a single-field set (a conjunction
/// dimension) instead of an OR of ANDs.
fn annotate_neg(e: &Expr, neg: bool, prereqs: bool, lookup: &dyn Lookup) -> Result<AExpr, Error> {
    if let (Expr::And(_) | Expr::Or(_), true) = (e, prereqs)
        && let Some(sym) = unique_symbol(e)
    {
        let core = annotate_neg(e, neg, false, lookup)?;
        return with_prereqs(core, sym.prereqs.into_iter().collect());
    }
    let all = |v: &[Expr]| -> Result<Vec<AExpr>, Error> {
        v.iter().map(|x| annotate_neg(x, neg, prereqs, lookup)).collect()
    };
    Ok(match e {
        Expr::Bool(b) => AExpr::Bool(*b ^ neg),
        Expr::ChassisResident(p) => AExpr::Bool(lookup.is_chassis_resident(p) ^ neg),
        Expr::Not(x) => annotate_neg(x, !neg, prereqs, lookup)?,
        Expr::And(v) if neg => AExpr::Or(all(v)?),
        Expr::And(v) => AExpr::And(all(v)?),
        Expr::Or(v) if neg => AExpr::And(all(v)?),
        Expr::Or(v) => AExpr::Or(all(v)?),
        Expr::Cmp { field, op, value } => {
            let op = if neg { negate_relop(*op) } else { *op };
            let core = annotate_cmp(field, op, value, lookup)?;
            if prereqs {
                with_prereqs(core, prereqs_of(field.sym))?
            } else {
                core
            }
        }
    })
}

fn negate_relop(r: Relop) -> Relop {
    match r {
        Relop::Eq => Relop::Ne,
        Relop::Ne => Relop::Eq,
        Relop::Lt => Relop::Ge,
        Relop::Le => Relop::Gt,
        Relop::Gt => Relop::Le,
        Relop::Ge => Relop::Lt,
    }
}

fn annotate_cmp(f: &FieldRef, op: Relop, value: &Value, lookup: &dyn Lookup) -> Result<AExpr, Error> {
    let sym = f.sym;
    match (&sym.kind, value) {
        (Kind::Predicate(text), Value::Int(k)) => {
            let positive = (k.value & 1 == 1) ^ (op == Relop::Ne);
            let x = expand_static(text)?;
            Ok(if positive { x } else { AExpr::Not(Box::new(x)) })
        }
        (Kind::Str(field), Value::Str(name)) => {
            let key = if name == "none" {
                Some(0)
            } else {
                lookup.port_key(name)
            };
            let eq = match key {
                Some(k) => AExpr::Term(Term {
                    field: *field,
                    value: k as u128,
                    mask: u32::MAX as u128,
                }),
                // An unknown port matches nothing (the logical flow's other
                // disjuncts still compile), as in ovn-controller.
                None => AExpr::Bool(false),
            };
            Ok(if op == Relop::Ne {
                AExpr::Not(Box::new(eq))
            } else {
                eq
            })
        }
        (_, Value::Int(k)) => {
            let Some((base, bofs)) = symtab().resolve(sym, f.ofs) else {
                return Err(Error::semantic(format!(
                    "Field {} cannot be used in a match.",
                    sym.name
                )));
            };
            let width = ones(f.n_bits);
            let term = |v: u128, m: u128| {
                AExpr::Term(Term {
                    field: base,
                    value: (v & m) << bofs,
                    mask: m << bofs,
                })
            };
            Ok(match op {
                Relop::Eq => term(k.value, k.mask.unwrap_or(width) & width),
                Relop::Ne => AExpr::Not(Box::new(term(k.value, k.mask.unwrap_or(width) & width))),
                _ => relational(op, k.value & width, f.n_bits, term),
            })
        }
        _ => Err(Error::semantic(format!(
            "Type mismatch comparing field {}.",
            sym.name
        ))),
    }
}

/// `field relop c` on an `n`-bit field as an OR of value/mask terms, built
/// the way OVN does (so the resulting flows are the same): `>=`/`<=` include
/// `c` itself, then for every bit where `c` is 0 (for `>`/`>=`) or 1 (for
/// `<`/`<=`), the values that agree with `c` above that bit and have the
/// other value at it, with lower bits wildcarded.
fn relational(op: Relop, c: u128, n: u32, term: impl Fn(u128, u128) -> AExpr) -> AExpr {
    let all = ones(n);
    let lt = matches!(op, Relop::Lt | Relop::Le);
    let eq = matches!(op, Relop::Le | Relop::Ge);
    let bit = |z: u32| (c >> z) & 1 == 1;
    // `f >= 0`, `f <= max` are always true; `f > 0`, `f < max` mean `!=`.
    if (0..n).all(|z| bit(z) == lt) {
        return if eq {
            AExpr::Bool(true)
        } else {
            AExpr::Not(Box::new(term(c, all)))
        };
    }
    let mut alts = Vec::new();
    if eq {
        alts.push(term(c, all));
    }
    for z in (0..n).filter(|z| bit(*z) == lt) {
        let below = ones(z);
        alts.push(term((c ^ (1 << z)) & !below & all, all & !below));
    }
    AExpr::Or(alts)
}

/// Pushes negations down to terms (negating a masked term yields an OR of
/// single-bit terms).
fn nnf(e: AExpr, neg: bool) -> AExpr {
    match e {
        AExpr::Bool(b) => AExpr::Bool(b ^ neg),
        AExpr::Not(x) => nnf(*x, !neg),
        AExpr::And(v) => {
            let v = v.into_iter().map(|x| nnf(x, neg)).collect();
            if neg { AExpr::Or(v) } else { AExpr::And(v) }
        }
        AExpr::Or(v) => {
            let v = v.into_iter().map(|x| nnf(x, neg)).collect();
            if neg { AExpr::And(v) } else { AExpr::Or(v) }
        }
        AExpr::Term(t) if !neg => AExpr::Term(t),
        AExpr::Term(t) => {
            let mut v = Vec::new();
            for bit in 0..128 {
                let b = 1u128 << bit;
                if t.mask & b != 0 {
                    v.push(AExpr::Term(Term {
                        field: t.field,
                        value: !t.value & b,
                        mask: b,
                    }));
                }
            }
            AExpr::Or(v)
        }
    }
}

/// `field → (value, mask)` constraints of a clause, kept sorted by field:
/// clauses rarely have more than a handful, and a sorted vector is far
/// cheaper to clone, compare and hash than a `BTreeMap` (whose smallest node
/// holds eleven entries).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TermMap(Vec<(Field, (u128, u128))>);

impl TermMap {
    pub fn get(&self, f: &Field) -> Option<&(u128, u128)> {
        self.0.iter().find(|(g, _)| g == f).map(|(_, v)| v)
    }

    pub fn insert(&mut self, f: Field, v: (u128, u128)) {
        match self.0.binary_search_by(|(g, _)| g.cmp(&f)) {
            Ok(i) => self.0[i].1 = v,
            Err(i) => self.0.insert(i, (f, v)),
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Constraints in field order.
    pub fn iter(&self) -> impl Iterator<Item = (&Field, &(u128, u128))> {
        self.0.iter().map(|(f, v)| (f, v))
    }
}

impl<'a> IntoIterator for &'a TermMap {
    type Item = (&'a Field, &'a (u128, u128));
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Field, (u128, u128))>,
        fn(&'a (Field, (u128, u128))) -> (&'a Field, &'a (u128, u128)),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(f, v)| (f, v))
    }
}

/// One disjunct of the normal form: terms that must all hold, plus
/// dimensions (each an OR of alternatives on one field) that must each hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Clause {
    pub terms: TermMap,
    pub dims: Vec<(Field, Vec<(u128, u128)>)>,
}

fn combine(a: (u128, u128), b: (u128, u128)) -> Option<(u128, u128)> {
    if (a.0 ^ b.0) & a.1 & b.1 != 0 {
        None
    } else {
        Some((a.0 | b.0, a.1 | b.1))
    }
}

impl Clause {
    fn add_term(&mut self, f: Field, v: (u128, u128)) -> bool {
        match self.terms.get(&f) {
            Some(cur) => match combine(*cur, v) {
                Some(c) => {
                    self.terms.insert(f, c);
                    true
                }
                None => false,
            },
            None => {
                self.terms.insert(f, v);
                true
            }
        }
    }

    /// Restores the invariants: dimensions are consistent with the terms,
    /// have at least two alternatives, and are on distinct fields.
    fn fixup(mut self) -> Option<Clause> {
        'again: loop {
            for i in 0..self.dims.len() {
                let f = self.dims[i].0;
                let base = self.terms.get(&f).copied();
                let mut alts: Vec<(u128, u128)> = Vec::new();
                for a in &self.dims[i].1 {
                    let c = match base {
                        Some(b) => combine(b, *a),
                        None => Some(*a),
                    };
                    if let Some(c) = c
                        && !alts.contains(&c)
                    {
                        alts.push(c);
                    }
                }
                if alts.is_empty() {
                    return None;
                }
                if alts.iter().any(|a| Some(*a) == base) {
                    // One alternative is implied by the terms: dimension is true.
                    self.dims.remove(i);
                    continue 'again;
                }
                if alts.len() == 1 {
                    self.dims.remove(i);
                    if !self.add_term(f, alts[0]) {
                        return None;
                    }
                    continue 'again;
                }
                self.dims[i].1 = alts;
                for j in 0..i {
                    if self.dims[j].0 == f {
                        let other = self.dims.remove(i).1;
                        let mut prod = Vec::new();
                        for a in &self.dims[j].1 {
                            for b in &other {
                                if let Some(c) = combine(*a, *b)
                                    && !prod.contains(&c)
                                {
                                    prod.push(c);
                                }
                            }
                        }
                        self.dims[j].1 = prod;
                        continue 'again;
                    }
                }
            }
            return Some(self);
        }
    }

    /// `self ∧ other`, or `None` if contradictory.
    fn merge(mut self, other: &Clause) -> Option<Clause> {
        if conflicts(&self, other) {
            return None;
        }
        let c = &mut self;
        for (f, v) in &other.terms {
            if !c.add_term(*f, *v) {
                return None;
            }
        }
        c.dims.extend(other.dims.iter().cloned());
        self.fixup()
    }
}

/// Whether some field constrained by both clauses' terms is constrained to
/// different values, so no extension of either can merge with the other.
fn conflicts(a: &Clause, b: &Clause) -> bool {
    let (small, big) = if a.terms.len() <= b.terms.len() {
        (a, b)
    } else {
        (b, a)
    };
    small
        .terms
        .iter()
        .any(|(f, v)| big.terms.get(f).is_some_and(|w| combine(*v, *w).is_none()))
}

/// Contexts larger than this are not used for pruning (checking would cost
/// more than it saves).
const MAX_PRUNE_CTX: usize = 16;

/// Whether clause `c` can be dropped because every clause of the context it
/// will be merged with contradicts it.  Term conflicts are monotone (a
/// clause's terms only ever become more specific), so every clause built
/// from `c` would be dropped by that merge anyway: pruning early changes
/// nothing but the work done.
fn pruned(c: &Clause, ctx: &[Clause]) -> bool {
    !ctx.is_empty() && ctx.len() <= MAX_PRUNE_CTX && ctx.iter().all(|a| conflicts(a, c))
}

/// Disjunctive normal form of `e`, leaving out clauses that contradict every
/// clause of `ctx` (the clauses the result will be merged with; empty = no
/// context).  Without the context, a negated predicate such as
/// `!ip.later_frag` expands into hundreds of `eth.type` bit combinations
/// that the surrounding `ip6 && ...` then rejects one by one.
fn dnf(e: &AExpr, ctx: &[Clause]) -> Result<Vec<Clause>, Error> {
    Ok(match e {
        AExpr::Bool(true) => vec![Clause::default()],
        AExpr::Bool(false) => vec![],
        AExpr::Not(_) => return Err(Error::semantic("internal: negation left after NNF")),
        AExpr::Term(t) => {
            let mut c = Clause::default();
            if t.mask != 0 {
                c.terms.insert(t.field, (t.value, t.mask));
            }
            if pruned(&c, ctx) { vec![] } else { vec![c] }
        }
        AExpr::Or(v) => {
            let mut flat = Vec::new();
            flatten_or(v, &mut flat);
            let single_field = flat.len() > 1
                && flat
                    .iter()
                    .all(|x| matches!(x, AExpr::Term(t) if t.field == term_field(flat[0]) && t.mask != 0))
                && !must_crossproduct(term_field(flat[0]));
            if single_field {
                let alts: Vec<(u128, u128)> = flat
                    .iter()
                    .filter_map(|x| match x {
                        AExpr::Term(t) => Some((t.value, t.mask)),
                        _ => None,
                    })
                    .collect();
                let c = Clause {
                    terms: TermMap::default(),
                    dims: vec![(term_field(flat[0]), alts)],
                };
                c.fixup().into_iter().collect()
            } else {
                let mut out = UniqueVec::new();
                for x in flat {
                    for c in dnf(x, ctx)? {
                        out.push(c);
                    }
                    if out.len() > MAX_CLAUSES {
                        return Err(Error::TooComplex { limit: MAX_CLAUSES });
                    }
                }
                out.items
            }
        }
        AExpr::And(v) => {
            let mut acc = vec![Clause::default()];
            for x in v {
                // A single term (the common case) is added to each clause in
                // place: what `merge` with its one-term clause would do,
                // without building that clause.
                if let AExpr::Term(t) = x
                    && t.mask != 0
                {
                    let add = |mut a: Clause| {
                        a.add_term(t.field, (t.value, t.mask))
                            .then(|| a.fixup())
                            .flatten()
                    };
                    if acc.len() == 1 {
                        acc = acc.pop().and_then(add).into_iter().collect();
                    } else {
                        let mut next = UniqueVec::with_capacity(acc.len());
                        for c in acc.into_iter().filter_map(add) {
                            next.push(c);
                        }
                        acc = next.items;
                    }
                    if acc.is_empty() {
                        break;
                    }
                    continue;
                }
                // The accumulated clauses are what `x`'s clauses merge with;
                // before there are any, it is the caller's context.
                let trivial = acc.len() == 1 && acc[0].terms.is_empty() && acc[0].dims.is_empty();
                let rhs = dnf(x, if trivial { ctx } else { &acc })?;
                let mut next = UniqueVec::with_capacity(acc.len() * rhs.len());
                for a in acc {
                    // The last merge of `a` takes it; the others copy it.
                    let last = rhs.len().saturating_sub(1);
                    let mut a = Some(a);
                    for (i, b) in rhs.iter().enumerate() {
                        let a = if i == last { a.take() } else { a.clone() };
                        if let Some(c) = a.and_then(|a| a.merge(b)) {
                            next.push(c);
                            if next.len() > MAX_CLAUSES {
                                return Err(Error::TooComplex { limit: MAX_CLAUSES });
                            }
                        }
                    }
                }
                acc = next.items;
                if acc.is_empty() {
                    break;
                }
            }
            acc
        }
    })
}

fn term_field(e: &AExpr) -> Field {
    match e {
        AExpr::Term(t) => t.field,
        _ => Field::Metadata,
    }
}

fn flatten_or<'a>(v: &'a [AExpr], out: &mut Vec<&'a AExpr>) {
    for x in v {
        match x {
            AExpr::Or(inner) => flatten_or(inner, out),
            other => out.push(other),
        }
    }
}

/// Normal form of an annotated expression: a list of clauses, each of which
/// becomes one flow (or a conjunctive group of flows).
pub fn normalize(e: AExpr) -> Result<Vec<Clause>, Error> {
    let mut clauses = dnf(&nnf(e, false), &[])?;
    // OVN numbers conjunction clauses in the order of the fields' symbol names.
    for c in &mut clauses {
        c.dims.sort_by_key(|d| field_symbol_name(d.0));
    }
    Ok(clauses)
}

/// Name of the symbol that is the whole of `f` (the smallest, when, as for
/// ARP and RARP, two symbols share a field).
fn field_symbol_name(f: Field) -> &'static str {
    static NAMES: OnceLock<HashMap<Field, &'static str>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let mut m: HashMap<Field, &'static str> = HashMap::new();
        for sym in symtab().iter() {
            if let Kind::Field(fld) | Kind::Str(fld) = sym.kind {
                let e = m.entry(fld).or_insert(sym.name);
                if sym.name < *e {
                    *e = sym.name;
                }
            }
        }
        m
    });
    names.get(&f).copied().unwrap_or("")
}

/// Adds a term on a possibly-wide register to a match, splitting xxreg/xreg
/// into the 32-bit registers OpenFlow matches on.
pub fn add_to_match(m: &mut Match, f: Field, v: u128, mask: u128) -> bool {
    match f {
        Field::Xxreg(n) => (0..4u8).all(|i| {
            let sh = 32 * (3 - i as u32);
            m.add(
                Field::Reg(4 * n + i),
                (v >> sh) & 0xffff_ffff,
                (mask >> sh) & 0xffff_ffff,
            )
        }),
        Field::Xreg(n) => (0..2u8).all(|i| {
            let sh = 32 * (1 - i as u32);
            m.add(
                Field::Reg(2 * n + i),
                (v >> sh) & 0xffff_ffff,
                (mask >> sh) & 0xffff_ffff,
            )
        }),
        _ => m.add(f, v, mask),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relations_expand_like_ovn() {
        let t = |v: u128, m: u128| {
            AExpr::Term(Term {
                field: Field::TcpDst,
                value: v,
                mask: m,
            })
        };
        let AExpr::Or(v) = relational(Relop::Ge, 1000, 16, t) else {
            panic!()
        };
        let got: Vec<(u128, u128)> = v
            .iter()
            .map(|e| match e {
                AExpr::Term(t) => (t.value, t.mask),
                _ => (0, 0),
            })
            .collect();
        assert_eq!(
            &got[..5],
            &[
                (1000, 0xffff),
                (1001, 0xffff),
                (1002, 0xfffe),
                (1004, 0xfffc),
                (0x3f0, 0xfff0)
            ]
        );
        assert!(matches!(relational(Relop::Ge, 0, 16, t), AExpr::Bool(true)));
        assert!(matches!(relational(Relop::Lt, 0xffff, 16, t), AExpr::Not(_)));
    }
}
