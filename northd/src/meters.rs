//! SB `Meter`/`Meter_Band`: a copy of NB's meters, which chassis use for ACL log rate
//! limits and control-plane protection. Pure: NB and SB rows in, the operations that
//! make SB match out.
//!
//! Fair meters (NB `fair=true`) are copied as one shared meter; ovn-northd 23.03 also
//! makes a private `NAME__<ACL UUID>` copy for each ACL logging through one, which
//! rovn-northd does not yet (its ACL log flows name the shared meter).

use std::collections::BTreeMap;

use ovn_db::{nb, sb};
use ovsdb::{Atom, Condition, Datum, Operation, Row, Uuid};

use crate::sb_sync::Tables;

/// A meter's unit and bands (action, rate, burst size), sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Meter {
    unit: String,
    bands: Vec<(String, i64, i64)>,
}

fn str_col(r: &Row, c: &str) -> String {
    r.get(c).and_then(Datum::as_str).unwrap_or_default().to_string()
}

fn int_col(r: &Row, c: &str) -> i64 {
    r.get(c).and_then(Datum::as_integer).unwrap_or(0)
}

/// The meters of one database, by name, their bands read from `band_table`.
fn meters(t: &Tables, table: &str, band_table: &str) -> BTreeMap<String, (Uuid, Meter)> {
    let empty = BTreeMap::new();
    let bands = t.get(band_table).unwrap_or(&empty);
    let mut out = BTreeMap::new();
    for (u, r) in t.get(table).unwrap_or(&empty) {
        let mut b: Vec<(String, i64, i64)> = r
            .get("bands")
            .map(|d| d.as_set().to_vec())
            .unwrap_or_default()
            .iter()
            .filter_map(|a| bands.get(&a.as_uuid()?))
            .map(|br| {
                (
                    str_col(br, "action"),
                    int_col(br, "rate"),
                    int_col(br, "burst_size"),
                )
            })
            .collect();
        b.sort();
        let m = Meter {
            unit: str_col(r, "unit"),
            bands: b,
        };
        out.insert(str_col(r, "name"), (*u, m));
    }
    out
}

/// The operations that make SB's meters match NB's.
pub fn ops(nb_tables: &Tables, sb_tables: &Tables) -> Vec<Operation> {
    let want = meters(nb_tables, nb::Meter::TABLE, nb::MeterBand::TABLE);
    let mut have = meters(sb_tables, sb::Meter::TABLE, sb::MeterBand::TABLE);
    let mut out = Vec::new();
    let mut next_band = 0;
    // Inserts the bands of `m` and returns the set referring to them.
    let mut insert_bands = |m: &Meter, out: &mut Vec<Operation>| -> Datum {
        let mut refs = Vec::new();
        for (action, rate, burst) in &m.bands {
            next_band += 1;
            let name = format!("meter_band{next_band}");
            let mut r = Row::new();
            r.insert(sb::MeterBand::COL_ACTION.into(), Datum::string(action));
            r.insert(sb::MeterBand::COL_RATE.into(), Datum::integer(*rate));
            r.insert(sb::MeterBand::COL_BURST_SIZE.into(), Datum::integer(*burst));
            out.push(Operation::Insert {
                table: sb::MeterBand::TABLE.into(),
                row: r,
                uuid_name: Some(name.clone()),
            });
            refs.push(Atom::NamedUuid(name));
        }
        Datum::set(refs)
    };
    for (name, (_, m)) in &want {
        // A meter needs a band; NB enforces it, so one without is not copied.
        if m.bands.is_empty() {
            continue;
        }
        match have.remove(name) {
            Some((_, h)) if h == *m => {}
            Some((u, h)) => {
                let mut r = Row::new();
                if h.unit != m.unit {
                    r.insert(sb::Meter::COL_UNIT.into(), Datum::string(&m.unit));
                }
                if h.bands != m.bands {
                    r.insert(sb::Meter::COL_BANDS.into(), insert_bands(m, &mut out));
                }
                out.push(Operation::Update {
                    table: sb::Meter::TABLE.into(),
                    conditions: vec![Condition::uuid(u)],
                    row: r,
                });
            }
            None => {
                let mut r = Row::new();
                r.insert(sb::Meter::COL_NAME.into(), Datum::string(name));
                r.insert(sb::Meter::COL_UNIT.into(), Datum::string(&m.unit));
                r.insert(sb::Meter::COL_BANDS.into(), insert_bands(m, &mut out));
                out.push(Operation::Insert {
                    table: sb::Meter::TABLE.into(),
                    row: r,
                    uuid_name: None,
                });
            }
        }
    }
    // The rest are gone from NB (their bands go with them: nothing else refers to them).
    for (u, _) in have.into_values() {
        out.push(Operation::Delete {
            table: sb::Meter::TABLE.into(),
            conditions: vec![Condition::uuid(u)],
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(t: &mut Tables, table: &str, u: Uuid, cols: &[(&str, Datum)]) {
        let mut r = Row::new();
        for (k, v) in cols {
            r.insert((*k).into(), v.clone());
        }
        t.entry(table.to_string()).or_default().insert(u, r);
    }

    /// A database holding meter `name` with one band.
    fn db(meter: &str, band: &str, name: &str, unit: &str, rate: i64) -> Tables {
        let mut t = Tables::new();
        let b = Uuid::new_v4();
        add(
            &mut t,
            band,
            b,
            &[
                ("action", Datum::string("drop")),
                ("rate", Datum::integer(rate)),
                ("burst_size", Datum::integer(0)),
            ],
        );
        add(
            &mut t,
            meter,
            Uuid::new_v4(),
            &[
                ("name", Datum::string(name)),
                ("unit", Datum::string(unit)),
                ("bands", Datum::set([Atom::Uuid(b)])),
            ],
        );
        t
    }

    #[test]
    fn copies_updates_and_removes_meters() {
        let nb = db("Meter", "Meter_Band", "m1", "kbps", 1000);
        let ops = ops(&nb, &Tables::new());
        assert_eq!(ops.len(), 2, "{ops:?}");
        assert!(matches!(&ops[0], Operation::Insert { table, .. } if table == "Meter_Band"));
        let Operation::Insert { row, .. } = &ops[1] else {
            panic!("{ops:?}")
        };
        assert_eq!(row.get("name").and_then(Datum::as_str), Some("m1"));

        let same = db("Meter", "Meter_Band", "m1", "kbps", 1000);
        assert!(super::ops(&nb, &same).is_empty());
        let slower = db("Meter", "Meter_Band", "m1", "kbps", 500);
        let up = super::ops(&nb, &slower);
        assert!(
            matches!(&up[..], [Operation::Insert { .. }, Operation::Update { row, .. }]
                if row.get("bands").is_some() && row.get("unit").is_none()),
            "{up:?}"
        );
        let gone = super::ops(&Tables::new(), &same);
        assert!(matches!(&gone[..], [Operation::Delete { .. }]), "{gone:?}");
    }
}
