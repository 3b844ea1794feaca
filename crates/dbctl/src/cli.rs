//! The command line of `ovn-nbctl`-style tools: global options, then commands
//! separated by `--`, each with its own leading `--option[=value]`s.

use std::collections::BTreeMap;

use crate::CtlError;
use crate::output::Style;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WaitType {
    #[default]
    None,
    Sb,
    Hv,
}

#[derive(Debug, Clone, Default)]
pub struct GlobalOpts {
    pub db: Option<String>,
    pub timeout: Option<u64>,
    pub wait: WaitType,
    pub style: Style,
    pub dry_run: bool,
    pub oneline: bool,
    pub print_wait_time: bool,
    pub help: bool,
    pub version: bool,
}

/// One command of the command line.
#[derive(Debug, Clone, Default)]
pub struct Command {
    pub name: String,
    pub options: BTreeMap<String, Option<String>>,
    /// Arguments after the command name.
    pub args: Vec<String>,
}

impl Command {
    pub fn has(&self, opt: &str) -> bool {
        self.options.contains_key(opt)
    }

    pub fn opt(&self, opt: &str) -> Option<&str> {
        self.options.get(opt).and_then(|v| v.as_deref())
    }

    pub fn arg(&self, i: usize) -> &str {
        self.args.get(i).map(String::as_str).unwrap_or("")
    }
}

/// What a command accepts; `options` lists `--name` (flag), `--name=` (needs a
/// value) and `--name?` (optional value), comma-separated.
#[derive(Debug, Clone, Copy)]
pub struct Syntax {
    pub name: &'static str,
    pub min_args: usize,
    pub max_args: usize,
    pub usage: &'static str,
    pub options: &'static str,
}

const VALUE_OPTS: &[&str] = &["--db", "--timeout", "--wait", "--format", "--data", "--columns"];

/// Splits `argv` (without the program name) into global options and commands.
pub fn parse(argv: &[String], syntaxes: &[Syntax]) -> Result<(GlobalOpts, Vec<Command>), CtlError> {
    let mut g = GlobalOpts::default();
    let mut first_local: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        let (name, mut value) = match a.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        let name = match name.as_str() {
            "-t" => "--timeout".to_string(),
            "-f" => "--format".to_string(),
            "-d" => "--data".to_string(),
            "-h" => "--help".to_string(),
            "-V" => "--version".to_string(),
            _ => name,
        };
        if value.is_none() && VALUE_OPTS.contains(&name.as_str()) {
            i += 1;
            value = Some(
                argv.get(i)
                    .cloned()
                    .ok_or_else(|| CtlError::msg(format!("option '{name}' requires an argument")))?,
            );
        }
        let v = value.clone().unwrap_or_default();
        match name.as_str() {
            "--db" => g.db = Some(v),
            "--timeout" => {
                g.timeout = Some(
                    v.parse()
                        .map_err(|_| CtlError::msg(format!("value {v} on -t or --timeout is invalid")))?,
                )
            }
            "--wait" => {
                g.wait = match v.as_str() {
                    "none" => WaitType::None,
                    "sb" => WaitType::Sb,
                    "hv" => WaitType::Hv,
                    _ => {
                        return Err(CtlError::msg(
                            "argument to --wait must be \"none\", \"sb\", or \"hv\"",
                        ));
                    }
                }
            }
            "--no-wait" => g.wait = WaitType::None,
            "--format" => g.style.parse_format(&v)?,
            "--data" => g.style.parse_cell_format(&v)?,
            "--bare" => g.style.set_bare(),
            "--no-headings" => g.style.headings = false,
            "--pretty" => g.style.pretty = true,
            "--dry-run" => g.dry_run = true,
            "--oneline" => g.oneline = true,
            "--print-wait-time" => g.print_wait_time = true,
            "--help" => g.help = true,
            "--version" => g.version = true,
            "-v"
            | "--verbose"
            | "--no-syslog"
            | "--leader-only"
            | "--no-leader-only"
            | "--shuffle-remotes"
            | "--no-shuffle-remotes" => {}
            _ if name.starts_with("-v") => {}
            _ => {
                let known = syntaxes.iter().any(|s| option_kind(s.options, &name).is_some());
                if !known {
                    return Err(CtlError::msg(format!("unrecognized option '{a}'")));
                }
                if first_local.insert(name.clone(), value).is_some() {
                    return Err(CtlError::msg(format!("'{name}' option specified multiple times")));
                }
            }
        }
        i += 1;
    }
    if g.help || g.version {
        return Ok((g, Vec::new()));
    }
    let mut commands = Vec::new();
    let rest = &argv[i..];
    let mut local = Some(first_local);
    for chunk in rest.split(|a| a == "--") {
        let pending = local.take().unwrap_or_default();
        if chunk.is_empty() {
            if !pending.is_empty() {
                return Err(CtlError::msg("missing command name (use --help for help)"));
            }
            continue;
        }
        commands.push(parse_command(chunk, pending, syntaxes)?);
    }
    if commands.is_empty() {
        return Err(CtlError::msg("missing command name (use --help for help)"));
    }
    Ok((g, commands))
}

/// `Some(kind)` when `options` lists `name`: `'='` needs a value, `'?'` optional, `' '` flag.
fn option_kind(options: &str, name: &str) -> Option<char> {
    options.split(',').find_map(|o| {
        let o = o.trim();
        if let Some(n) = o.strip_suffix('=') {
            (n == name).then_some('=')
        } else if let Some(n) = o.strip_suffix('?') {
            (n == name).then_some('?')
        } else {
            (o == name).then_some(' ')
        }
    })
}

fn parse_command(
    chunk: &[String],
    mut options: BTreeMap<String, Option<String>>,
    syntaxes: &[Syntax],
) -> Result<Command, CtlError> {
    let mut i = 0;
    while i < chunk.len() && chunk[i].starts_with('-') {
        let (k, v) = match chunk[i].split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (chunk[i].clone(), None),
        };
        if options.insert(k, v).is_some() {
            return Err(CtlError::msg(format!(
                "'{}' option specified multiple times",
                chunk[i]
            )));
        }
        i += 1;
    }
    let Some(name) = chunk.get(i) else {
        return Err(CtlError::msg("missing command name (use --help for help)"));
    };
    let syn = syntaxes
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| CtlError::msg(format!("unknown command '{name}'; use --help for help")))?;
    for (k, v) in &options {
        match option_kind(syn.options, k) {
            None => return Err(CtlError::msg(format!("'{name}' command has no '{k}' option"))),
            Some('=') if v.is_none() => {
                return Err(CtlError::msg(format!(
                    "missing argument to '{k}' option on '{name}' command"
                )));
            }
            Some(' ') if v.is_some() => {
                return Err(CtlError::msg(format!(
                    "'{k}' option on '{name}' does not accept an argument"
                )));
            }
            _ => {}
        }
    }
    let args: Vec<String> = chunk[i + 1..].to_vec();
    if args.len() < syn.min_args {
        return Err(CtlError::msg(format!(
            "'{name}' command requires at least {} arguments",
            syn.min_args
        )));
    }
    if args.len() > syn.max_args {
        if args.iter().any(|a| a.starts_with('-')) {
            return Err(CtlError::msg(format!(
                "'{name}' command takes at most {} arguments (note that options must precede command names and follow a \"--\" argument)",
                syn.max_args
            )));
        }
        return Err(CtlError::msg(format!(
            "'{name}' command takes at most {} arguments",
            syn.max_args
        )));
    }
    Ok(Command {
        name: name.clone(),
        options,
        args,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYN: &[Syntax] = &[
        Syntax {
            name: "ls-add",
            min_args: 0,
            max_args: 1,
            usage: "[SWITCH]",
            options: "--may-exist,--add-duplicate",
        },
        Syntax {
            name: "list",
            min_args: 1,
            max_args: usize::MAX,
            usage: "TABLE [RECORD]...",
            options: "--if-exists,--columns=",
        },
    ];

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn splits_commands_and_options() {
        let (g, cmds) = parse(
            &args("--db=unix:x --may-exist ls-add a -- --columns=name list ls -- ls-add"),
            SYN,
        )
        .unwrap();
        assert_eq!(g.db.as_deref(), Some("unix:x"));
        assert_eq!(cmds.len(), 3);
        assert!(cmds[0].has("--may-exist"));
        assert_eq!(cmds[1].opt("--columns"), Some("name"));
        assert!(cmds[2].args.is_empty() && cmds[2].options.is_empty());
    }

    #[test]
    fn reports_errors_like_ovn_nbctl() {
        let e = |s: &str| parse(&args(s), SYN).unwrap_err().to_string();
        assert_eq!(e("ls-add a b"), "'ls-add' command takes at most 1 arguments");
        assert_eq!(e("foo"), "unknown command 'foo'; use --help for help");
        assert_eq!(
            e("--if-exists ls-add a"),
            "'ls-add' command has no '--if-exists' option"
        );
        assert_eq!(
            e("-- --columns list x"),
            "missing argument to '--columns' option on 'list' command"
        );
        assert_eq!(e(""), "missing command name (use --help for help)");
        assert_eq!(e("--bogus ls-add"), "unrecognized option '--bogus'");
        assert!(e("--wait=maybe ls-add").contains("--wait"));
    }
}
