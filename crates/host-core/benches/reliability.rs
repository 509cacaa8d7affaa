//! The latency goals of RELIABILITY.md §6, measured natively (not criterion: these are
//! worst cases and percentiles, not means). Prints a Markdown table and writes it to
//! `target/bench/reliability.md`; the project's RELIABILITY.md quotes it.
//!
//! - G5: a call that loops forever, with the default budgets of the test plan (wasm 10 M fuel,
//!   Lua 2 M), returns `OutOfFuel`: p50/p99 over 30 runs.
//! - G7: the longest single step (one `resume`: a fuel slice) over the hostile corpus: each
//!   case driven slice by slice with the default slice sizes, the slowest slice reported.
//! - G14: a depth-10k bincode payload and a depth-100k JSON text rejected.
//! - G15: the 60k-function bomb rejected; a 4 MiB module of garbage rejected (ms per MiB).
//! - G16: trap → error latency of a plugin that traps at once.
//!
//! `cargo bench -p plugboard-host-core --bench reliability` (bench/run.sh runs it).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use plugboard_host_core::{Host, Limits, Step};
use std::time::{Duration, Instant};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap()
}

const ALLOC: &str = r#"(memory (export "memory") 1)
  (global $b (mut i32) (i32.const 1024))
  (func (export "__alloc_buffer") (param i32) (result i32) (local $p i32)
    (local.set $p (global.get $b)) (global.set $b (i32.add (global.get $b) (local.get 0))) (local.get $p))
  (func (export "__free_buffer") (param i64))"#;

fn buffer(body: &str) -> Vec<u8> {
    wat(&format!(
        "(module (import \"env\" \"__log\" (func $log (param i64) (result i64))) {ALLOC} {body})"
    ))
}

/// Time of each `resume` of a call driven to its end; the error (if any) is ignored.
fn slices(p: &mut plugboard_host_core::Plugin, name: &str, input: Vec<u8>) -> Vec<Duration> {
    let mut out = Vec::new();
    if p.start_call(name, input).is_err() {
        return out;
    }
    loop {
        let t = Instant::now();
        let step = p.resume();
        out.push(t.elapsed());
        match step {
            Ok(Step::Yielded) => continue,
            Ok(Step::Pending(_)) => panic!("no async host functions here"),
            Ok(Step::Done(_)) | Err(_) => break,
        }
    }
    out
}

/// The slowest single slice of `run` over the cases, and the case it was in.
fn slowest_slice<'a>(
    cases: impl Iterator<Item = (&'a str, plugboard_host_core::Plugin)>,
) -> (Duration, &'a str) {
    let mut worst = (Duration::ZERO, "");
    for (name, mut p) in cases {
        let max = slices(&mut p, "run", Vec::new())
            .into_iter()
            .max()
            .unwrap_or_default();
        if max > worst.0 {
            worst = (max, name);
        }
    }
    worst
}

fn main() {
    let host = Host::builder()
        .limits(Limits {
            fuel: 10_000_000,
            ..Limits::default()
        })
        .func("env", "log", |s: String| s.len() as u32)
        .build();
    let lua_host = Host::builder()
        .limits(Limits {
            fuel: 2_000_000,
            memory_bytes: 16 << 20,
            ..Limits::default()
        })
        .build();
    let mut rows: Vec<(String, String, String)> = Vec::new();

    // G5: stop latency.
    let mut wasm_loop = host
        .load_wasm(&buffer(
            r#"(func (export "__run") (param i64) (result i64) (loop $l (br $l)) (i64.const 0))"#,
        ))
        .unwrap();
    let mut lua_loop = lua_host
        .load_lua("loop", "function run() while true do end end")
        .unwrap();
    let (mut w, mut l) = (Vec::new(), Vec::new());
    for _ in 0..30 {
        let t = Instant::now();
        assert!(wasm_loop
            .call_bytes("run", Vec::new())
            .unwrap_err()
            .is_out_of_fuel());
        w.push(t.elapsed());
        let t = Instant::now();
        assert!(lua_loop
            .call_value("run", vec![])
            .unwrap_err()
            .is_out_of_fuel());
        l.push(t.elapsed());
    }
    rows.push((
        "G5".into(),
        "wasm `loop br 0`, 10 M fuel → OutOfFuel (p50 / p99 of 30)".into(),
        format!(
            "{:.1} / {:.1} ms (goal ≤ 100 ms p99)",
            ms(percentile(w.clone(), 0.5)),
            ms(percentile(w, 0.99))
        ),
    ));
    rows.push((
        "G5".into(),
        "Lua `while true do end`, 2 M fuel → OutOfFuel (p50 / p99 of 30)".into(),
        format!(
            "{:.1} / {:.1} ms (goal ≤ 100 ms p99)",
            ms(percentile(l.clone(), 0.5)),
            ms(percentile(l, 0.99))
        ),
    ));

    // G7: the longest slice over the hostile corpus.
    let wasm_cases: [(&str, String); 4] = [
        ("RES-01 infinite loop", r#"(func (export "__run") (param i64) (result i64) (loop $l (br $l)) (i64.const 0))"#.into()),
        ("RES-07 memory.fill 64 KiB in a loop", r#"(func (export "__run") (param i64) (result i64) (loop $l (memory.fill (i32.const 0) (i32.const 1) (i32.const 65536)) (br $l)) (i64.const 0))"#.into()),
        ("RES-10 host call with 60 KiB in a loop", r#"(func (export "__run") (param i64) (result i64) (i64.store (i32.const 4096) (i64.const 60000)) (loop $l (drop (call $log (i64.or (i64.shl (i64.const 4096) (i64.const 32)) (i64.const 60008)))) (br $l)) (i64.const 0))"#.into()),
        ("RES-05 memory.grow to the cap", r#"(func (export "__run") (param i64) (result i64) (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) (i64.const 0))"#.into()),
    ];
    let worst = slowest_slice(
        wasm_cases
            .iter()
            .map(|(name, body)| (*name, host.load_wasm(&buffer(body)).unwrap())),
    );
    rows.push((
        "G7".into(),
        "longest wasm slice (1 M fuel), hostile corpus".into(),
        format!("{:.1} ms, {} (goal ≤ 50 ms)", ms(worst.0), worst.1),
    ));
    let lua_cases = [
        ("LUA-R1 infinite loop", "while true do end"),
        ("LUA-R2 pcall(error) loop", "while true do pcall(error, 'x') end"),
        ("LUA-R3 __index loop", "local t = setmetatable({}, {}) getmetatable(t).__index = function(t, k) return t[k] end return t.x"),
        ("LUA-R4 unbounded recursion", "local function f(n) return f(n + 1) + 1 end return f(0)"),
        ("LUA-R5 table growth", "local t = {} local i = 0 while true do i = i + 1 t[i] = i end"),
        ("LUA-R6 s = s .. s", "local s = 'x' for i = 1, 40 do s = s .. s end return #s"),
        ("LUA-R7 table.unpack({}, 1, 1e8)", "return table.unpack({}, 1, 1e8)"),
        ("LUA-R8 string.upper on 4 MiB", "local s = string.rep('a', 4 * 1024 * 1024) while true do s = string.upper(s) end"),
        ("LUA-R8 string.reverse on 4 MiB", "local s = string.rep('a', 4 * 1024 * 1024) while true do s = string.reverse(s) end"),
        ("LUA-R9 coroutine bomb", "local t = {} while true do t[#t + 1] = coroutine.create(function() end) end"),
        ("string.rep 16 MiB", "local s = string.rep('ab', 8 * 1024 * 1024) return #s"),
        ("table.concat of 1M", "local t = {} for i = 1, 1000000 do t[i] = 'abcdefgh' end return #table.concat(t)"),
    ];
    let worst = slowest_slice(lua_cases.into_iter().map(|(name, body)| {
        let p = lua_host.load_lua("case", &format!("function run() {body} end"));
        (name, p.unwrap())
    }));
    rows.push((
        "G7".into(),
        "longest Lua step (one slice), hostile corpus".into(),
        format!("{:.1} ms, {} (goal ≤ 50 ms)", ms(worst.0), worst.1),
    ));

    // G14: hostile encodings.
    // A recursive type 10,000 deep: tag 1 (`Node`) 10,000 times, then tag 0 (`Leaf`).
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    enum Tree {
        Leaf,
        Node(Box<Tree>),
    }
    let mut deep: Vec<u8> = std::iter::repeat_n(1u32.to_le_bytes(), 10_000)
        .flatten()
        .collect();
    deep.extend(0u32.to_le_bytes());
    let t = Instant::now();
    for _ in 0..100 {
        let e = plugboard_host_core::decode::<Tree>(&deep).err().unwrap();
        assert!(
            matches!(
                e.kind(),
                plugboard_host_core::ErrorKind::Decode(
                    plugboard_host_core::DecodeError::DepthLimit { .. }
                )
            ),
            "{e:?}"
        );
    }
    let bincode = t.elapsed() / 100;
    let json = "[".repeat(100_000);
    let t = Instant::now();
    for _ in 0..100 {
        assert!(plugboard_host_core::Value::from_json(&json).is_err());
    }
    let json_t = t.elapsed() / 100;
    rows.push((
        "G14".into(),
        "depth-10k bincode / depth-100k JSON rejected".into(),
        format!("{:.1} / {:.1} µs (goal < 1 ms)", us(bincode), us(json_t)),
    ));

    // G15: module rejection.
    let mut bomb = b"\0asm\x01\0\0\0\x01\x04\x01\x60\0\0".to_vec();
    let n: u32 = 60_000;
    let mut funcs = vec![0xe0, 0xd4, 0x03];
    funcs.extend(std::iter::repeat_n(0u8, n as usize));
    bomb.push(3);
    let mut len = Vec::new();
    let mut x = funcs.len() as u64;
    loop {
        let b = (x & 0x7f) as u8;
        x >>= 7;
        if x == 0 {
            len.push(b);
            break;
        }
        len.push(b | 0x80);
    }
    bomb.extend(len);
    bomb.extend(funcs);
    let t = Instant::now();
    assert!(host.load_wasm(&bomb).is_err());
    let bomb_t = t.elapsed();
    let mut garbage = b"\0asm\x01\0\0\0".to_vec();
    garbage.extend((0..4u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let t = Instant::now();
    assert!(host.load_wasm(&garbage).is_err());
    let garbage_t = t.elapsed();
    rows.push((
        "G15".into(),
        "60k-function bomb rejected / 4 MiB of garbage rejected".into(),
        format!(
            "{:.3} ms / {:.3} ms per MiB (goals < 1 ms, ≤ 10 ms/MiB)",
            ms(bomb_t),
            ms(garbage_t) / 4.0
        ),
    ));

    // G16: trap → error.
    let mut trap = host
        .load_wasm(&buffer(
            r#"(func (export "__run") (param i64) (result i64) (unreachable))"#,
        ))
        .unwrap();
    let mut v = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        assert!(trap.call_bytes("run", Vec::new()).is_err());
        v.push(t.elapsed());
    }
    rows.push((
        "G16".into(),
        "a plugin that traps at once: call → `Trap` error (p99 of 200)".into(),
        format!("{:.1} µs (goal ≤ 1 ms)", us(percentile(v, 0.99))),
    ));

    let mut table = String::from("| goal | measured | result |\n|---|---|---|\n");
    for (g, what, result) in &rows {
        table.push_str(&format!("| {g} | {what} | {result} |\n"));
    }
    println!("{table}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("reliability.md"), table);
}
