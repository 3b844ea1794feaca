//! The figures of a run as a markdown table (rovn and OVN side by side, with the
//! floors measured in the same run and the reference figures of bench-notes) or JSON.

use std::fmt::Write as _;

use crate::measure::{Impl, ImplResult, LspAdd, Method, RunResult, Stats};

/// OVN 23.03's figures and the floors on this machine class, from
/// `/work/shared/reference/bench-notes.md` (2 shared cores, medians).
#[derive(Debug, Clone, Copy, Default)]
pub struct Reference {
    pub nb_commit: Option<&'static str>,
    pub cold: Option<&'static str>,
    pub lsp_add: Option<&'static str>,
    pub lflows: Option<&'static str>,
    pub rss: Option<&'static str>,
    pub floor_sb_rows: Option<&'static str>,
    pub floor_accept: Option<&'static str>,
    pub floor_accept_monitored: Option<&'static str>,
    pub floor_read_all: Option<&'static str>,
    pub floor_nbctl: Option<&'static str>,
    pub floor_client: Option<&'static str>,
}

pub fn reference(scale: &str) -> Reference {
    match scale {
        "small" => Reference {
            nb_commit: Some("0.002 s"),
            cold: Some("0.13 s"),
            lsp_add: Some("0.020 s"),
            lflows: Some("906"),
            rss: Some("13 MB"),
            ..Reference::default()
        },
        "medium" => Reference {
            nb_commit: Some("0.19 s"),
            cold: Some("3.05 s"),
            lsp_add: Some("0.48 s"),
            lflows: Some("22 960"),
            rss: Some("154 MB"),
            floor_sb_rows: Some("28 439 rows / 13 MB"),
            floor_accept: Some("0.83 s"),
            floor_accept_monitored: Some("1.7 s"),
            floor_read_all: Some("0.76 s"),
            floor_nbctl: Some("0.093 s"),
            floor_client: Some("1.0 ms"),
        },
        "large" => Reference {
            nb_commit: Some("0.93 s"),
            cold: Some("22.6 s"),
            lsp_add: Some("3.57 s"),
            lflows: Some("115 156"),
            rss: Some("747 MB"),
            floor_sb_rows: Some("143 313 rows / 66 MB"),
            floor_accept: Some("5.4–7 s"),
            floor_accept_monitored: Some("10.8 s"),
            floor_read_all: Some("4.8 s"),
            floor_nbctl: Some("0.544 s"),
            floor_client: Some("0.6 ms"),
        },
        _ => Reference::default(),
    }
}

fn secs(s: f64) -> String {
    if s < 0.1 {
        format!("{:.1} ms", s * 1000.0)
    } else {
        format!("{s:.3} s")
    }
}

fn mb(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

fn count(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

fn stats(s: &Stats) -> String {
    format!("{} / {}", secs(s.median), secs(s.p90))
}

fn lsp(r: Option<&LspAdd>, northd_share: bool) -> String {
    match r {
        Some(LspAdd::Measured { wall, northd }) => stats(if northd_share { northd } else { wall }),
        Some(LspAdd::NotAvailable(why)) => format!("n/a ({})", why.chars().take(60).collect::<String>()),
        None => "–".into(),
    }
}

fn opt(s: Option<&'static str>) -> String {
    s.unwrap_or("–").to_string()
}

/// The run as markdown: a header naming machine, date and command, then one table.
pub fn markdown(r: &RunResult) -> String {
    let get = |i: Impl| r.implementations.iter().find(|x| x.implementation == i);
    let (rovn, ovn) = (get(Impl::Rovn), get(Impl::Ovn));
    let rf = reference(r.scale.name);
    let floor_lsp = |m: Method, share: bool| {
        r.floor
            .as_ref()
            .map_or("–".into(), |f| lsp(f.lsp_add.get(m.name()), share))
    };
    let cell = |x: Option<&ImplResult>, f: &dyn Fn(&ImplResult) -> String| x.map_or("–".into(), f);

    let mut rows: Vec<[String; 6]> = Vec::new();
    let mut row =
        |name: &str, f: &dyn Fn(&ImplResult) -> String, floor: String, ovn_ref: String, floor_ref: String| {
            rows.push([
                name.to_string(),
                cell(rovn, f),
                cell(ovn, f),
                floor,
                ovn_ref,
                floor_ref,
            ]);
        };
    row(
        "NB bulk commit (one transaction)",
        &|x| secs(x.nb_load_s),
        "–".into(),
        opt(rf.nb_commit),
        "–".into(),
    );
    row(
        "**cold start → `sb_cfg`** (northd start until the bumped `nb_cfg` is acknowledged)",
        &|x| secs(x.cold_s),
        "see SB floors below".into(),
        opt(rf.cold),
        rf.floor_accept_monitored
            .map_or("–".into(), |f| format!("{f} (SB accepted, monitored)")),
    );
    row(
        "  of which start → `nb_cfg_timestamp` (connect, initial NB/SB download)",
        &|x| secs(x.cold_until_started_s),
        "–".into(),
        "–".into(),
        "–".into(),
    );
    row(
        "  of which `nb_cfg_timestamp` → `sb_cfg_timestamp` (compute, write SB)",
        &|x| secs(x.cold_northd_s),
        "–".into(),
        "–".into(),
        "–".into(),
    );
    for (m, label) in [
        (Method::OvnNbctl, "`ovn-nbctl --wait=sb lsp-add`, process"),
        (Method::RovnNbctl, "`rovn-nbctl --wait=sb lsp-add`, process"),
        (Method::Client, "lsp-add + wait from an open connection"),
    ] {
        let (ovn_ref, floor_ref) = match m {
            Method::OvnNbctl => (opt(rf.lsp_add), opt(rf.floor_nbctl)),
            Method::RovnNbctl => ("–".into(), "–".into()),
            Method::Client => ("–".into(), opt(rf.floor_client)),
        };
        row(
            &format!("**{label}**, median / p90"),
            &|x| lsp(x.lsp_add.get(m.name()), false),
            floor_lsp(m, false),
            ovn_ref,
            floor_ref,
        );
        row(
            "  northd's share (`nb_cfg_timestamp` → `sb_cfg_timestamp`), median / p90",
            &|x| lsp(x.lsp_add.get(m.name()), true),
            "–".into(),
            "–".into(),
            "–".into(),
        );
    }
    row(
        "**northd peak RSS** (`VmHWM`) after cold start / at the end",
        &|x| format!("{} / {}", mb(x.peak_rss_after_cold), mb(x.peak_rss)),
        "–".into(),
        opt(rf.rss),
        "–".into(),
    );
    row(
        "**logical flows** (datapath groups expanded)",
        &|x| count(x.sb.logical_flows),
        "–".into(),
        "–".into(),
        "–".into(),
    );
    row(
        "`Logical_Flow` rows",
        &|x| count(x.sb.logical_flow_rows),
        "–".into(),
        opt(rf.lflows),
        "–".into(),
    );
    row(
        "`Logical_DP_Group` rows",
        &|x| count(x.sb.dp_groups),
        "–".into(),
        "–".into(),
        "–".into(),
    );
    row(
        "SB rows, all tables / select-all JSON size",
        &|x| format!("{} / {}", count(x.sb.rows), mb(x.sb.json_bytes as u64)),
        "–".into(),
        "–".into(),
        opt(rf.floor_sb_rows),
    );
    row(
        "SB file after compaction",
        &|x| x.sb.file_bytes_compacted.map_or("–".into(), mb),
        "–".into(),
        "–".into(),
        "–".into(),
    );
    row(
        "floor: reading all of this SB back (one select-all transaction)",
        &|x| secs(x.sb.read_all_s),
        "–".into(),
        "–".into(),
        opt(rf.floor_read_all),
    );
    row(
        "**floor: bare ovsdb-server accepting this SB in one transaction**",
        &|x| x.sb.floor_accept_s.map_or("–".into(), secs),
        "–".into(),
        "–".into(),
        opt(rf.floor_accept),
    );
    row(
        "floor: same with a client monitoring all tables: reply / update delivered",
        &|x| match (x.sb.floor_accept_monitored_s, x.sb.floor_monitor_update_s) {
            (Some(a), Some(b)) => format!("{} / {}", secs(a), secs(b)),
            _ => "–".into(),
        },
        "–".into(),
        "–".into(),
        opt(rf.floor_accept_monitored),
    );

    let mut out = String::new();
    let _ = writeln!(out, "### `{}` scale: {}\n", r.scale.name, r.scale.describe());
    let _ = writeln!(out, "- machine: {}", r.machine);
    let _ = writeln!(out, "- date: {}", r.date);
    let _ = writeln!(
        out,
        "- command: `{}` ({} repetitions per lsp-add figure)",
        r.command, r.repeat
    );
    for x in &r.implementations {
        let _ = writeln!(
            out,
            "- {}: `{}` ({})",
            x.implementation.name(),
            x.binary,
            x.version
        );
    }
    let _ = writeln!(
        out,
        "- \"floor, this run\": the same lsp-adds against an instant northd (a client that sets `sb_cfg` \
         as soon as it sees `nb_cfg`); reference columns: `bench-notes.md` (OVN 23.03.1 and the floors, \
         measured earlier on this machine class)\n"
    );
    for f in &r.failures {
        let _ = writeln!(out, "- **{} FAILED**: {}", f.implementation.name(), f.error);
    }
    if !r.failures.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "| metric | rovn-northd | ovn-northd | floor, this run | OVN 23.03 reference | floor reference |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for r in rows {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    out
}

pub fn json(r: &RunResult) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(count(906), "906");
        assert_eq!(count(22960), "22 960");
        assert_eq!(count(1143313), "1 143 313");
    }
}
