//! `string.pack`, `string.unpack`, `string.packsize`: the formats of a 64-bit PUC Lua, PUC's
//! errors, and sizes bounded by the memory cap.

use crate::common::lua_body as run;
use plugboard_host_core::Host;

#[test]
fn round_trips_and_sizes() {
    assert_eq!(
        run("return string.packsize('j'), string.packsize('!8 b d'), string.packsize('i3 h'), #string.pack('i4', 7)"),
        "[8,16,5,4]"
    );
    assert_eq!(
        run("local s = string.pack('>s2 z B', 'hi', 'yo', 255) return #s, string.unpack('>s2 z B', s)"),
        r#"[8,"hi","yo",255,9]"#
    );
    assert_eq!(
        run("return string.unpack('<i16', string.pack('<i16', -3))"),
        "[-3,17]"
    );
    assert_eq!(
        run("local s = string.pack('<d f c5', 1.5, 0.5, 'ab') return #s, string.unpack('<d f c5', s)"),
        r#"[17,1.5,0.5,"ab\u0000\u0000\u0000",18]"#
    );
    // Big-endian bytes, and unpacking from a position.
    assert_eq!(
        run("local a, b = string.byte(string.pack('>I2', 258), 1, -1) return a, b, string.unpack('B', 'xyz', 2)"),
        "[1,2,121,3]"
    );
}

#[test]
fn errors_as_puc_says_them() {
    for (call, message) in [
        (
            "string.pack('i1', 200)",
            "bad argument #2 to 'pack' (integer overflow)",
        ),
        (
            "string.pack('I1', -1)",
            "bad argument #2 to 'pack' (unsigned overflow)",
        ),
        (
            "string.packsize('s')",
            "bad argument #1 to 'packsize' (variable-length format)",
        ),
        (
            "string.unpack('i4', 'ab')",
            "bad argument #2 to 'unpack' (data string too short)",
        ),
        (
            "string.pack('!3 i4', 1)",
            "bad argument #1 to 'pack' (format asks for alignment not power of 2)",
        ),
        ("string.pack('y', 1)", "invalid format option 'y'"),
        (
            "string.unpack('i9', string.rep('\\255', 8) .. '\\1')",
            "9-byte integer does not fit into Lua Integer",
        ),
        (
            "string.unpack('z', 'abc')",
            "bad argument #2 to 'unpack' (unfinished string for format 'z')",
        ),
    ] {
        assert_eq!(
            run(&format!("return pcall(function() return {call} end)")),
            format!(r#"[false,"main.lua:2: {message}"]"#),
            "{call}"
        );
    }
}

#[test]
fn huge_formats_stay_under_the_cap() {
    let mut p = Host::builder()
        .build()
        .load_lua(
            "t",
            "function f() return string.pack('c1000000000', '') end",
        )
        .unwrap();
    let e = p.call_value("f", vec![]).unwrap_err();
    assert!(
        matches!(e.kind(), plugboard_host_core::ErrorKind::MemoryLimit { .. }),
        "{e:?}"
    );
    assert_eq!(
        run("return pcall(string.packsize, 'c2000000000c2000000000')"),
        r#"[false,"bad argument #1 to 'packsize' (format result too large)"]"#
    );
    // As PUC Lua, a size stops being read past (2^31 - 10) / 10: its next digit is an option.
    assert_eq!(
        run("return pcall(string.packsize, 'c2147483647c2')"),
        r#"[false,"invalid format option '7'"]"#
    );
}
