//! Loads the southbound snapshot captured from real OVN 23.03 (see
//! `tests/fixtures/capture.sh`) and compiles it like ovn-controller on hv1.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use lflow::of::Flow;
use lflow::{Context, LogicalFlow, Lookup, Pipeline, compile};
use serde_json::Value;

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn load_table(dir: &Path, name: &str) -> Vec<HashMap<String, Value>> {
    let text = std::fs::read_to_string(dir.join(name)).expect("fixture");
    let v: Value = serde_json::from_str(&text).expect("json");
    let heads: Vec<String> = v["headings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_string())
        .collect();
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            heads
                .iter()
                .cloned()
                .zip(row.as_array().unwrap().iter().cloned())
                .collect()
        })
        .collect()
}

/// `["uuid", "x"]` → "x".
fn uuid(v: &Value) -> Option<String> {
    match v.as_array()?.as_slice() {
        [k, u] if k == "uuid" => Some(u.as_str()?.to_string()),
        _ => None,
    }
}

/// OVSDB set/map/atom → list of atoms.
fn set_items(v: &Value) -> Vec<Value> {
    match v.as_array().map(|a| a.as_slice()) {
        Some([k, items]) if k == "set" => items.as_array().cloned().unwrap_or_default(),
        Some([k, _]) if k == "uuid" => vec![v.clone()],
        _ => vec![v.clone()],
    }
}

fn map_get(v: &Value, key: &str) -> Option<String> {
    let pairs = v.as_array()?.get(1)?.as_array()?;
    pairs
        .iter()
        .find(|p| p[0] == key)
        .and_then(|p| p[1].as_str().map(str::to_string))
}

pub struct Datapath {
    pub key: u32,
    pub is_switch: bool,
    pub name: String,
}

pub struct Sb {
    pub datapaths: HashMap<String, Datapath>,
    /// (datapath uuid, name) → key, for ports and multicast groups.
    pub ports: HashMap<(String, String), u32>,
    /// (datapath key, port key) pairs that are local to hv1.
    pub local: HashSet<(u32, u32)>,
    /// Ports bound to hv1 (is_chassis_resident()).
    pub resident: HashSet<String>,
    pub address_sets: HashMap<String, Vec<String>>,
    pub port_groups: HashMap<String, Vec<String>>,
    pub lflows: Vec<LFlowRow>,
}

pub struct LFlowRow {
    pub uuid: String,
    pub pipeline: Pipeline,
    pub table_id: u8,
    pub priority: u16,
    pub match_: String,
    pub actions: String,
    pub datapaths: Vec<String>,
}

/// The seed-topology snapshot.
pub fn load_sb() -> Sb {
    load_sb_from(&fixture_dir())
}

pub fn load_sb_from(dir: &Path) -> Sb {
    let chassis = load_table(dir, "sb-chassis.json");
    let hv1 = chassis
        .iter()
        .find(|c| c["name"] == "hv1")
        .and_then(|c| uuid(&c["_uuid"]))
        .expect("hv1");
    let mut datapaths = HashMap::new();
    for d in load_table(dir, "sb-datapath-binding.json") {
        let ext = &d["external_ids"];
        datapaths.insert(
            uuid(&d["_uuid"]).unwrap(),
            Datapath {
                key: d["tunnel_key"].as_u64().unwrap() as u32,
                is_switch: map_get(ext, "logical-switch").is_some(),
                name: map_get(ext, "name").unwrap_or_default(),
            },
        );
    }
    let mut ports = HashMap::new();
    let mut local = HashSet::new();
    let mut resident = HashSet::new();
    for p in load_table(dir, "sb-port-binding.json") {
        let dp = uuid(&p["datapath"]).unwrap();
        let key = p["tunnel_key"].as_u64().unwrap() as u32;
        ports.insert((dp.clone(), p["logical_port"].as_str().unwrap().to_string()), key);
        let bound_here = set_items(&p["chassis"])
            .iter()
            .any(|c| uuid(c).as_deref() == Some(hv1.as_str()));
        // ovn-controller treats patch and localnet ports, and ports bound
        // here, as related to this chassis.
        if p["type"] == "patch" || p["type"] == "localnet" || bound_here {
            local.insert((datapaths[&dp].key, key));
        }
        if bound_here {
            resident.insert(p["logical_port"].as_str().unwrap().to_string());
        }
    }
    for m in load_table(dir, "sb-multicast-group.json") {
        let dp = uuid(&m["datapath"]).unwrap();
        ports.insert(
            (dp, m["name"].as_str().unwrap().to_string()),
            m["tunnel_key"].as_u64().unwrap() as u32,
        );
    }
    let strings = |v: &Value| -> Vec<String> {
        set_items(v)
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    };
    let address_sets = load_table(dir, "sb-address-set.json")
        .iter()
        .map(|a| (a["name"].as_str().unwrap().to_string(), strings(&a["addresses"])))
        .collect();
    let port_groups = load_table(dir, "sb-port-group.json")
        .iter()
        .map(|a| (a["name"].as_str().unwrap().to_string(), strings(&a["ports"])))
        .collect();
    let dp_groups: HashMap<String, Vec<String>> = load_table(dir, "sb-logical-dp-group.json")
        .iter()
        .map(|g| {
            (
                uuid(&g["_uuid"]).unwrap(),
                set_items(&g["datapaths"]).iter().filter_map(uuid).collect(),
            )
        })
        .collect();
    let mut lflows = Vec::new();
    for l in load_table(dir, "sb-logical-flow.json") {
        let mut dps: Vec<String> = set_items(&l["logical_datapath"])
            .iter()
            .filter_map(uuid)
            .collect();
        for g in set_items(&l["logical_dp_group"]).iter().filter_map(uuid) {
            dps.extend(dp_groups[&g].iter().cloned());
        }
        lflows.push(LFlowRow {
            uuid: uuid(&l["_uuid"]).unwrap(),
            pipeline: if l["pipeline"] == "ingress" {
                Pipeline::Ingress
            } else {
                Pipeline::Egress
            },
            table_id: l["table_id"].as_u64().unwrap() as u8,
            priority: l["priority"].as_u64().unwrap() as u16,
            match_: l["match"].as_str().unwrap().to_string(),
            actions: l["actions"].as_str().unwrap().to_string(),
            datapaths: dps,
        });
    }
    Sb {
        resident,
        datapaths,
        ports,
        local,
        address_sets,
        port_groups,
        lflows,
    }
}

/// Lookup over the snapshot for one datapath.
pub struct SbLookup<'a> {
    pub sb: &'a Sb,
    pub dp: String,
    pub dp_key: u32,
    pub groups: &'a mut BTreeMap<String, u32>,
}

thread_local! {
    static METERS: std::cell::RefCell<BTreeMap<String, u32>> = const { std::cell::RefCell::new(BTreeMap::new()) };
}

impl Lookup for SbLookup<'_> {
    fn port_key(&self, name: &str) -> Option<u32> {
        self.sb.ports.get(&(self.dp.clone(), name.to_string())).copied()
    }
    fn address_set(&self, name: &str) -> Option<Vec<String>> {
        self.sb.address_sets.get(name).cloned()
    }
    fn port_group(&self, name: &str) -> Option<Vec<String>> {
        self.sb
            .port_groups
            .get(&format!("{}_{name}", self.dp_key))
            .cloned()
    }
    fn is_local_port(&self, key: u32) -> bool {
        self.sb.local.contains(&(self.dp_key, key))
    }
    fn is_chassis_resident(&self, port: &str) -> bool {
        self.sb.resident.contains(port)
    }
    fn meter_id(&mut self, name: &str) -> Option<u32> {
        METERS.with(|m| {
            let mut m = m.borrow_mut();
            let n = m.len() as u32 + 1;
            Some(*m.entry(name.to_string()).or_insert(n))
        })
    }
    fn group_id(&mut self, group: &lflow::of::Group) -> Option<u32> {
        let n = self.groups.len() as u32 + 1;
        Some(*self.groups.entry(group.to_string()).or_insert(n))
    }
}

pub struct Outcome {
    pub lflows: usize,
    pub compiled: usize,
    pub errors: Vec<String>,
    pub flows: Vec<(String, Flow)>,
    pub groups: BTreeMap<String, u32>,
}

/// Compiles every (logical flow, datapath) pair of the snapshot.
pub fn compile_all(sb: &Sb) -> Outcome {
    compile_all_using(sb, &mut |l, c, k| compile(l, c, k))
}

/// The compile function under test: `lflow::compile`, `compile_uncached` or
/// a `Compiler`.
pub type CompileFn<'f> = dyn FnMut(&LogicalFlow<'_>, &Context, &mut dyn Lookup) -> Result<lflow::Compiled, lflow::CompileError>
    + 'f;

/// [`compile_all`] with the given compile function.
pub fn compile_all_using(sb: &Sb, compile: &mut CompileFn<'_>) -> Outcome {
    let mut groups = BTreeMap::new();
    let mut out = Outcome {
        lflows: sb.lflows.len(),
        compiled: 0,
        errors: vec![],
        flows: vec![],
        groups: BTreeMap::new(),
    };
    for lf in &sb.lflows {
        let mut ok = true;
        for dp in &lf.datapaths {
            let d = &sb.datapaths[dp];
            let mut ctx = Context::new(d.key, d.is_switch);
            // ovn-controller derives conj ids from the lflow UUID.
            ctx.conj_id_base = u32::from_str_radix(&lf.uuid[..8], 16).unwrap_or(1);
            ctx.lflow_cookie = ctx.conj_id_base;
            let mut lookup = SbLookup {
                sb,
                dp: dp.clone(),
                dp_key: d.key,
                groups: &mut groups,
            };
            let l = LogicalFlow {
                pipeline: lf.pipeline,
                table_id: lf.table_id,
                priority: lf.priority,
                match_: &lf.match_,
                actions: &lf.actions,
            };
            match compile(&l, &ctx, &mut lookup) {
                Ok(c) => out
                    .flows
                    .extend(c.flows.into_iter().map(|f| (lf.uuid.clone(), f))),
                Err(e) => {
                    ok = false;
                    out.errors.push(format!(
                        "{} [{}] `{}` / `{}`: {e}",
                        lf.uuid, d.name, lf.match_, lf.actions
                    ));
                }
            }
        }
        if ok {
            out.compiled += 1;
        }
    }
    out.groups = groups;
    out
}

/// Canonical text of a flow for comparison with `ovs-ofctl dump-flows`:
/// match fields sorted, group and conjunction ids replaced.
pub fn canonical(table: u8, priority: u16, matches: &str, actions: &str) -> String {
    let mut m: Vec<&str> = matches.split(',').filter(|s| !s.is_empty()).collect();
    m.sort();
    let acts = normalize_ids(actions);
    let m = normalize_ids(&m.join(","));
    format!("table={table},priority={priority},{m} actions={acts}")
}

fn normalize_ids(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while !rest.is_empty() {
        let next = ["group:", "conjunction(", "conj_id="]
            .iter()
            .filter_map(|p| rest.find(p).map(|i| (i, *p)))
            .min();
        match next {
            Some((i, p)) => {
                out.push_str(&rest[..i + p.len()]);
                rest = &rest[i + p.len()..];
                let n = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
                out.push('N');
                rest = &rest[n..];
            }
            None => {
                out.push_str(rest);
                break;
            }
        }
    }
    out
}

/// Logical-pipeline flows (tables 8-36 and 42-63) from the captured dump.
pub fn real_flows(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("flows.txt")).expect("flows.txt");
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(t) = line.find(" table=") else { continue };
        let rest = &line[t + 7..];
        let table: u8 = rest[..rest.find(',').unwrap()].parse().unwrap();
        if !(8..=36).contains(&table) && !(42..=63).contains(&table) {
            continue;
        }
        let p = line.find("priority=").unwrap();
        let body = &line[p + 9..];
        let (head, actions) = body.split_once(" actions=").unwrap();
        let (prio, m) = head.split_once(',').unwrap_or((head, ""));
        out.push(canonical(table, prio.parse().unwrap(), m, actions));
    }
    out
}

pub fn our_flows(o: &Outcome) -> Vec<String> {
    o.flows
        .iter()
        .map(|(_, f)| {
            let acts = if f.actions.is_empty() {
                "drop".to_string()
            } else {
                lflow::of::ActionList(&f.actions).to_string()
            };
            canonical(f.table, f.priority, &f.matches.to_string(), &acts)
        })
        .collect()
}
