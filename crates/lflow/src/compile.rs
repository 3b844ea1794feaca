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
pub fn compile(
    lflow: &LogicalFlow<'_>,
    ctx: &Context,
    lookup: &mut dyn Lookup,
) -> Result<Compiled, CompileError> {
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
    let lookup = ep.lookup;

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
    let mut out = Compiled::default();
    let mut seen = std::collections::HashSet::new();
    let mut push = |out: &mut Compiled, m: Match, acts: Vec<Action>| {
        let f = Flow {
            table,
            priority: lflow.priority,
            matches: m,
            actions: acts,
        };
        if seen.insert(f.clone()) {
            out.flows.push(f);
        }
    };
    for clause in clauses {
        let mut base = Match::default();
        base.add(Field::Metadata, ctx.datapath_key as u128, u64::MAX as u128);
        let mut ok = true;
        for (f, (v, m)) in &clause.terms {
            ok &= add_to_match(&mut base, *f, *v, *m);
        }
        if !ok {
            continue;
        }
        match clause.dims.len() {
            0 => {
                if keep(&base) {
                    push(&mut out, base, actions.clone());
                }
            }
            1 => {
                let (f, alts) = &clause.dims[0];
                for (v, m) in alts {
                    let mut mm = base.clone();
                    if add_to_match(&mut mm, *f, *v, *m) && keep(&mm) {
                        push(&mut out, mm, actions.clone());
                    }
                }
            }
            n => {
                if !keep(&base) {
                    continue;
                }
                let id = ctx.conj_id_base.wrapping_add(out.conj_ids_used);
                out.conj_ids_used += 1;
                let n_clauses = n.min(64) as u8;
                for (k, (f, alts)) in clause.dims.iter().enumerate() {
                    for (v, m) in alts {
                        let mut mm = base.clone();
                        if add_to_match(&mut mm, *f, *v, *m) {
                            let a = Action::Conjunction {
                                id,
                                clause: k as u8 + 1,
                                n_clauses,
                            };
                            push(&mut out, mm, vec![a]);
                        }
                    }
                }
                let mut mm = base.clone();
                mm.conj_id = Some(id);
                push(&mut out, mm, actions.clone());
            }
        }
    }
    Ok(out)
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
