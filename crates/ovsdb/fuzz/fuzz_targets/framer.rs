#![no_main]
//! JSON-RPC framing and message classification on arbitrary bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ovsdb::fuzzing::framer(data);
});
