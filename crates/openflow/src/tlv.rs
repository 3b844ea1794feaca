//! NXT_TLV_TABLE_MOD / REQUEST / REPLY: the Geneve option ↔ `tun_metadataN` map.

use std::fmt;

use crate::error::DecodeError;
use crate::wire::{Reader, put_u16, put_u32};

/// One mapping: Geneve option (class, type, len) ↔ `tun_metadata<index>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TlvMap {
    pub option_class: u16,
    pub option_type: u8,
    /// Option length in bytes (multiple of 4).
    pub option_len: u8,
    pub index: u16,
}

impl TlvMap {
    /// OVN's option: class 0x0102, type 0x80, 4 bytes.
    pub fn ovn(index: u16) -> TlvMap {
        TlvMap {
            option_class: 0x0102,
            option_type: 0x80,
            option_len: 4,
            index,
        }
    }
}

/// `{class=0x102,type=0x80,len=4}->tun_metadata0` (ovs-ofctl add-tlv-map syntax).
impl fmt::Display for TlvMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{class={:#x},type={:#x},len={}}}->tun_metadata{}",
            self.option_class, self.option_type, self.option_len, self.index
        )
    }
}

/// TLV table command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlvTableCommand {
    Add,
    Delete,
    Clear,
}

/// NXT_TLV_TABLE_MOD.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TlvTableMod {
    pub command: TlvTableCommand,
    pub maps: Vec<TlvMap>,
}

/// NXT_TLV_TABLE_REPLY.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TlvTableReply {
    pub max_option_space: u32,
    pub max_fields: u16,
    pub maps: Vec<TlvMap>,
}

fn put_maps(out: &mut Vec<u8>, maps: &[TlvMap]) {
    for m in maps {
        put_u16(out, m.option_class);
        out.push(m.option_type);
        out.push(m.option_len);
        put_u16(out, m.index);
        put_u16(out, 0);
    }
}

fn pull_maps(r: &mut Reader<'_>) -> Result<Vec<TlvMap>, DecodeError> {
    if !r.remaining().is_multiple_of(8) {
        return Err(DecodeError::BadLength {
            what: "tlv map array",
            len: r.remaining(),
        });
    }
    let mut maps = Vec::new();
    while !r.is_empty() {
        let option_class = r.u16()?;
        let option_type = r.u8()?;
        let option_len = r.u8()?;
        let index = r.u16()?;
        r.pad(2)?;
        maps.push(TlvMap {
            option_class,
            option_type,
            option_len,
            index,
        });
    }
    Ok(maps)
}

impl TlvTableMod {
    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        put_u16(
            out,
            match self.command {
                TlvTableCommand::Add => 0,
                TlvTableCommand::Delete => 1,
                TlvTableCommand::Clear => 2,
            },
        );
        out.extend_from_slice(&[0; 6]);
        put_maps(out, &self.maps);
    }

    pub(crate) fn decode_body(r: &mut Reader<'_>) -> Result<TlvTableMod, DecodeError> {
        let command = match r.u16()? {
            0 => TlvTableCommand::Add,
            1 => TlvTableCommand::Delete,
            2 => TlvTableCommand::Clear,
            c => {
                return Err(DecodeError::Unsupported {
                    what: "tlv table command",
                    code: c.into(),
                });
            }
        };
        r.pad(6)?;
        Ok(TlvTableMod {
            command,
            maps: pull_maps(r)?,
        })
    }
}

impl TlvTableReply {
    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        put_u32(out, self.max_option_space);
        put_u16(out, self.max_fields);
        out.extend_from_slice(&[0; 10]);
        put_maps(out, &self.maps);
    }

    pub(crate) fn decode_body(r: &mut Reader<'_>) -> Result<TlvTableReply, DecodeError> {
        let max_option_space = r.u32()?;
        let max_fields = r.u16()?;
        r.pad(10)?;
        Ok(TlvTableReply {
            max_option_space,
            max_fields,
            maps: pull_maps(r)?,
        })
    }
}
