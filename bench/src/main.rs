//! `rovn-bench northd --scale small|medium|large [--impl rovn,ovn] [--repeat N] [--out FILE]`

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use rovn_bench::measure::{self, Impl, Options};
use rovn_bench::procs;
use rovn_bench::report;
use rovn_bench::topology::Scale;

#[derive(Parser, Debug)]
#[command(
    name = "rovn-bench",
    about = "Benchmarks rovn's daemons against OVN's; prints figures"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// rovn-northd vs ovn-northd: cold start, lsp-add --wait=sb, memory, SB size, floors.
    Northd(NorthdArgs),
}

#[derive(clap::Args, Debug)]
struct NorthdArgs {
    /// Topology size: small, medium or large.
    #[arg(long, default_value = "small")]
    scale: String,
    /// Implementations to run, comma-separated (rovn, ovn); ovn is skipped with a
    /// note when ovn-northd is not installed.
    #[arg(long = "impl", value_delimiter = ',', default_value = "rovn,ovn")]
    impls: Vec<String>,
    /// Repetitions of each lsp-add measurement.
    #[arg(long, default_value_t = 10)]
    repeat: usize,
    /// Write the results to FILE: JSON if it ends in .json, else markdown.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Limit in seconds for each wait (default: 30 small, 120 medium, 600 large).
    #[arg(long, value_name = "SECS")]
    timeout: Option<u64>,
    /// Skip the floor measurements (instant northd, replaying SB into a bare server).
    #[arg(long)]
    no_floors: bool,
    /// rovn-northd binary (default: the release build next to this one, in
    /// $CARGO_TARGET_DIR/release or in the repository's target/release).
    #[arg(long, value_name = "PATH")]
    rovn_northd: Option<PathBuf>,
    /// rovn-nbctl binary (found like rovn-northd; its figures are n/a without it).
    #[arg(long, value_name = "PATH")]
    rovn_nbctl: Option<PathBuf>,
    /// Extra argument for every northd, repeatable (e.g. --northd-arg=-vdbg).
    #[arg(long = "northd-arg", value_name = "ARG", allow_hyphen_values = true)]
    northd_args: Vec<String>,
    /// Keep the temporary directories (databases, logs) and print where they are.
    #[arg(long)]
    keep: bool,
    /// Directory with ovn-nb.ovsschema and ovn-sb.ovsschema (default: the repository's schemas/).
    #[arg(long, value_name = "DIR")]
    schemas: Option<PathBuf>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Northd(a) => northd(a),
    }
}

fn northd(a: NorthdArgs) -> Result<()> {
    let scale = Scale::by_name(&a.scale)
        .with_context(|| format!("unknown scale {:?} (small, medium or large)", a.scale))?;
    let mut impls = Vec::new();
    for s in &a.impls {
        let i = Impl::parse(s.trim())?;
        if i == Impl::Ovn && procs::on_path("ovn-northd").is_none() {
            eprintln!("note: ovn-northd is not installed; measuring rovn only");
            continue;
        }
        if !impls.contains(&i) {
            impls.push(i);
        }
    }
    if impls.is_empty() {
        bail!("nothing to measure");
    }
    let rovn_northd = match a.rovn_northd {
        Some(p) => p,
        None if impls.contains(&Impl::Rovn) => procs::release_binary("rovn-northd").context(
            "no release build of rovn-northd found; run `cargo build --release -p rovn-northd` or pass --rovn-northd",
        )?,
        None => PathBuf::new(),
    };
    let ovn_nbctl = procs::on_path("ovn-nbctl").context("ovn-nbctl is not installed")?;
    let rovn_nbctl = a.rovn_nbctl.or_else(|| procs::release_binary("rovn-nbctl"));
    let timeout = Duration::from_secs(a.timeout.unwrap_or(match scale.name {
        "small" => 30,
        "medium" => 120,
        _ => 600,
    }));
    let opts = Options {
        scale,
        impls,
        repeat: a.repeat.max(1),
        timeout,
        rovn_northd,
        ovn_northd: procs::on_path("ovn-northd").unwrap_or_default(),
        ovn_nbctl,
        rovn_nbctl,
        schemas: a.schemas.unwrap_or_else(|| procs::repo_root().join("schemas")),
        floors: !a.no_floors,
        northd_args: a.northd_args,
        keep: a.keep,
    };
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let result = rt.block_on(measure::run(&opts, command))?;
    let md = report::markdown(&result);
    println!("{md}");
    if let Some(out) = a.out {
        let text = if out.extension().is_some_and(|e| e == "json") {
            report::json(&result)
        } else {
            md
        };
        std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    if let Some(f) = result.failures.first() {
        bail!(
            "{} of the implementations failed; first: {}",
            result.failures.len(),
            f.error
        );
    }
    Ok(())
}
