//! Shared machinery of `rovn-nbctl` and `rovn-sbctl`: the `ovn-nbctl` command-line
//! syntax ([`cli`]), OVSDB value syntax ([`value_parse`]), record lookup
//! ([`record`]), one-transaction execution ([`txn`]), the generic database commands
//! ([`generic`]), output formats ([`output`]) and `--wait` ([`wait`]).

pub mod cli;
pub mod connection;
pub mod generic;
pub mod output;
pub mod record;
pub mod txn;
pub mod value_parse;
pub mod wait;

use std::io::Write;
use std::time::Duration;

use ovsdb::remote::Remote;
use thiserror::Error;

pub use cli::{Command, GlobalOpts, Syntax, WaitType};
pub use output::{Cell, Style, Table};
pub use record::RowId;
pub use txn::{Committed, RowKey, Txn};
pub use value_parse::Symbols;

/// A command failed; the message is what the tool prints after `PROGRAM: `.
#[derive(Debug, Error)]
pub enum CtlError {
    #[error("{0}")]
    Msg(String),
    #[error("transaction error: {0}")]
    Txn(ovsdb::TxnError),
    #[error("{0}")]
    Db(ovsdb::Error),
}

impl CtlError {
    pub fn msg(s: impl Into<String>) -> Self {
        CtlError::Msg(s.into())
    }
}

impl From<ovsdb::Error> for CtlError {
    fn from(e: ovsdb::Error) -> Self {
        match e {
            ovsdb::Error::Txn(t) => CtlError::Txn(t),
            e => CtlError::Db(e),
        }
    }
}

pub type Result<T, E = CtlError> = std::result::Result<T, E>;

/// What a command prints once the transaction has committed.
#[derive(Debug, Clone)]
pub enum Output {
    Text(String),
    /// The UUID the server gave a row this transaction inserted, then a newline.
    Inserted(RowKey),
    Table(Table),
}

/// Everything a running command can use.
pub struct Ctx {
    pub txn: Txn,
    pub row_ids: &'static [RowId],
    pub symbols: Symbols,
    pub out: Vec<Output>,
    pub style: Style,
    pub wait: WaitType,
    /// Set by `sync`: wait even when nothing changed.
    pub force_wait: bool,
}

impl Ctx {
    pub fn print(&mut self, s: impl Into<String>) {
        self.out.push(Output::Text(s.into()));
    }

    /// `ctl_get_row` for this database's naming rules.
    pub fn get_row(&mut self, table: &str, id: &str, must_exist: bool) -> Result<Option<RowKey>> {
        record::get_row(&mut self.txn, self.row_ids, table, id, must_exist)
    }
}

pub type RunFn = fn(&mut Ctx, &Command) -> Result<()>;

pub struct CommandSpec {
    pub syntax: Syntax,
    pub run: RunFn,
}

impl CommandSpec {
    /// A command taking `min_args..=max_args` arguments and the given options.
    pub const fn new(
        name: &'static str,
        min_args: usize,
        max_args: usize,
        usage: &'static str,
        options: &'static str,
        run: RunFn,
    ) -> Self {
        CommandSpec {
            syntax: Syntax {
                name,
                min_args,
                max_args,
                usage,
                options,
            },
            run,
        }
    }
}

/// Shorthand for [`CommandSpec::new`], for the tools' command tables.
pub const fn cmd(
    name: &'static str,
    min_args: usize,
    max_args: usize,
    usage: &'static str,
    options: &'static str,
    run: RunFn,
) -> CommandSpec {
    CommandSpec::new(name, min_args, max_args, usage, options, run)
}

/// A tool: its name, database and commands.
pub struct Program {
    /// `rovn-nbctl`; error messages are prefixed with it.
    pub name: &'static str,
    pub db: &'static str,
    pub env_var: &'static str,
    /// Socket file name under `$OVN_RUNDIR` (default `/var/run/ovn`).
    pub default_sock: &'static str,
    pub row_ids: &'static [RowId],
    pub commands: Vec<CommandSpec>,
    pub usage: &'static str,
    /// Runs after the commands, before the commit (e.g. `NB_Global` handling).
    pub pre_commit: Option<fn(&mut Ctx) -> Result<()>>,
    /// Runs after a successful commit (e.g. `--wait`).
    pub post_commit: Option<fn(&mut Ctx, &Committed) -> Result<()>>,
}

impl Program {
    pub fn syntaxes(&self) -> Vec<Syntax> {
        self.commands.iter().map(|c| c.syntax).collect()
    }

    fn default_db(&self) -> String {
        if let Ok(v) = std::env::var(self.env_var)
            && !v.is_empty()
        {
            return v;
        }
        let rundir = std::env::var("OVN_RUNDIR").unwrap_or_else(|_| "/var/run/ovn".into());
        format!("unix:{rundir}/{}", self.default_sock)
    }

    /// Runs the command line (without the program name); returns the exit status.
    pub fn main(&self, argv: &[String]) -> i32 {
        match self.execute(argv) {
            Ok(()) => 0,
            Err(e) => {
                let _ = std::io::stdout().flush();
                eprintln!("{}: {e}", self.name);
                1
            }
        }
    }

    fn execute(&self, argv: &[String]) -> Result<()> {
        let syntaxes = self.syntaxes();
        let (g, commands) = cli::parse(argv, &syntaxes)?;
        if g.version {
            println!("{} (rovn) {}", self.name, env!("CARGO_PKG_VERSION"));
            return Ok(());
        }
        if g.help {
            print!("{}", self.usage);
            println!("\nCommands:");
            for s in &syntaxes {
                println!("  {} {}", s.name, s.usage);
            }
            return Ok(());
        }
        if let Some(secs) = g.timeout.filter(|s| *s > 0) {
            let name = self.name;
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(secs));
                eprintln!("{name}: timeout expired");
                std::process::exit(1);
            });
        }
        let db = g.db.clone().unwrap_or_else(|| self.default_db());
        let remotes = Remote::parse_list(&db)?;
        let txn = Txn::connect(&remotes, self.db).map_err(|e| match e {
            CtlError::Db(ovsdb::Error::Connect { source, .. }) => {
                CtlError::msg(format!("{db}: database connection failed ({source})"))
            }
            e => e,
        })?;
        let mut ctx = Ctx {
            txn,
            row_ids: self.row_ids,
            symbols: Symbols::new(),
            out: Vec::new(),
            style: g.style.clone(),
            wait: g.wait,
            force_wait: false,
        };
        generic::predeclare_ids(&mut ctx, &commands);
        for cmd in &commands {
            let spec = self
                .commands
                .iter()
                .find(|c| c.syntax.name == cmd.name)
                .ok_or_else(|| CtlError::msg(format!("unknown command '{}'", cmd.name)))?;
            (spec.run)(&mut ctx, cmd)?;
        }
        if let Some(f) = self.pre_commit {
            f(&mut ctx)?;
        }
        let committed = if g.dry_run {
            Committed::default()
        } else {
            ctx.txn.commit()?
        };
        if let Some(f) = self.post_commit {
            f(&mut ctx, &committed)?;
        }
        print_outputs(&ctx.out, &ctx.style, &committed, g.oneline);
        Ok(())
    }
}

fn print_outputs(out: &[Output], style: &Style, committed: &Committed, oneline: bool) {
    let mut s = String::new();
    let mut tables = 0;
    for o in out {
        let text = match o {
            Output::Text(t) => t.clone(),
            Output::Inserted(k) => {
                let u = match k {
                    ovsdb::Atom::NamedUuid(n) => committed.inserted.get(n).map(|u| u.to_string()),
                    a => Some(a.to_string()),
                };
                format!("{}\n", u.unwrap_or_else(|| k.to_string()))
            }
            Output::Table(t) => {
                tables += 1;
                t.render(style, tables - 1)
            }
        };
        if oneline {
            let t = text.strip_suffix('\n').unwrap_or(&text);
            s += &t.replace('\\', "\\\\").replace('\n', "\\n");
            s.push('\n');
        } else {
            s += &text;
        }
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(s.as_bytes());
    let _ = stdout.flush();
}
