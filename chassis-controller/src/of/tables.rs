//! OVN 23.03's OpenFlow table numbers and register assignments on br-int
//! (controller/lflow.h, include/ovn/logical-fields.h).

use openflow::Field;

/// Physical → logical (VIF, tunnel, localnet ingress).
pub const PHY_TO_LOG: u8 = 0;
/// First logical ingress table (logical table n → 8 + n).
pub const LOG_INGRESS: u8 = 8;
/// Output entry / large-packet detection.
pub const OUTPUT_LARGE_PKT_DETECT: u8 = 37;
/// Large-packet ICMP generation.
pub const OUTPUT_LARGE_PKT_PROCESS: u8 = 38;
/// Output to other chassis (tunnels).
pub const REMOTE_OUTPUT: u8 = 39;
/// Output to ports on this chassis.
pub const LOCAL_OUTPUT: u8 = 40;
/// Loopback check; clears the logical registers.
pub const CHECK_LOOPBACK: u8 = 41;
/// First logical egress table (logical table n → 42 + n).
pub const LOG_EGRESS: u8 = 42;
/// Saves/clears in_port when loopback is allowed.
pub const SAVE_INPORT: u8 = 64;
/// Logical → physical.
pub const LOG_TO_PHY: u8 = 65;
/// MAC binding: `get_arp`/`get_nd`.
pub const MAC_BINDING: u8 = 66;
/// MAC binding: `lookup_arp`/`lookup_nd`.
pub const MAC_LOOKUP: u8 = 67;
/// FDB: `get_fdb` (destination MAC → outport).
pub const GET_FDB: u8 = 71;
/// FDB: `lookup_fdb` (is the source MAC known on the inport?).
pub const LOOKUP_FDB: u8 = 72;
/// Ingress port security.
pub const CHK_IN_PORT_SEC: u8 = 73;
/// Ingress port security, ARP/ND.
pub const CHK_IN_PORT_SEC_ND: u8 = 74;
/// Egress port security.
pub const CHK_OUT_PORT_SEC: u8 = 75;

/// Logical datapath (tunnel key).
pub const LOG_DATAPATH: Field = Field::Metadata;
/// Logical input port key.
pub const LOG_INPORT: Field = Field::Reg(14);
/// Logical output port key.
pub const LOG_OUTPORT: Field = Field::Reg(15);
/// Logical flags.
pub const LOG_FLAGS: Field = Field::Reg(10);
/// Conntrack zone of the logical port (low 16 bits).
pub const LOG_CT_ZONE: Field = Field::Reg(13);
/// DNAT zone of the datapath.
pub const LOG_DNAT_ZONE: Field = Field::Reg(11);
/// SNAT zone of the datapath.
pub const LOG_SNAT_ZONE: Field = Field::Reg(12);

/// `flags.loopback`: allow output back to the input port.
pub const FLAG_ALLOW_LOOPBACK: u32 = 1 << 0;
/// Packet received from a (VXLAN) ramp switch.
pub const FLAG_RCV_FROM_RAMP: u32 = 1 << 1;
/// Deliver locally only (do not tunnel).
pub const FLAG_LOCAL_ONLY: u32 = 1 << 4;
/// Packet entered from a localport.
pub const FLAG_LOCALPORT: u32 = 1 << 10;
/// `lookup_arp`/`get_arp` found a binding.
pub const FLAG_LOOKUP_MAC: u32 = 1 << 6;
/// `lookup_fdb` found the MAC on the inport.
pub const FLAG_LOOKUP_FDB: u32 = 1 << 8;
/// Port-security verdict (1 = drop).
pub const FLAG_CHECK_PORT_SEC: u32 = 1 << 12;

/// Geneve option OVN carries (class 0x0102, type 0x80, 4 bytes).
pub const GENEVE_OPT_CLASS: u16 = 0x0102;
pub const GENEVE_OPT_TYPE: u8 = 0x80;
pub const GENEVE_OPT_LEN: u8 = 4;

/// The `tun_metadataN` field OVN's Geneve option is mapped to.
pub fn tun_metadata(index: u8) -> Field {
    Field::TunMetadata {
        index,
        len: GENEVE_OPT_LEN,
    }
}

/// First 32 bits of a UUID string, as ovn-controller uses for cookies
/// (`uuid.parts[0]`); 0 if the string is not a UUID.
pub fn uuid_cookie(uuid: &str) -> u64 {
    uuid.get(..8)
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .map_or(0, u64::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_is_first_32_bits() {
        assert_eq!(uuid_cookie("0d7e0f49-1111-2222-3333-444455556666"), 0x0d7e0f49);
        assert_eq!(uuid_cookie("zz"), 0);
        assert_eq!(uuid_cookie(""), 0);
    }
}
