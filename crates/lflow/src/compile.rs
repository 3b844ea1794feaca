//! Compiling one logical flow into OpenFlow flows.

use crate::actions::{EncodeParams, Pipeline, encode, parse_actions_n, table};
use crate::error::Error;
use crate::expr::Lookup;
use crate::normalize::{AExpr, add_to_match, annotate, normalize, prereq_expr};
use crate::of::{Action, Field, Flow, Match};
use crate::parser::parse_match;

/// A logical flow as stored in the southbound `Logical_Flow` table.
#[derive(Debug, Clone, Copy)]
pub struct LogicalFlow<'a> {
    pub pipeline: Pipeline,
    pub table_id: u8,
    pub priority: u16,
    pub match_: &'a str,
    pub actions: &'a str,
}

/// Per-datapath compilation settings.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// Datapath tunnel key, matched as `metadata` in every flow.
    pub datapath_key: u32,
    /// Logical switch (conntrack zone in reg13, local-port filtering) or
    /// router (DNAT zone reg11, SNAT zone reg12).
    pub is_switch: bool,
    /// `conj_id` for the first conjunctive match; further ones count up.
    pub conj_id_base: u32,
    /// OVS supports all-zero SNAT, so `ct_commit` adds `nat(src)`.
    pub ct_zero_snat: bool,
    /// The datapath's `*_in_czone` actions use the SNAT zone (reg12) rather
    /// than the DNAT zone (reg11).
    pub common_zone_is_snat: bool,
    /// OVS supports symmetric L4 dp_hash (OVN then asks for it in `select()`).
    pub dp_hash_l4_sym: bool,
    /// Meter for this flow's controller actions (its `controller_meter`).
    pub controller_meter: Option<u32>,
    /// Logical tables per pipeline (23.03: 29).
    pub n_tables: u8,
    /// Override for the table `output` resubmits to (default: 37 in
    /// ingress, 64 in egress).
    pub output_table: Option<u8>,
    /// The datapath supports meters (controller actions may be metered).
    pub dp_meters: bool,
    /// Cookie of the logical flow (first 32 bits of its UUID), for
    /// `sample(obs_point=$cookie)`.
    pub lflow_cookie: u32,
}

impl Context {
    pub fn new(datapath_key: u32, is_switch: bool) -> Self {
        Context {
            datapath_key,
            is_switch,
            conj_id_base: 1,
            ct_zero_snat: true,
            common_zone_is_snat: false,
            dp_hash_l4_sym: true,
            controller_meter: None,
            n_tables: crate::actions::N_TABLES,
            output_table: None,
            dp_meters: true,
            lflow_cookie: 0,
        }
    }
}

/// Result of compiling one logical flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compiled {
    pub flows: Vec<Flow>,
    /// How many conj_ids (from `conj_id_base`) the flows use.
    pub conj_ids_used: u32,
}

fn first_ptable(p: Pipeline) -> u8 {
    match p {
        Pipeline::Ingress => table::LOG_INGRESS,
        Pipeline::Egress => table::LOG_EGRESS,
    }
}

/// Compiles `lflow` for one datapath.  Never panics: any input gives flows or
/// an error (syntax errors carry the offset into the match or action text;
/// see [`CompileError`]).
///
/// Uses a per-thread [`Compiler`](crate::Compiler) cache: a logical flow whose
/// match and actions were compiled before (on any datapath) is not parsed
/// and normalised again; only the datapath key, conjunction ids and local
/// ports are applied.  The lookups the first compilation made are asked
/// again and must give the same answers, otherwise the flow is recompiled,
/// so results are always those of an uncached compilation.
pub fn compile(
    lflow: &LogicalFlow<'_>,
    ctx: &Context,
    lookup: &mut dyn Lookup,
) -> Result<Compiled, CompileError> {
    thread_local! {
        static CACHE: std::cell::RefCell<crate::Compiler> = std::cell::RefCell::new(crate::Compiler::new());
    }
    CACHE.with(|c| match c.try_borrow_mut() {
        Ok(mut c) => c.compile(lflow, ctx, lookup),
        // A Lookup that itself compiles: no cache for the inner call.
        Err(_) => compile_uncached(lflow, ctx, lookup),
    })
}

/// [`compile`] without any cache.
pub fn compile_uncached(
    lflow: &LogicalFlow<'_>,
    ctx: &Context,
    lookup: &mut dyn Lookup,
) -> Result<Compiled, CompileError> {
    let p = prepare(lflow, ctx, lookup)?;
    Ok(assemble(&p, lflow, ctx, &*lookup))
}

/// One OpenFlow flow (or conjunctive group) of a logical flow, before the
/// datapath is applied: matches lack `metadata`, conjunctions lack ids.
#[derive(Debug, Clone)]
pub(crate) enum Proto {
    /// A flow with the logical flow's actions.
    Flow(Match),
    /// A conjunctive match: one flow per dimension alternative (match,
    /// 1-based clause number, number of clauses), and the `conj_id` flow
    /// with the logical flow's actions, matching `base`.
    Conj {
        base: Match,
        members: Vec<(Match, u8, u8)>,
    },
}

/// Everything about a logical flow's compilation that does not depend on
/// the datapath key, the conjunction id base or which ports are local.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub protos: Vec<Proto>,
    pub actions: Vec<Action>,
}

/// Parses, annotates, normalises and encodes `lflow`.
pub(crate) fn prepare(
    lflow: &LogicalFlow<'_>,
    ctx: &Context,
    lookup: &mut dyn Lookup,
) -> Result<Prepared, CompileError> {
    let m = parse_match(lflow.match_, &*lookup).map_err(CompileError::Match)?;
    let parsed = parse_actions_n(
        lflow.actions,
        lflow.pipeline,
        lflow.table_id,
        ctx.n_tables,
        &*lookup,
    )
    .map_err(CompileError::Actions)?;
    let mut conj = vec![annotate(&m, &*lookup).map_err(CompileError::Match)?];
    for p in &parsed.prereqs {
        conj.push(prereq_expr(p).map_err(CompileError::Actions)?);
    }
    let clauses = normalize(AExpr::And(conj)).map_err(CompileError::Match)?;

    let mut actions = Vec::new();
    let mut ep = EncodeParams {
        pipeline: lflow.pipeline,
        is_switch: ctx.is_switch,
        ct_zero_snat: ctx.ct_zero_snat,
        common_nat_zone: if ctx.common_zone_is_snat {
            Field::Reg(12)
        } else {
            Field::Reg(11)
        },
        dp_hash_l4_sym: ctx.dp_hash_l4_sym,
        controller_meter: ctx.controller_meter.filter(|_| ctx.dp_meters),
        output_table: ctx.output_table,
        dp_meters: ctx.dp_meters,
        dp_key: ctx.datapath_key,
        lflow_cookie: ctx.lflow_cookie,
        lookup,
    };
    encode(&parsed.acts, &mut ep, &mut actions).map_err(CompileError::Actions)?;

    // Plain flows all carry the same actions, so two are duplicates exactly
    // when their matches are (also once `metadata` is added).  Conjunctive
    // flows never duplicate anything: their actions or conj_id differ.
    let mut plain = crate::fx::UniqueVec::new();
    let mut protos = Vec::new();
    let mut push_plain = |protos: &mut Vec<Proto>, m: Match| {
        if plain.push(m.clone()) {
            protos.push(Proto::Flow(m));
        }
    };
    for clause in clauses {
        let mut base = Match::default();
        let mut ok = true;
        for (f, (v, m)) in &clause.terms {
            ok &= add_to_match(&mut base, *f, *v, *m);
        }
        if !ok {
            continue;
        }
        match clause.dims.len() {
            0 => push_plain(&mut protos, base),
            1 => {
                let (f, alts) = &clause.dims[0];
                for (v, m) in alts {
                    let mut mm = base.clone();
                    if add_to_match(&mut mm, *f, *v, *m) {
                        push_plain(&mut protos, mm);
                    }
                }
            }
            n => {
                let n_clauses = n.min(64) as u8;
                let mut members = Vec::new();
                for (k, (f, alts)) in clause.dims.iter().enumerate() {
                    for (v, m) in alts {
                        let mut mm = base.clone();
                        if add_to_match(&mut mm, *f, *v, *m) {
                            members.push((mm, k as u8 + 1, n_clauses));
                        }
                    }
                }
                protos.push(Proto::Conj { base, members });
            }
        }
    }
    Ok(Prepared { protos, actions })
}

/// Applies the datapath (`metadata`), conjunction ids and local-port
/// filtering to a prepared logical flow.
pub(crate) fn assemble(
    p: &Prepared,
    lflow: &LogicalFlow<'_>,
    ctx: &Context,
    lookup: &dyn Lookup,
) -> Compiled {
    let table = first_ptable(lflow.pipeline).saturating_add(lflow.table_id);
    let port_reg = match lflow.pipeline {
        Pipeline::Ingress => Field::Reg(14),
        Pipeline::Egress => Field::Reg(15),
    };
    // On switches, flows pinned to a port that is not local are useless here.
    let keep = |m: &Match| -> bool {
        if !ctx.is_switch {
            return true;
        }
        match m.get(port_reg) {
            Some((key, mask)) if mask == u32::MAX as u128 && key != 0 => lookup.is_local_port(key as u32),
            _ => true,
        }
    };
    let with_meta = |m: &Match| {
        let mut m = m.clone();
        m.add(Field::Metadata, ctx.datapath_key as u128, u64::MAX as u128);
        m
    };
    let mut out = Compiled::default();
    let flow = |matches: Match, actions: Vec<Action>| Flow {
        table,
        priority: lflow.priority,
        matches,
        actions,
    };
    for proto in &p.protos {
        match proto {
            Proto::Flow(m) => {
                if keep(m) {
                    out.flows.push(flow(with_meta(m), p.actions.clone()));
                }
            }
            Proto::Conj { base, members } => {
                if !keep(base) {
                    continue;
                }
                let id = ctx.conj_id_base.wrapping_add(out.conj_ids_used);
                out.conj_ids_used += 1;
                for (m, clause, n_clauses) in members {
                    let a = Action::Conjunction {
                        id,
                        clause: *clause,
                        n_clauses: *n_clauses,
                    };
                    out.flows.push(flow(with_meta(m), vec![a]));
                }
                let mut mm = with_meta(base);
                mm.conj_id = Some(id);
                out.flows.push(flow(mm, p.actions.clone()));
            }
        }
    }
    out
}

/// Which half of the logical flow an error is in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    #[error("match: {0}")]
    Match(Error),
    #[error("actions: {0}")]
    Actions(Error),
}

impl CompileError {
    pub fn inner(&self) -> &Error {
        match self {
            CompileError::Match(e) | CompileError::Actions(e) => e,
        }
    }
}

/// Parses and encodes only an action string (no match), returning the
/// OpenFlow actions and the prerequisites the actions add to the match.
pub fn compile_actions(
    actions: &str,
    pipeline: Pipeline,
    table_id: u8,
    ctx: &Context,
    lookup: &mut dyn Lookup,
) -> Result<(Vec<Action>, Vec<&'static str>), Error> {
    let parsed = parse_actions_n(actions, pipeline, table_id, ctx.n_tables, &*lookup)?;
    let mut out = Vec::new();
    let mut ep = EncodeParams {
        pipeline,
        is_switch: ctx.is_switch,
        ct_zero_snat: ctx.ct_zero_snat,
        common_nat_zone: if ctx.common_zone_is_snat {
            Field::Reg(12)
        } else {
            Field::Reg(11)
        },
        dp_hash_l4_sym: ctx.dp_hash_l4_sym,
        controller_meter: ctx.controller_meter.filter(|_| ctx.dp_meters),
        output_table: ctx.output_table,
        dp_meters: ctx.dp_meters,
        dp_key: ctx.datapath_key,
        lflow_cookie: ctx.lflow_cookie,
        lookup,
    };
    encode(&parsed.acts, &mut ep, &mut out)?;
    Ok((out, parsed.prereqs))
}
