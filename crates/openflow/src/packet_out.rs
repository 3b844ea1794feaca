//! OFPT_PACKET_OUT (OpenFlow 1.5: pipeline fields travel in a match).

use crate::actions::{self, Action};
use crate::error::{DecodeError, EncodeError};
use crate::field::Field;
use crate::flow_mod::NO_BUFFER;
use crate::matches::Match;
use crate::oxm;
use crate::wire::{Reader, patch_len, put_u16, put_u32};

/// An OpenFlow 1.5 packet-out.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PacketOut {
    pub buffer_id: u32,
    /// Pipeline fields for the packet: must include `in_port` (use
    /// [`crate::port::CONTROLLER`] when the packet has no ingress port); may also set
    /// metadata, registers, tunnel fields (OVN restores these from a packet-in).
    pub match_: Match,
    pub actions: Vec<Action>,
    pub data: Vec<u8>,
}

impl PacketOut {
    /// A packet-out of `data` from `in_port` running `actions`.
    pub fn new(in_port: u32, actions: Vec<Action>, data: Vec<u8>) -> PacketOut {
        PacketOut {
            buffer_id: NO_BUFFER,
            match_: Match::new().with(Field::InPort, u128::from(in_port)),
            actions,
            data,
        }
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.match_.check()?;
        put_u32(out, self.buffer_id);
        let alen_at = out.len();
        put_u16(out, 0);
        put_u16(out, 0);
        oxm::put_ofp_match(out, &self.match_)?;
        let astart = out.len();
        actions::encode_actions(&self.actions, out)?;
        let alen = out.len() - astart;
        patch_len(out, alen_at, alen, "packet-out actions")?;
        out.extend_from_slice(&self.data);
        Ok(())
    }

    pub(crate) fn decode_body(r: &mut Reader<'_>) -> Result<PacketOut, DecodeError> {
        let buffer_id = r.u32()?;
        let alen = usize::from(r.u16()?);
        r.pad(2)?;
        let match_ = oxm::pull_ofp_match(r)?;
        let actions = actions::decode_actions(r.bytes(alen)?)?;
        Ok(PacketOut {
            buffer_id,
            match_,
            actions,
            data: r.rest().to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::port;

    #[test]
    fn in_port_is_in_match() {
        let po = PacketOut::new(port::CONTROLLER, vec![Action::resubmit(8)], vec![1, 2, 3]);
        assert_eq!(
            po.match_.get(Field::InPort).map(|e| e.value),
            Some(u128::from(port::CONTROLLER))
        );
    }
}
