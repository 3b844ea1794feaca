//! Meter commands (`meter-add`, `meter-del`, `meter-list`): named rate limits that ACL
//! logging and control-plane protection refer to.

use dbctl::{Command, CommandSpec, CtlError, Ctx, Result, RowKey};
use ovsdb::{Atom, Datum, Row};

use crate::cmd;

const METER: &str = "Meter";
const BAND: &str = "Meter_Band";

pub fn commands() -> Vec<CommandSpec> {
    vec![
        cmd(
            "meter-add",
            4,
            5,
            "NAME ACTION RATE UNIT [BURST]",
            "--fair,--may-exist",
            meter_add,
        ),
        cmd("meter-del", 0, 1, "[NAME]", "", meter_del),
        cmd("meter-list", 0, 0, "", "", meter_list),
    ]
}

/// An integer argument in `lo..=hi`.
fn ranged(arg: &str, lo: i64, hi: i64, msg: &str) -> Result<i64> {
    arg.parse::<i64>()
        .ok()
        .filter(|v| (lo..=hi).contains(v))
        .ok_or_else(|| CtlError::msg(msg))
}

fn meter_add(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let name = c.arg(0);
    let mut existing: Option<RowKey> = None;
    for m in ctx.txn.all(METER)? {
        if ctx.txn.get_str(METER, &m, "name") == name {
            if !c.has("--may-exist") {
                return Err(CtlError::msg(format!(
                    "meter with name \"{name}\" already exists"
                )));
            }
            existing = Some(m);
            break;
        }
    }
    if name.starts_with("__") {
        return Err(CtlError::msg("meter names that begin with \"__\" are reserved"));
    }
    let action = c.arg(1);
    if action != "drop" {
        return Err(CtlError::msg("action must be \"drop\""));
    }
    let rate = ranged(
        c.arg(2),
        1,
        u32::MAX.into(),
        "rate must be in the range 1...4294967295",
    )?;
    let unit = c.arg(3);
    if unit != "kbps" && unit != "pktps" {
        return Err(CtlError::msg("unit must be \"kbps\" or \"pktps\""));
    }
    let burst = match c.args.get(4) {
        Some(b) => ranged(b, 0, u32::MAX.into(), "burst must be in the range 0...4294967295")?,
        None => 0,
    };
    // One band, as ovn-nbctl supports; an existing meter's first band is reused.
    let band_of_existing = existing
        .as_ref()
        .and_then(|m| ctx.txn.get(METER, m, "bands").as_set().first().cloned());
    let band_row = |b: &mut Row| {
        b.insert("action".into(), Datum::string(action));
        b.insert("rate".into(), Datum::integer(rate));
        b.insert("burst_size".into(), Datum::integer(burst));
    };
    let band = match band_of_existing {
        Some(b) => {
            ctx.txn.fetch(BAND, std::slice::from_ref(&b))?;
            let mut r = Row::new();
            band_row(&mut r);
            for (k, v) in r {
                ctx.txn.set(BAND, &b, &k, v)?;
            }
            b
        }
        None => {
            let mut r = Row::new();
            band_row(&mut r);
            ctx.txn.insert(BAND, r)?
        }
    };
    let meter = match existing {
        Some(m) => {
            ctx.txn.set(METER, &m, "unit", Datum::string(unit))?;
            ctx.txn.set(METER, &m, "bands", Datum::atom(band))?;
            m
        }
        None => {
            let mut r = Row::new();
            r.insert("name".into(), Datum::string(name));
            r.insert("unit".into(), Datum::string(unit));
            r.insert("bands".into(), Datum::atom(band));
            ctx.txn.insert(METER, r)?
        }
    };
    if c.has("--fair") {
        ctx.txn
            .set(METER, &meter, "fair", Datum::atom(Atom::Boolean(true)))?;
    }
    Ok(())
}

fn meter_del(ctx: &mut Ctx, c: &Command) -> Result<()> {
    for m in ctx.txn.all(METER)? {
        if c.args.is_empty() || ctx.txn.get_str(METER, &m, "name") == c.arg(0) {
            ctx.txn.delete(METER, &m);
            if !c.args.is_empty() {
                break;
            }
        }
    }
    Ok(())
}

fn meter_list(ctx: &mut Ctx, _c: &Command) -> Result<()> {
    let mut meters: Vec<(String, RowKey)> = ctx
        .txn
        .all(METER)?
        .into_iter()
        .map(|m| (ctx.txn.get_str(METER, &m, "name"), m))
        .collect();
    meters.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    for (name, m) in &meters {
        out += &format!("{name}:");
        if let Some(fair) = ctx.txn.get(METER, m, "fair").as_bool() {
            out += if fair { " (fair)" } else { " (shared)" };
        }
        out += " bands:\n";
        let unit = ctx.txn.get_str(METER, m, "unit");
        let bands = ctx.txn.get(METER, m, "bands").as_set().to_vec();
        ctx.txn.fetch(BAND, &bands)?;
        for b in &bands {
            let rate = ctx.txn.get(BAND, b, "rate").as_integer().unwrap_or(0);
            out += &format!("  {}: {rate} {unit}", ctx.txn.get_str(BAND, b, "action"));
            let burst = ctx.txn.get(BAND, b, "burst_size").as_integer().unwrap_or(0);
            if burst != 0 {
                out += &format!(", {burst} {} burst", if unit == "kbps" { "kb" } else { "packet" });
            }
        }
        out.push('\n');
    }
    ctx.print(out);
    Ok(())
}
