//! ACL flows of a logical switch (OVN 23.03 layout): the conntrack hooks in the pre-ACL
//! stages, the ACL hint stages, and the `ls_in_acl` / `ls_in_acl_after_lb` /
//! `ls_out_acl` stages with the stateful defaults and one or two flows per ACL.
//!
//! A switch is *stateful* when it has an `allow-related` ACL or a load balancer VIP:
//! then every allowed connection is committed to conntrack (so replies are recognised
//! whichever side's ACLs are stateful), and drop/reject ACLs also mark already
//! committed connections as blocked. Logged ACLs use the plain meter name (NB `Meter`
//! fairness is not modelled).

use crate::flows::{FlowBuilder, Stage};
use crate::model::nb::Acl;
use crate::topology::SwitchView;

/// NB ACL priorities are offset by this in the ACL stages.
const PRIORITY_OFFSET: i64 = 1000;
/// IPv6 control traffic that never goes through conntrack.
const IPV6_CT_OMIT_MATCH: &str = "nd || nd_ra || nd_rs || mldv1 || mldv2";

/// Per-switch facts every ACL flow depends on.
struct Ctx<'a> {
    /// `ct_mark.blocked` or, for chassis without `ct-no-masked-label`, `ct_label.blocked`.
    blocked: &'a str,
    /// Allowed traffic must be committed (stateful ACL or LB VIP on the switch).
    stateful: bool,
    use_ct_inv_match: bool,
}

fn flow_priority(acl: &Acl) -> u16 {
    // The schema bounds ACL priorities to 0..=32767, so the offset fits.
    (acl.priority.clamp(0, 32767) + PRIORITY_OFFSET) as u16
}

/// All ACL-related flows of switch `v`, except the per-port conntrack bypass flows
/// (router and localnet ports), which the port flows emit.
pub(crate) fn acl_flows(v: &SwitchView, f: &mut FlowBuilder) {
    let g = &v.globals;
    let lb = v.has_lb_vip;
    let has_acls = !v.acls.is_empty();
    let cx = Ctx {
        blocked: if g.ct_lb_mark {
            "ct_mark.blocked"
        } else {
            "ct_label.blocked"
        },
        stateful: v.has_stateful_acl || lb,
        use_ct_inv_match: g.use_ct_inv_match,
    };

    pre_acl(v, f);
    hints(v, &cx, has_acls, f);

    // Defaults: allow (or drop, with `default_acl_drop`) what no ACL matched.
    let default = if g.default_acl_drop { "drop;" } else { "next;" };
    if !has_acls {
        let prio = if lb { 0 } else { u16::MAX };
        f.add(Stage::LsInAcl, prio, "1", "next;");
        f.add(Stage::LsOutAcl, prio, "1", "next;");
        f.add(Stage::LsInAclAfterLb, 0, "1", "next;");
    } else {
        for s in [Stage::LsInAcl, Stage::LsOutAcl, Stage::LsInAclAfterLb] {
            f.add(s, 0, "1", default);
        }
    }
    if cx.stateful {
        stateful_defaults(&cx, g.default_acl_drop, g.ct_lb_related, f);
    }
    for s in [Stage::LsInAcl, Stage::LsOutAcl, Stage::LsInAclAfterLb] {
        f.add(s, u16::MAX - 3, IPV6_CT_OMIT_MATCH, "next;");
    }
    for acl in &v.acls {
        acl_rule(acl, &cx, f);
    }
    if has_acls || lb {
        // Service monitor traffic from and to ovn-controller skips the ACLs.
        f.add(Stage::LsInAcl, 34000, "eth.dst == $svc_monitor_mac", "next;");
        f.add(Stage::LsOutAcl, 34000, "eth.src == $svc_monitor_mac", "next;");
    }
}

fn pre_acl(v: &SwitchView, f: &mut FlowBuilder) {
    f.add(Stage::LsInPreAcl, 0, "1", "next;");
    f.add(Stage::LsOutPreAcl, 0, "1", "next;");
    f.add(Stage::LsInPreAcl, 110, "eth.dst == $svc_monitor_mac", "next;");
    f.add(Stage::LsOutPreAcl, 110, "eth.src == $svc_monitor_mac", "next;");
    if v.has_stateful_acl {
        stateless_filters(v, f);
        for s in [Stage::LsInPreAcl, Stage::LsOutPreAcl] {
            f.add(
                s,
                110,
                "nd || nd_rs || nd_ra || mldv1 || mldv2 || (udp && udp.src == 546 && udp.dst == 547)",
                "next;",
            );
            f.add(s, 110, "eth.mcast", "next;");
            // Defragment (and track) every IP packet, whichever direction the ACLs are.
            f.add(s, 100, "ip", "reg0[0] = 1; next;");
        }
    } else if v.has_lb_vip {
        // Keeps stateless traffic out of the load balancer's conntrack too.
        stateless_filters(v, f);
    }
}

/// `allow-stateless` ACLs mark their traffic so that no later stage tracks it.
fn stateless_filters(v: &SwitchView, f: &mut FlowBuilder) {
    for acl in v.acls.iter().filter(|a| a.action == "allow-stateless") {
        let stage = if acl.direction == "from-lport" {
            Stage::LsInPreAcl
        } else {
            Stage::LsOutPreAcl
        };
        f.add(
            stage,
            flow_priority(acl),
            acl.match_.clone(),
            "reg0[16] = 1; next;",
        );
    }
}

/// Hint bits for the ACL stages from the conntrack state: reg0[7] allow a new
/// connection, reg0[8] allow, reg0[9] drop, reg0[10] block (commit as blocked, drop).
fn hints(v: &SwitchView, cx: &Ctx, has_acls: bool, f: &mut FlowBuilder) {
    let b = cx.blocked;
    for s in [Stage::LsInAclHint, Stage::LsOutAclHint] {
        if !has_acls && !v.has_lb_vip {
            f.add(s, u16::MAX, "1", "next;");
        } else {
            f.add(s, 0, "1", "next;");
        }
        if !v.has_stateful_acl && !v.has_lb_vip {
            continue;
        }
        f.add(s, 7, "ct.new && !ct.est", "reg0[7] = 1; reg0[9] = 1; next;");
        f.add(
            s,
            6,
            format!("!ct.new && ct.est && !ct.rpl && {b} == 1"),
            "reg0[7] = 1; reg0[9] = 1; next;",
        );
        f.add(s, 5, "!ct.trk", "reg0[8] = 1; reg0[9] = 1; next;");
        f.add(
            s,
            4,
            format!("!ct.new && ct.est && !ct.rpl && {b} == 0"),
            "reg0[8] = 1; reg0[10] = 1; next;",
        );
        f.add(s, 3, "!ct.est", "reg0[9] = 1; next;");
        f.add(s, 2, format!("ct.est && {b} == 1"), "reg0[9] = 1; next;");
        f.add(s, 1, format!("ct.est && {b} == 0"), "reg0[10] = 1; next;");
    }
}

fn stateful_defaults(cx: &Ctx, default_drop: bool, ct_lb_related: bool, f: &mut FlowBuilder) {
    let b = cx.blocked;
    let (inv, not_inv) = if cx.use_ct_inv_match {
        ("ct.inv || ", " && !ct.inv")
    } else {
        ("", "")
    };
    let new_action = if default_drop {
        "drop;"
    } else {
        "reg0[1] = 1; next;"
    };
    for s in [Stage::LsInAcl, Stage::LsOutAcl] {
        // Re-commit connections a removed drop ACL had blocked, and commit new ones.
        f.add(s, 1, format!("ip && ct.est && {b} == 1"), "reg0[1] = 1; next;");
        f.add(s, 1, "ip && !ct.est", new_action);
        f.add(
            s,
            u16::MAX - 3,
            format!("{inv}(ct.est && ct.rpl && {b} == 1)"),
            "drop;",
        );
    }
    let est = format!("ct.est && !ct.rel && !ct.new{not_inv} && ct.rpl && {b} == 0");
    f.add(
        Stage::LsInAcl,
        u16::MAX - 3,
        est.clone(),
        "reg0[9] = 0; reg0[10] = 0; reg0[17] = 1; next;",
    );
    f.add(Stage::LsOutAcl, u16::MAX - 3, est, "next;");
    let rel = format!("!ct.est && ct.rel && !ct.new{not_inv} && {b} == 0");
    let (in_act, out_act) = if ct_lb_related {
        ("reg0[17] = 1; ct_commit_nat;", "ct_commit_nat;")
    } else {
        ("reg0[17] = 1; next;", "next;")
    };
    f.add(Stage::LsInAcl, u16::MAX - 3, rel.clone(), in_act);
    f.add(Stage::LsOutAcl, u16::MAX - 3, rel, out_act);
    f.add(Stage::LsInAclAfterLb, u16::MAX - 3, "reg0[17] == 1", "next;");
}

/// `log(...); ` for a logged ACL, else nothing.
fn log_prefix(acl: &Acl) -> String {
    if !acl.log {
        return String::new();
    }
    let mut args = Vec::new();
    if let Some(n) = &acl.name {
        args.push(format!("name=\"{n}\""));
    }
    args.push(format!("severity={}", acl.severity.as_deref().unwrap_or("info")));
    let verdict = match acl.action.as_str() {
        "drop" => Some("drop"),
        "reject" => Some("reject"),
        "allow" | "allow-related" | "allow-stateless" => Some("allow"),
        _ => None,
    };
    if let Some(v) = verdict {
        args.push(format!("verdict={v}"));
    }
    if let Some(m) = &acl.meter {
        args.push(format!("meter=\"{m}\""));
    }
    format!("log({}); ", args.join(", "))
}

fn acl_rule(acl: &Acl, cx: &Ctx, f: &mut FlowBuilder) {
    let ingress = acl.direction == "from-lport";
    let stage = if ingress && acl.options.get("apply-after-lb").is_some_and(|v| v == "true") {
        Stage::LsInAclAfterLb
    } else if ingress {
        Stage::LsInAcl
    } else {
        Stage::LsOutAcl
    };
    let prio = flow_priority(acl);
    let log = log_prefix(acl);
    let m = &acl.match_;
    match acl.action.as_str() {
        "allow-stateless" => f.add(stage, prio, m.clone(), format!("{log}next;")),
        "allow" | "allow-related" if !cx.stateful => f.add(stage, prio, m.clone(), format!("{log}next;")),
        "allow" | "allow-related" => {
            let label = if acl.label != 0 {
                format!("reg0[13] = 1; reg3 = {}; ", acl.label)
            } else {
                String::new()
            };
            // A new connection (or one a drop ACL had blocked) is committed.
            f.add(
                stage,
                prio,
                format!("reg0[7] == 1 && ({m})"),
                format!("reg0[1] = 1; {label}{log}next;"),
            );
            // An established one is re-committed only to refresh its label.
            let recommit = if label.is_empty() {
                String::new()
            } else {
                format!("reg0[1] = 1; {label}")
            };
            f.add(
                stage,
                prio,
                format!("reg0[8] == 1 && ({m})"),
                format!("{recommit}{log}next;"),
            );
            let log_related = acl.options.get("log-related").is_some_and(|v| v == "true");
            if acl.log && acl.label != 0 && log_related {
                // Replies and related traffic pass the opposite pipeline's stage.
                let other = if ingress { Stage::LsOutAcl } else { Stage::LsInAcl };
                let not_inv = if cx.use_ct_inv_match { " && !ct.inv" } else { "" };
                let (b, l) = (cx.blocked, acl.label);
                f.add(
                    other,
                    u16::MAX - 2,
                    format!(
                        "ct.est && !ct.rel && !ct.new{not_inv} && ct.rpl && {b} == 0 && ct_label.label == {l}"
                    ),
                    format!("{log}next;"),
                );
                f.add(
                    other,
                    u16::MAX - 2,
                    format!("!ct.est && ct.rel && !ct.new{not_inv} && {b} == 0 && ct_label.label == {l}"),
                    format!("{log}next;"),
                );
            }
        }
        "drop" | "reject" => {
            let reject = acl.action == "reject";
            if cx.stateful {
                // Not (or no longer) allowed traffic is dropped...
                drop_or_reject(acl, stage, ingress, reject, "reg0[9] == 1", "", f);
                // ...and an allowed connection the policy now refuses is marked blocked.
                let commit = format!("ct_commit {{ {} = 1; }}; ", cx.blocked);
                drop_or_reject(acl, stage, ingress, reject, "reg0[10] == 1", &commit, f);
            } else {
                drop_or_reject(acl, stage, ingress, reject, "", "", f);
            }
        }
        // The schema admits no other action.
        _ => {}
    }
}

fn drop_or_reject(
    acl: &Acl,
    stage: Stage,
    ingress: bool,
    reject: bool,
    hint: &str,
    commit: &str,
    f: &mut FlowBuilder,
) {
    let prio = flow_priority(acl);
    let log = log_prefix(acl);
    let m = &acl.match_;
    if reject {
        // The reject packet goes back out of the port the packet came in on.
        let next = if ingress {
            format!("next(pipeline=egress,table={});", Stage::LsOutQosMark.table())
        } else {
            format!("next(pipeline=ingress,table={});", Stage::LsInL2Lkup.table())
        };
        let match_ = if hint.is_empty() {
            m.clone()
        } else {
            format!("({hint}) && {m}")
        };
        let extra = if commit.is_empty() {
            String::new()
        } else {
            format!("{commit} ")
        };
        f.add(
            stage,
            prio,
            match_,
            format!(
                "{log}{extra}reg0 = 0; reject {{ /* eth.dst <-> eth.src; ip.dst <-> ip.src; is implicit. */ \
                 outport <-> inport; {next} }};"
            ),
        );
    } else {
        let match_ = if hint.is_empty() {
            m.clone()
        } else {
            format!("{hint} && ({m})")
        };
        f.add(stage, prio, match_, format!("{commit}{log}/* drop */"));
    }
}
