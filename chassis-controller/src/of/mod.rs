//! OpenFlow side of the chassis controller: physical and logical flow
//! computation from a [`state::LocalState`], the desired/installed flow table
//! diff, and the OpenFlow connections to br-int (ofctrl, pinctrl).

// The daemon (main loop) may not use every item of this API yet.
#![allow(dead_code)]

pub mod addresses;
pub mod compute;
pub mod conn;
pub mod flow_table;
pub mod lflows;
pub mod local;
pub mod ofctrl;
pub mod physical;
pub mod state;
pub mod tables;

#[cfg(test)]
mod switch_tests;
