//! Option tables and payload encoders for the controller actions that carry
//! structured data: `put_dhcp_opts`, `put_dhcpv6_opts`, `put_nd_ra_opts` and
//! `trigger_event` (layouts as in OVN 23.03's `lib/ovn-l7.h`).

use crate::error::Error;
use crate::expr::Value;
use crate::lexer::IntFormat;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptType {
    Ipv4,
    Ipv6,
    Str,
    HostId,
    StaticRoutes,
    Bool,
    Uint8,
    Uint16,
    Uint32,
    Domains,
    Mac,
}

impl OptType {
    /// The `type` column of SB `DHCP_Options`/`DHCPv6_Options`, which is how
    /// ovn-controller learns an option's encoding.
    pub fn sb_type(self) -> &'static str {
        match self {
            OptType::Ipv4 => "ipv4",
            OptType::Ipv6 => "ipv6",
            OptType::Str => "str",
            OptType::HostId => "host_id",
            OptType::StaticRoutes => "static_routes",
            OptType::Bool => "bool",
            OptType::Uint8 => "uint8",
            OptType::Uint16 => "uint16",
            OptType::Uint32 => "uint32",
            OptType::Domains => "domains",
            OptType::Mac => "mac",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptSet {
    Dhcp4,
    Dhcp6,
    NdRa,
    EmptyLbBackends,
}

impl OptSet {
    pub fn label(self) -> &'static str {
        match self {
            OptSet::Dhcp4 => "DHCPv4",
            OptSet::Dhcp6 => "DHCPv6",
            OptSet::NdRa => "IPv6 ND RA",
            OptSet::EmptyLbBackends => "empty_lb_backends",
        }
    }

    fn table(self) -> &'static [(&'static str, u16, OptType)] {
        use OptType::*;
        match self {
            OptSet::Dhcp4 => &[
                ("offerip", 0, Ipv4),
                ("netmask", 1, Ipv4),
                ("router", 3, Ipv4),
                ("dns_server", 6, Ipv4),
                ("log_server", 7, Ipv4),
                ("lpr_server", 9, Ipv4),
                ("hostname", 12, Str),
                ("domain_name", 15, Str),
                ("swap_server", 16, Ipv4),
                ("policy_filter", 21, Ipv4),
                ("router_solicitation", 32, Ipv4),
                ("nis_server", 41, Ipv4),
                ("ntp_server", 42, Ipv4),
                ("server_id", 54, Ipv4),
                ("tftp_server", 66, HostId),
                ("classless_static_route", 121, StaticRoutes),
                ("ms_classless_static_route", 249, StaticRoutes),
                ("ip_forward_enable", 19, Bool),
                ("router_discovery", 31, Bool),
                ("ethernet_encap", 36, Bool),
                ("default_ttl", 23, Uint8),
                ("tcp_ttl", 37, Uint8),
                ("mtu", 26, Uint16),
                ("lease_time", 51, Uint32),
                ("T1", 58, Uint32),
                ("T2", 59, Uint32),
                ("bootfile_name", 67, Str),
                ("wpad", 252, Str),
                ("path_prefix", 210, Str),
                ("tftp_server_address", 150, Ipv4),
                ("domain_search_list", 119, Domains),
                ("broadcast_address", 28, Ipv4),
                ("netbios_name_server", 44, Ipv4),
                ("netbios_node_type", 46, Uint8),
                ("bootfile_name_alt", 254, Str),
                ("arp_cache_timeout", 35, Uint32),
                ("tcp_keepalive_interval", 38, Uint32),
                ("next_server", 253, Ipv4),
            ],
            OptSet::Dhcp6 => &[
                ("server_id", 2, Mac),
                ("ia_addr", 5, Ipv6),
                ("dns_server", 23, Ipv6),
                ("domain_search", 24, Str),
            ],
            OptSet::NdRa => &[
                ("addr_mode", 0, Str),
                ("router_preference", 255, Str),
                ("slla", 1, Mac),
                ("prefix", 3, Ipv6),
                ("mtu", 5, Uint32),
                ("rdnss", 25, Ipv6),
                ("dnssl", 31, Str),
                ("route_info", 24, Str),
            ],
            OptSet::EmptyLbBackends => &[("vip", 1, Str), ("protocol", 2, Str), ("load_balancer", 3, Str)],
        }
    }

    /// Every option of the set: (name, code, type).
    pub fn options(self) -> impl Iterator<Item = (&'static str, u16, OptType)> {
        self.table().iter().copied()
    }

    pub fn find(self, name: &str) -> Option<(u16, OptType)> {
        self.table()
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, c, t)| (*c, *t))
    }
}

/// One `name = value` option of a controller action.
#[derive(Debug, Clone)]
pub struct GenOpt {
    pub name: String,
    pub code: u16,
    pub ty: OptType,
    pub values: Vec<Value>,
}

impl GenOpt {
    fn str(&self) -> &str {
        match self.values.first() {
            Some(Value::Str(s)) => s,
            _ => "",
        }
    }

    fn int(&self, i: usize) -> u128 {
        match self.values.get(i) {
            Some(Value::Int(k)) => k.value,
            _ => 0,
        }
    }
}

/// OVN's value-type check for an option (`requires string/numeric value`).
pub fn check_type(set: OptSet, o: &GenOpt) -> Result<(), String> {
    let want_str = matches!(o.ty, OptType::Str | OptType::Domains);
    if o.ty == OptType::HostId {
        return Ok(());
    }
    let is_str = matches!(o.values.first(), Some(Value::Str(_)));
    if want_str && !is_str {
        return Err(format!(
            "{} option {} requires string value.",
            set.label(),
            o.name
        ));
    }
    if !want_str && (is_str || o.values.is_empty()) {
        return Err(format!(
            "{} option {} requires numeric value.",
            set.label(),
            o.name
        ));
    }
    Ok(())
}

fn len_u8(n: usize) -> Result<u8, Error> {
    u8::try_from(n).map_err(|_| Error::semantic("DHCP option value is too long"))
}

/// RFC 1035 §4.1.4 encoding of a comma-separated domain list, with suffix
/// compression, as OVN encodes option 119.
fn encode_domains(list: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offsets: Vec<(String, u16)> = Vec::new();
    for domain in list.split(',').filter(|d| !d.is_empty()) {
        let labels: Vec<&str> = domain.split('.').filter(|l| !l.is_empty()).collect();
        let mut terminated = false;
        for i in 0..labels.len() {
            let suffix = labels[i..].join(".");
            if let Some((_, off)) = offsets.iter().find(|(s, _)| *s == suffix) {
                out.extend_from_slice(&(0xc000u16 | off).to_be_bytes());
                terminated = true;
                break;
            }
            offsets.push((suffix, out.len() as u16));
            out.push(labels[i].len() as u8);
            out.extend_from_slice(labels[i].as_bytes());
        }
        if !terminated {
            out.push(0);
        }
    }
    out
}

fn encode_dhcp4_option(o: &GenOpt, out: &mut Vec<u8>) -> Result<(), Error> {
    out.push(o.code as u8);
    let body: Vec<u8> = match o.ty {
        OptType::Bool | OptType::Uint8 => vec![o.int(0) as u8],
        OptType::Uint16 => (o.int(0) as u16).to_be_bytes().to_vec(),
        OptType::Uint32 => (o.int(0) as u32).to_be_bytes().to_vec(),
        OptType::Ipv4 => (0..o.values.len())
            .flat_map(|i| (o.int(i) as u32).to_be_bytes())
            .collect(),
        OptType::StaticRoutes => {
            let mut b = Vec::new();
            let n = o.values.len() & !1;
            for i in (0..n).step_by(2) {
                let plen = match &o.values[i] {
                    Value::Int(k) => k.mask.map_or(32, |m| (m as u32).count_ones()),
                    _ => 32,
                };
                b.push(plen as u8);
                let net = (o.int(i) as u32).to_be_bytes();
                b.extend_from_slice(&net[..plen.div_ceil(8) as usize]);
                b.extend_from_slice(&(o.int(i + 1) as u32).to_be_bytes());
            }
            b
        }
        OptType::Str => o.str().as_bytes().to_vec(),
        OptType::HostId => match o.values.first() {
            Some(Value::Str(s)) => s.as_bytes().to_vec(),
            _ => (o.int(0) as u32).to_be_bytes().to_vec(),
        },
        OptType::Domains => encode_domains(o.str()),
        OptType::Ipv6 | OptType::Mac => Vec::new(),
    };
    out.push(len_u8(body.len())?);
    out.extend(body);
    Ok(())
}

/// `put_dhcp_opts` payload: offer IP first, then bootfile (67),
/// bootfile_name_alt (254) and next_server (253), then the rest in order.
pub fn encode_dhcp4(opts: &[GenOpt], out: &mut Vec<u8>) -> Result<(), Error> {
    let offer = opts
        .iter()
        .find(|o| o.code == 0)
        .ok_or_else(|| Error::semantic("put_dhcp_opts requires offerip"))?;
    out.extend_from_slice(&(offer.int(0) as u32).to_be_bytes());
    for code in [67u16, 254] {
        if let Some(o) = opts.iter().find(|o| o.code == code) {
            out.push(code as u8);
            out.push(len_u8(o.str().len())?);
            out.extend_from_slice(o.str().as_bytes());
        }
    }
    if let Some(o) = opts.iter().find(|o| o.code == 253) {
        out.extend_from_slice(&[253, 4]);
        out.extend_from_slice(&(o.int(0) as u32).to_be_bytes());
    }
    for o in opts.iter().filter(|o| ![0, 67, 254, 253].contains(&o.code)) {
        encode_dhcp4_option(o, out)?;
    }
    Ok(())
}

/// `put_dhcpv6_opts` payload: each option as code(2) len(2) value.
pub fn encode_dhcp6(opts: &[GenOpt], out: &mut Vec<u8>) -> Result<(), Error> {
    for o in opts {
        let body: Vec<u8> = match o.ty {
            OptType::Ipv6 => (0..o.values.len()).flat_map(|i| o.int(i).to_be_bytes()).collect(),
            OptType::Mac => o.int(0).to_be_bytes()[10..].to_vec(),
            _ => o.str().as_bytes().to_vec(),
        };
        out.extend_from_slice(&o.code.to_be_bytes());
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend(body);
    }
    Ok(())
}

/// Checks `put_nd_ra_opts` option values the way OVN does.
pub fn validate_nd_ra(opts: &[GenOpt]) -> Result<(), String> {
    let (mut stateful, mut prefix, mut slla) = (false, false, false);
    for o in opts {
        if o.values.len() > 1 {
            return Err(format!("Invalid value for \"{}\" option", o.name));
        }
        let k = match o.values.first() {
            Some(Value::Int(k)) => Some(*k),
            _ => None,
        };
        let ok = match o.code {
            0 => {
                stateful |= o.str() == "dhcpv6_stateful";
                ["slaac", "dhcpv6_stateful", "dhcpv6_stateless"].contains(&o.str())
            }
            255 => ["MEDIUM", "HIGH", "LOW"].contains(&o.str()),
            1 => {
                slla = true;
                k.is_some_and(|k| k.format == IntFormat::Ethernet)
            }
            3 => {
                prefix = true;
                k.is_some_and(|k| k.format == IntFormat::Ipv6 && k.mask.is_some())
            }
            5 => k.is_some_and(|k| k.format == IntFormat::Decimal),
            25 => k.is_some_and(|k| k.format == IntFormat::Ipv6),
            _ => !o.str().is_empty(),
        };
        if !ok {
            return Err(format!("Invalid value for \"{}\" option", o.name));
        }
    }
    if !slla {
        return Err("slla option not present".into());
    }
    if !stateful && !prefix {
        return Err("prefix option needs to be set when address mode is slaac/dhcpv6_stateless.".into());
    }
    Ok(())
}

/// `put_nd_ra_opts` payload: a complete ICMPv6 Router Advertisement.
pub fn encode_nd_ra(opts: &[GenOpt], out: &mut Vec<u8>) -> Result<(), Error> {
    let ra = out.len();
    // type 134, code, checksum, cur hop limit 255, flags, lifetime 0xffff,
    // reachable time, retransmit timer.
    out.extend_from_slice(&[134, 0, 0, 0, 255, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
    for o in opts {
        match o.code {
            0 => match o.str() {
                "dhcpv6_stateful" => out[ra + 5] |= 0x80,
                "dhcpv6_stateless" => out[ra + 5] |= 0x40,
                _ => {}
            },
            255 => {
                out[ra + 5] |= match o.str() {
                    "LOW" => 0x18,
                    "HIGH" => 0x08,
                    _ => 0,
                }
            }
            1 => {
                out.extend_from_slice(&[1, 1]);
                out.extend_from_slice(&o.int(0).to_be_bytes()[10..]);
            }
            5 => {
                out.extend_from_slice(&[5, 1, 0, 0]);
                out.extend_from_slice(&(o.int(0) as u32).to_be_bytes());
            }
            3 => {
                let plen = match o.values.first() {
                    Some(Value::Int(k)) => k.mask.map_or(128, |m| m.count_ones()),
                    _ => 128,
                };
                let mut flags = 0x80;
                if out[ra + 5] & 0x80 == 0 {
                    flags |= 0x40;
                }
                out.extend_from_slice(&[3, 4, plen as u8, flags]);
                out.extend_from_slice(&[0xff; 8]);
                out.extend_from_slice(&[0; 4]);
                out.extend_from_slice(&o.int(0).to_be_bytes());
            }
            25 => {
                out.extend_from_slice(&[25, 3, 0, 0, 0xff, 0xff, 0xff, 0xff]);
                out.extend_from_slice(&o.int(0).to_be_bytes());
            }
            _ => {
                return Err(Error::semantic(format!(
                    "put_nd_ra_opts option {} is not supported yet",
                    o.name
                )));
            }
        }
    }
    Ok(())
}

/// `trigger_event` option payload: code(2) size(2) string, per option.
pub fn encode_event(opts: &[GenOpt], out: &mut Vec<u8>) {
    for o in opts {
        out.extend_from_slice(&o.code.to_be_bytes());
        out.extend_from_slice(&(o.str().len() as u16).to_be_bytes());
        out.extend_from_slice(o.str().as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_search_list_is_compressed() {
        // RFC 3397 example used by OVN: "abc.com,xyz.abc.com".
        assert_eq!(
            encode_domains("abc.com,xyz.abc.com"),
            [&[3u8][..], b"abc", &[3], b"com", &[0, 3], b"xyz", &[0xc0, 0x00]].concat()
        );
    }
}
