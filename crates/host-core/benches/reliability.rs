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
//! Every row carries its goal and the verdict computed in this run. Each hostile case must end
//! the way its catalogue entry says (the kind is checked, not ignored).
//!
//! `cargo bench -p plugboard-host-core --bench reliability` (bench/run.sh runs it) writes the
//! table into RELIABILITY.md between its markers. `cargo test --benches` runs the same cases
//! once in a debug build to check their outcomes; it judges no timing and writes nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use plugboard_host_core::{Error, ErrorKind, Host, Limits, Step};
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

/// How a hostile case must end.
#[derive(Clone, Copy, Debug)]
enum Ends {
    /// It returns.
    Done,
    OutOfFuel,
    MemoryLimit,
    /// A Lua error whose message contains this.
    LuaError(&'static str),
}

impl Ends {
    fn check(self, case: &str, outcome: &Result<(), Error>) {
        let ok = match (self, outcome) {
            (Ends::Done, Ok(())) => true,
            (Ends::OutOfFuel, Err(e)) => e.is_out_of_fuel(),
            (Ends::MemoryLimit, Err(e)) => matches!(e.kind(), ErrorKind::MemoryLimit { .. }),
            (Ends::LuaError(text), Err(e)) => {
                matches!(e.kind(), ErrorKind::LuaError { message, .. } if message.contains(text))
            }
            _ => false,
        };
        assert!(
            ok,
            "{case}: expected to end as {self:?}, ended as {outcome:?}"
        );
    }
}

/// Time of each `resume` of a call driven to its end, and how it ended.
fn slices(
    p: &mut plugboard_host_core::Plugin,
    name: &str,
    input: Vec<u8>,
) -> (Vec<Duration>, Result<(), Error>) {
    let mut out = Vec::new();
    if let Err(e) = p.start_call(name, input) {
        return (out, Err(e));
    }
    loop {
        let t = Instant::now();
        let step = p.resume();
        out.push(t.elapsed());
        match step {
            Ok(Step::Yielded) => continue,
            Ok(Step::Pending(_)) => panic!("no async host functions here"),
            Ok(Step::Done(_)) => return (out, Ok(())),
            Err(e) => return (out, Err(e)),
        }
    }
}

/// G7's row: the slowest single slice of `run` over the cases, and the case it was in; each case's
/// outcome is checked against what it must end as.
fn slowest_slice<'a>(
    what: &str,
    cases: impl Iterator<Item = (&'a str, Ends, plugboard_host_core::Plugin)>,
) -> Row {
    let mut worst = (Duration::ZERO, "");
    for (name, ends, mut p) in cases {
        let (times, outcome) = slices(&mut p, "run", Vec::new());
        ends.check(name, &outcome);
        let max = times.into_iter().max().unwrap_or_default();
        if max > worst.0 {
            worst = (max, name);
        }
    }
    row(
        "G7",
        what,
        format!("{:.1} ms, {}", ms(worst.0), worst.1),
        "≤ 50 ms",
        worst.0 <= Duration::from_millis(50),
    )
}

/// A row of the table: what was measured, the figure, the goal, and whether it was met.
struct Row {
    goal: &'static str,
    what: String,
    measured: String,
    target: String,
    met: bool,
}

fn row(goal: &'static str, what: &str, measured: String, target: &str, met: bool) -> Row {
    Row {
        goal,
        what: what.to_owned(),
        measured,
        target: target.to_owned(),
        met,
    }
}

const START: &str =
    "<!-- reliability bench: start (written by crates/host-core/benches/reliability.rs) -->";
const END: &str = "<!-- reliability bench: end -->";

/// Replaces what lies between the markers of RELIABILITY.md with `table`.
fn write_into_reliability_md(table: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../RELIABILITY.md");
    let text = std::fs::read_to_string(&path).expect("RELIABILITY.md is readable");
    let (Some(a), Some(b)) = (text.find(START), text.find(END)) else {
        panic!("RELIABILITY.md lacks the markers {START} … {END}");
    };
    let updated = format!("{}{START}\n{table}{}", &text[..a], &text[b..]);
    std::fs::write(&path, updated).expect("RELIABILITY.md is writable");
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
    let mut rows: Vec<Row> = Vec::new();
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
    for (what, times) in [
        (
            "wasm `loop br 0`, 10 M fuel → OutOfFuel (p50 / p99 of 30)",
            w,
        ),
        (
            "Lua `while true do end`, 2 M fuel → OutOfFuel (p50 / p99 of 30)",
            l,
        ),
    ] {
        let p99 = percentile(times.clone(), 0.99);
        rows.push(row(
            "G5",
            what,
            format!("{:.1} / {:.1} ms", ms(percentile(times, 0.5)), ms(p99)),
            "p99 ≤ 100 ms",
            p99 <= Duration::from_millis(100),
        ));
    }

    // G7: the longest slice over the hostile corpus.
    let wasm_cases: [(&str, Ends, String); 4] = [
        ("RES-01 infinite loop", Ends::OutOfFuel, r#"(func (export "__run") (param i64) (result i64) (loop $l (br $l)) (i64.const 0))"#.into()),
        ("RES-07 memory.fill 64 KiB in a loop", Ends::OutOfFuel, r#"(func (export "__run") (param i64) (result i64) (loop $l (memory.fill (i32.const 0) (i32.const 1) (i32.const 65536)) (br $l)) (i64.const 0))"#.into()),
        // The 50 KiB string lies at 12288, above where the bump allocator's 4-byte replies
        // reach within the budget (about 1,600 calls from 1024).
        ("RES-10 host call with 50 KiB in a loop", Ends::OutOfFuel, r#"(func (export "__run") (param i64) (result i64) (i64.store (i32.const 12288) (i64.const 50000)) (loop $l (drop (call $log (i64.or (i64.shl (i64.const 12288) (i64.const 32)) (i64.const 50008)))) (br $l)) (i64.const 0))"#.into()),
        ("RES-05 memory.grow to the cap", Ends::Done, r#"(func (export "__run") (param i64) (result i64) (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) (i64.const 0))"#.into()),
    ];
    rows.push(slowest_slice(
        "longest wasm slice (1 M fuel), hostile corpus",
        wasm_cases
            .iter()
            .map(|(name, ends, body)| (*name, *ends, host.load_wasm(&buffer(body)).unwrap())),
    ));
    let lua_cases = [
        ("LUA-R1 infinite loop", Ends::OutOfFuel, "while true do end"),
        ("LUA-R2 pcall(error) loop", Ends::OutOfFuel, "while true do pcall(error, 'x') end"),
        ("LUA-R3 __index loop", Ends::LuaError("stack overflow"), "local t = setmetatable({}, {}) getmetatable(t).__index = function(t, k) return t[k] end return t.x"),
        ("LUA-R4 unbounded recursion", Ends::LuaError("stack overflow"), "local function f(n) return f(n + 1) + 1 end return f(0)"),
        ("LUA-R5 table growth", Ends::OutOfFuel, "local t = {} local i = 0 while true do i = i + 1 t[i] = i end"),
        ("LUA-R6 s = s .. s", Ends::MemoryLimit, "local s = 'x' for i = 1, 40 do s = s .. s end return #s"),
        ("LUA-R7 table.unpack({}, 1, 1e8)", Ends::LuaError("too many results"), "return table.unpack({}, 1, 1e8)"),
        ("LUA-R8 string.upper on 4 MiB", Ends::MemoryLimit, "local s = string.rep('a', 4 * 1024 * 1024) while true do s = string.upper(s) end"),
        ("LUA-R8 string.reverse on 4 MiB", Ends::MemoryLimit, "local s = string.rep('a', 4 * 1024 * 1024) while true do s = string.reverse(s) end"),
        ("LUA-R9 coroutine bomb", Ends::MemoryLimit, "local t = {} while true do t[#t + 1] = coroutine.create(function() end) end"),
        ("string.rep 16 MiB", Ends::MemoryLimit, "local s = string.rep('ab', 8 * 1024 * 1024) return #s"),
        ("table.concat of 300k", Ends::Done, "local t = {} for i = 1, 300000 do t[i] = 'abcdefgh' end return #table.concat(t)"),
    ];
    rows.push(slowest_slice(
        "longest Lua step (one slice), hostile corpus",
        lua_cases.into_iter().map(|(name, ends, body)| {
            let p = lua_host.load_lua("case", &format!("function run() {body} end"));
            (name, ends, p.unwrap())
        }),
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
    rows.push(row(
        "G14",
        "depth-10k bincode / depth-100k JSON rejected",
        format!("{:.1} / {:.1} µs", us(bincode), us(json_t)),
        "< 1 ms each",
        bincode.max(json_t) < Duration::from_millis(1),
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
    rows.push(row(
        "G15",
        "60k-function bomb rejected / 4 MiB of garbage rejected",
        format!(
            "{:.3} ms / {:.3} ms per MiB",
            ms(bomb_t),
            ms(garbage_t) / 4.0
        ),
        "< 1 ms / ≤ 10 ms per MiB",
        bomb_t < Duration::from_millis(1) && ms(garbage_t) / 4.0 <= 10.0,
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
    let p99 = percentile(v, 0.99);
    rows.push(row(
        "G16",
        "a plugin that traps at once: call → `Trap` error (p99 of 200)",
        format!("{:.1} µs", us(p99)),
        "≤ 1 ms",
        p99 <= Duration::from_millis(1),
    ));

    // `cargo bench` passes --bench; `cargo test --benches` does not: a debug build whose
    // timings mean nothing, run only for the outcome checks above.
    if !std::env::args().any(|a| a == "--bench") {
        println!("reliability: {} rows measured, every case ended as it must (test mode: timings not judged)", rows.len());
        return;
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut table = format!(
        "Measured by `cargo bench -p plugboard-host-core --bench reliability` ({cores} cores, {}), \
         release build; the verdict is computed in the same run.\n\n\
         | id | measured | result | goal | verdict |\n|---|---|---|---|---|\n",
        std::env::consts::ARCH
    );
    for r in &rows {
        let verdict = if r.met { "met" } else { "**missed**" };
        table.push_str(&format!(
            "| {} | {} | {} | {} | {verdict} |\n",
            r.goal, r.what, r.measured, r.target
        ));
    }
    println!("{table}");
    let missed = rows.iter().filter(|r| !r.met).count();
    println!("{} goals met, {missed} missed", rows.len() - missed);
    write_into_reliability_md(&table);
}
