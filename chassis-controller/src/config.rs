//! The chassis configuration `ovn-controller` reads from the local
//! `Open_vSwitch` row's `external_ids` (ovn-controller(8)). Pure: no I/O.
//!
//! Every key may be overridden for one chassis as `<key>-<system-id>`, so that
//! several chassis can share one database (sandboxes, tests).

use std::collections::BTreeMap;

use thiserror::Error;

/// Why the chassis cannot be registered (the controller logs it and waits).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    #[error("no external_ids:system-id in the Open_vSwitch table")]
    NoSystemId,
    #[error("no external_ids:ovn-remote in the Open_vSwitch table")]
    NoRemote,
    #[error("no external_ids:ovn-encap-type in the Open_vSwitch table")]
    NoEncapType,
    #[error("no external_ids:ovn-encap-ip in the Open_vSwitch table")]
    NoEncapIp,
    #[error("unknown encapsulation type {0:?} (expected geneve, stt or vxlan)")]
    BadEncapType(String),
}

/// Encapsulation types, in OVN's order of preference for tunnels.
pub const ENCAP_TYPES: [&str; 3] = ["geneve", "stt", "vxlan"];

/// The parsed configuration; only fields the controller uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChassisConfig {
    pub system_id: String,
    pub hostname: String,
    /// SB connection string, possibly a comma list (clustered SB).
    pub remote: String,
    /// Sorted by preference (geneve, stt, vxlan), without duplicates.
    pub encap_types: Vec<String>,
    pub encap_ips: Vec<String>,
    pub encap_csum: bool,
    /// Integration bridge name (`ovn-bridge`, default `br-int`).
    pub bridge: String,
    /// Datapath type for a newly created integration bridge
    /// (`ovn-bridge-datapath-type`).
    pub bridge_datapath_type: Option<String>,
    pub bridge_mappings: String,
    pub cms_options: String,
    pub transport_zones: Vec<String>,
    pub chassis_mac_mappings: String,
    pub monitor_all: bool,
    pub is_interconn: bool,
    /// lflow-cache settings, copied verbatim to Chassis `other_config` as
    /// ovn-controller does (`""` when unset).
    pub lflow_cache: Vec<(String, String)>,
}

/// The lflow-cache keys ovn-controller 23.03 mirrors into Chassis `other_config`.
pub const LFLOW_CACHE_KEYS: [&str; 5] = [
    "ovn-limit-lflow-cache",
    "ovn-memlimit-lflow-cache-kb",
    "ovn-trim-limit-lflow-cache",
    "ovn-trim-timeout-ms",
    "ovn-trim-wmark-perc-lflow-cache",
];

/// Looks `key` up with the per-chassis override first.
fn get<'a>(ids: &'a BTreeMap<String, String>, system_id: &str, key: &str) -> Option<&'a str> {
    if !system_id.is_empty()
        && let Some(v) = ids.get(&format!("{key}-{system_id}"))
    {
        return Some(v);
    }
    ids.get(key).map(String::as_str)
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses `external_ids`; `default_hostname` is used when `hostname` is unset.
/// Errors name the first missing required key, as ovn-controller logs it.
pub fn parse(ids: &BTreeMap<String, String>, default_hostname: &str) -> Result<ChassisConfig, ConfigError> {
    let system_id = ids
        .get("system-id")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or(ConfigError::NoSystemId)?;
    let g = |k: &str| get(ids, &system_id, k);
    let remote = g("ovn-remote")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(ConfigError::NoRemote)?
        .to_string();
    let types = list(g("ovn-encap-type").unwrap_or(""));
    if types.is_empty() {
        return Err(ConfigError::NoEncapType);
    }
    if let Some(bad) = types.iter().find(|t| !ENCAP_TYPES.contains(&t.as_str())) {
        return Err(ConfigError::BadEncapType(bad.clone()));
    }
    let encap_types = ENCAP_TYPES
        .iter()
        .filter(|t| types.iter().any(|x| x == *t))
        .map(|t| t.to_string())
        .collect();
    let mut encap_ips = list(g("ovn-encap-ip").unwrap_or(""));
    encap_ips.dedup();
    if encap_ips.is_empty() {
        return Err(ConfigError::NoEncapIp);
    }
    let flag = |k: &str, default: bool| g(k).map_or(default, |v| v.trim() == "true");
    Ok(ChassisConfig {
        hostname: g("hostname")
            .filter(|h| !h.is_empty())
            .unwrap_or(default_hostname)
            .to_string(),
        remote,
        encap_types,
        encap_ips,
        encap_csum: g("ovn-encap-csum").is_none_or(|v| v.trim() != "false"),
        bridge: g("ovn-bridge")
            .filter(|b| !b.is_empty())
            .unwrap_or("br-int")
            .to_string(),
        bridge_datapath_type: g("ovn-bridge-datapath-type")
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        bridge_mappings: g("ovn-bridge-mappings").unwrap_or("").to_string(),
        cms_options: g("ovn-cms-options").unwrap_or("").to_string(),
        transport_zones: list(g("ovn-transport-zones").unwrap_or("")),
        chassis_mac_mappings: g("ovn-chassis-mac-mappings").unwrap_or("").to_string(),
        monitor_all: monitor_all(ids),
        is_interconn: flag("ovn-is-interconn", false),
        lflow_cache: LFLOW_CACHE_KEYS
            .iter()
            .map(|k| (k.to_string(), g(k).unwrap_or("").to_string()))
            .collect(),
        system_id,
    })
}

/// The remote to connect to before the full configuration is valid: the SB
/// connection only needs `system-id` and `ovn-remote`.
pub fn remote(ids: &BTreeMap<String, String>) -> Option<String> {
    let sid = ids.get("system-id").map(String::as_str).unwrap_or("");
    get(ids, sid, "ovn-remote")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `ovn-monitor-all`: replicate the whole Southbound rather than what is
/// local. Read on its own, before the full configuration, because the first
/// monitor request already carries it.
pub fn monitor_all(ids: &BTreeMap<String, String>) -> bool {
    let sid = ids.get("system-id").map(String::as_str).unwrap_or("");
    get(ids, sid, "ovn-monitor-all").is_some_and(|v| v.trim() == "true")
}

/// The host name as `gethostname(2)` reports it.
pub fn system_hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates
    // within it or truncates.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_minimal_config_with_defaults() {
        let c = parse(
            &ids(&[
                ("system-id", "hv1"),
                ("ovn-remote", "tcp:1.2.3.4:6642"),
                ("ovn-encap-type", "geneve"),
                ("ovn-encap-ip", "10.0.0.1"),
            ]),
            "host1",
        )
        .unwrap();
        assert_eq!(c.system_id, "hv1");
        assert_eq!(c.hostname, "host1");
        assert_eq!(c.bridge, "br-int");
        assert!(c.encap_csum);
        assert_eq!(c.encap_types, ["geneve"]);
        assert_eq!(c.encap_ips, ["10.0.0.1"]);
    }

    #[test]
    fn lists_overrides_and_order() {
        let c = parse(
            &ids(&[
                ("system-id", "hv1"),
                ("ovn-remote", "unix:/x"),
                ("ovn-encap-type", "vxlan, geneve"),
                ("ovn-encap-ip", "10.0.0.1,10.0.0.2"),
                ("ovn-encap-ip-hv1", "10.0.0.9"),
                ("ovn-encap-csum", "false"),
                ("hostname", "h"),
                ("ovn-bridge-hv1", "br-x"),
                ("ovn-cms-options", "enable-chassis-as-gw"),
            ]),
            "host1",
        )
        .unwrap();
        assert_eq!(c.encap_types, ["geneve", "vxlan"]);
        assert_eq!(c.encap_ips, ["10.0.0.9"]);
        assert!(!c.encap_csum);
        assert_eq!(c.hostname, "h");
        assert_eq!(c.bridge, "br-x");
        assert_eq!(c.cms_options, "enable-chassis-as-gw");
    }

    #[test]
    fn missing_keys_are_errors() {
        assert_eq!(parse(&ids(&[]), "h"), Err(ConfigError::NoSystemId));
        let base = [("system-id", "hv1"), ("ovn-remote", "unix:/x")];
        assert_eq!(parse(&ids(&base), "h"), Err(ConfigError::NoEncapType));
        let mut v = base.to_vec();
        v.push(("ovn-encap-type", "geneve"));
        assert_eq!(parse(&ids(&v), "h"), Err(ConfigError::NoEncapIp));
        v.push(("ovn-encap-ip", " , "));
        assert_eq!(parse(&ids(&v), "h"), Err(ConfigError::NoEncapIp));
        let mut v = base.to_vec();
        v.extend([("ovn-encap-type", "gre"), ("ovn-encap-ip", "1.1.1.1")]);
        assert_eq!(parse(&ids(&v), "h"), Err(ConfigError::BadEncapType("gre".into())));
        assert_eq!(remote(&ids(&base)).as_deref(), Some("unix:/x"));
        assert!(!system_hostname().is_empty());
    }
}
