//! OVN's logical-flow language: lexer, parser, symbol table, normalisation
//! and compilation of logical flows (match + actions) into OpenFlow flows, as
//! ovn-controller 23.03 does.
//!
//! Entry point: [`compile`] with a [`LogicalFlow`], a [`Context`] and a
//! [`Lookup`] implementation that resolves port names, address sets, port
//! groups and allocates group ids.

pub mod actions;
mod cache;
pub mod compile;
pub mod error;
pub mod expr;
mod fx;
pub mod lexer;
pub mod normalize;
pub mod of;
pub mod options;
pub mod parser;
pub mod symbols;
pub mod to_openflow;
pub mod trace;

pub use actions::Pipeline;
pub use cache::{CacheStats, Compiler};
pub use compile::{CompileError, Compiled, Context, LogicalFlow, compile, compile_actions, compile_uncached};
pub use error::Error;
pub use expr::Lookup;
pub use fx::{FxBuild, FxHashMap, FxHasher, hash_one};
