#![no_main]
//! Datum, row, table-update and IDL parsing on arbitrary JSON.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ovsdb::fuzzing::datum(data);
});
