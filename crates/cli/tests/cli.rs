//! The `plugboard` binary as a user runs it: results on stdout, errors on stderr, exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// Writes the fixture to a file of its own: tests run in parallel, and a shared path would let
/// one test read a file another is still writing.
fn plugin(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let (_, bytes) = plugboard_fixtures::ALL
        .iter()
        .find(|(n, _)| *n == name)
        .expect("fixture exists");
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("plugboard-cli-test-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn plugboard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(args)
        .output()
        .expect("run plugboard")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts the exit code and that stderr mentions `needle`, showing stderr otherwise.
#[track_caller]
fn assert_fails(out: &Output, code: i32, needle: &str) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(needle), "expected `{needle}` in: {stderr}");
}

#[test]
fn call_double_prints_json() {
    let p = plugin("double");
    let out = plugboard(&["call", p.to_str().unwrap(), "double", "[1.5, 2.5]"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "[3.0,5.0]\n");
}

#[test]
fn call_with_several_arguments_and_none() {
    let p = plugin("conformance");
    // conformance imports host functions the CLI does not provide: it loads, `add` (which
    // needs none) works, and `and_back` (which calls one) fails when it reaches it.
    let out = plugboard(&["call", p.to_str().unwrap(), "add", "[3, 4]"]);
    assert_eq!(text(&out.stdout), "7\n", "{}", text(&out.stderr));
    let out = plugboard(&["call", p.to_str().unwrap(), "and_back", "1"]);
    assert_fails(&out, 1, "not provided by this host");

    let p = plugin("double");
    let out = plugboard(&["call", p.to_str().unwrap(), "stats", "[1, 2, 6]"]);
    assert_eq!(
        text(&out.stdout),
        "[1.0,6.0,3.0]\n",
        "{}",
        text(&out.stderr)
    );
    let out = plugboard(&["call", p.to_str().unwrap(), "greet", "\"Ada\""]);
    assert_eq!(text(&out.stdout), "\"Hello, Ada!\"\n");
}

#[test]
fn perf_loop_with_timing() {
    let p = plugin("perf");
    let out = plugboard(&["call", p.to_str().unwrap(), "sum", "3000000", "--time"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "4500001500000\n");
    assert!(text(&out.stderr).contains("fuel:"), "{}", text(&out.stderr));
}

#[test]
fn out_of_fuel_is_exit_1_with_kind() {
    let p = plugin("perf");
    let out = plugboard(&[
        "call",
        p.to_str().unwrap(),
        "sum",
        "3000000",
        "--fuel",
        "1000",
    ]);
    assert_fails(&out, 1, "[outOfFuel]");
}

#[test]
fn memory_limit_is_exit_1() {
    let p = plugin("wasi_probe");
    let out = plugboard(&["call", p.to_str().unwrap(), "grow", "8", "--memory", "4M"]);
    assert_fails(&out, 1, "[memoryLimit]");
}

#[test]
fn guest_panic_shows_its_message() {
    let p = plugin("wasi_probe");
    let out = plugboard(&["call", p.to_str().unwrap(), "boom", "\"cli\""]);
    assert_fails(&out, 1, "boom: cli");
}

#[test]
fn usage_errors_are_exit_2() {
    let p = plugin("double");
    let p = p.to_str().unwrap();
    for args in [
        vec!["call", p, "double", "not json"],
        vec!["call", p, "double", "\"a string\""],
        vec!["call", p, "missing", "1"],
        vec!["call", p, "double", "[1]", "--memory", "lots"],
    ] {
        let out = plugboard(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(text(&out.stderr).contains("error"), "{args:?}");
    }
}

#[test]
fn unreadable_and_invalid_files() {
    let out = plugboard(&["call", "/nonexistent/x.wasm", "f"]);
    assert_eq!(out.status.code(), Some(4));
    let bad = std::env::temp_dir().join(format!("plugboard-bad-{}.wasm", std::process::id()));
    std::fs::write(&bad, b"not wasm").unwrap();
    let out = plugboard(&["inspect", bad.to_str().unwrap()]);
    assert_fails(&out, 3, "[invalidModule]");
}

#[test]
fn inspect_lists_abi_exports_and_imports() {
    let p = plugin("double");
    let out = plugboard(&["inspect", p.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(
        s.starts_with("abi: buffer (exports `__alloc_buffer` and `__free_buffer`)\n"),
        "{s}"
    );
    assert!(s.contains("  double(Vec<f64>) -> Vec<f64>"), "{s}");
    assert!(s.contains("wasi_snapshot_preview1.fd_write"), "{s}");
    let out = plugboard(&["inspect", p.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["abi"], "buffer");
    assert!(v["exports"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "stats"));
}

#[test]
fn inspect_names_the_abi_of_every_fixture() {
    let interface = std::env::temp_dir().join(format!("plugboard-idl-{}.d.ts", std::process::id()));
    std::fs::write(&interface, plugboard_fixtures::IDL_CORE_INTERFACE).unwrap();
    let expected = [
        ("conformance", "buffer"),
        ("double", "buffer"),
        ("perf", "buffer"),
        ("wasi_probe", "buffer"),
        ("stress", "buffer"),
        ("fixed_demo", "fixed"),
        ("extism_kitchen", "kernel"),
        ("extism_wasi", "kernel"),
        ("idl_core", "idl"),
        ("zig_nvim_examples", "nvim"),
        ("zig_perf", "nvim"),
    ];
    let names: Vec<&str> = plugboard_fixtures::ALL.iter().map(|(n, _)| *n).collect();
    for name in &names {
        assert!(
            expected.iter().any(|(n, _)| n == name),
            "fixture `{name}` has no expected ABI here"
        );
    }
    for (name, abi) in expected {
        let p = plugin(name);
        let mut args = vec!["inspect", p.to_str().unwrap()];
        if abi == "idl" {
            args.extend(["--interface", interface.to_str().unwrap()]);
        }
        let out = plugboard(&args);
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        let s = text(&out.stdout);
        assert!(s.starts_with(&format!("abi: {abi} (")), "{name}: {s}");
    }
}

#[test]
fn nvim_plugin_called_with_json() {
    let p = plugin("zig_perf");
    let out = plugboard(&["call", p.to_str().unwrap(), "for_loop", "1000"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "500500\n");
    let p = plugin("zig_nvim_examples");
    let out = plugboard(&["call", p.to_str().unwrap(), "echo", r#"{"a":[1,null]}"#]);
    assert_eq!(text(&out.stdout), "{\"a\":[1,null]}\n");
    let out = plugboard(&["call", p.to_str().unwrap(), "echo", "[1,"]);
    assert_fails(&out, 2, "ARGS");
    let out = plugboard(&["call", p.to_str().unwrap(), "luaExecExample"]);
    assert_fails(&out, 1, "lua");
    let vm = std::env::temp_dir().join(format!("plugboard-vm-{}.lua", std::process::id()));
    std::fs::write(&vm, "function greet(who) return 'hi ' .. who end").unwrap();
    let out = plugboard(&[
        "call",
        p.to_str().unwrap(),
        "luaEvalExample",
        "--lua-vm",
        vm.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "{\"number\":42,\"greeting\":\"hi zig\"}\n"
    );
    let out = plugboard(&[
        "call",
        p.to_str().unwrap(),
        "echo",
        "1",
        "--lua-vm",
        p.to_str().unwrap(),
    ]);
    assert_fails(&out, 2, "not a Lua plugin");
}

#[test]
fn inspect_works_without_the_host_functions() {
    let p = plugin("conformance");
    let out = plugboard(&["inspect", p.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(
        s.contains("env.__mystery_number (i64) -> (i64)  (u32) -> u32  (host-provided"),
        "{s}"
    );
    assert!(s.contains("  half_async(u32) -> u32"), "{s}");
}

#[test]
fn extism_plugin_raw_input_and_output() {
    let p = plugin("extism_kitchen");
    let p = p.to_str().unwrap();
    let out = plugboard(&["call", p, "count_vowels", "--input", "hello world"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "{\"count\":3,\"total\":3,\"vowels\":\"aeiouAEIOU\"}\n"
    );
    let out = plugboard(&[
        "call",
        p,
        "count_vowels",
        "hello world",
        "--config",
        "vowels=o",
    ]);
    assert_eq!(
        text(&out.stdout),
        "{\"count\":2,\"total\":2,\"vowels\":\"o\"}\n"
    );
    let out = plugboard(&["call", p, "count_vowels", "a", "--input", "b"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn extism_errors_and_missing_host_functions() {
    let p = plugin("extism_kitchen");
    let p = p.to_str().unwrap();
    let out = plugboard(&["call", p, "fail", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("[callFailed]") && text(&out.stderr).contains("nope"),
        "{}",
        text(&out.stderr)
    );
    // The CLI provides no user host functions: the plugin loads, and calling one fails.
    let out = plugboard(&["call", p, "call_host", "x"]);
    assert_fails(&out, 1, "not provided by this host");
    let out = plugboard(&[
        "call",
        p,
        "fetch",
        "https://example.com",
        "--allow-host",
        "*.example.org",
    ]);
    assert!(
        text(&out.stderr).contains("[capabilityDenied]"),
        "{}",
        text(&out.stderr)
    );
    let out = plugboard(&["call", p, "spin", "--fuel", "100000"]);
    assert!(
        text(&out.stderr).contains("[outOfFuel]"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn extism_logs_by_level() {
    let p = plugin("extism_kitchen");
    let out = plugboard(&[
        "call",
        p.to_str().unwrap(),
        "logs",
        "x",
        "--log-level",
        "warn",
    ]);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stderr),
        "[extism_kitchen] Warn: warn x\n[extism_kitchen] Error: error x\n"
    );
    let out = plugboard(&[
        "call",
        p.to_str().unwrap(),
        "logs",
        "x",
        "--log-level",
        "loud",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn extism_manifest_file() {
    let wasm = plugin("extism_kitchen");
    let dir = wasm.parent().unwrap();
    let manifest = dir.join("kitchen.json");
    std::fs::write(
        &manifest,
        format!(
            r#"{{"wasm":[{{"path":{:?}}}],"config":{{"vowels":"e"}}}}"#,
            wasm.display().to_string()
        ),
    )
    .unwrap();
    let out = plugboard(&[
        "call",
        manifest.to_str().unwrap(),
        "count_vowels",
        "hello there",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "{\"count\":3,\"total\":3,\"vowels\":\"e\"}\n"
    );
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"wasm":[],"nope":1}"#).unwrap();
    let out = plugboard(&["call", bad.to_str().unwrap(), "f"]);
    assert_fails(&out, 3, "[manifest]");
}

#[test]
fn extism_wasi_flag() {
    let p = plugin("extism_wasi");
    let out = plugboard(&["call", p.to_str().unwrap(), "greet", "Ada"]);
    assert_eq!(out.status.code(), Some(3), "WASI is off by default");
    let out = plugboard(&["call", p.to_str().unwrap(), "greet", "Ada", "--wasi"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Hello, Ada!\n");
    assert!(text(&out.stderr).contains("printing to stderr for Ada"));
}

/// A one-shot HTTP server on 127.0.0.1: answers one request with `body`, and hands back the
/// request it received.
fn serve_once(body: &'static str) -> (u16, std::thread::JoinHandle<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        write!(
            conn,
            "HTTP/1.1 201 Created\r\ncontent-length: {}\r\nx-test: yes\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        String::from_utf8_lossy(&request).into_owned()
    });
    (port, handle)
}

#[test]
fn extism_http_requests_go_out_only_to_allowed_hosts() {
    let p = plugin("extism_kitchen");
    let (port, server) = serve_once("hi from the server");
    let url = format!("http://127.0.0.1:{port}/path");
    let out = plugboard(&[
        "call",
        p.to_str().unwrap(),
        "fetch",
        &url,
        "--allow-host",
        "127.0.0.*",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "201 hi from the server\n");
    let request = server.join().unwrap();
    assert!(request.starts_with("GET /path HTTP/1.1"), "{request}");
    assert!(
        request.to_lowercase().contains("x-plugin: kitchen"),
        "{request}"
    );

    // Not allowed: denied before any connection is made.
    let out = plugboard(&["call", p.to_str().unwrap(), "fetch", &url]);
    assert_fails(&out, 1, "capabilityDenied");
    // Allowed but unreachable: the request fails inside the plugin's call.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = plugboard(&[
        "call",
        p.to_str().unwrap(),
        "fetch",
        &format!("http://127.0.0.1:{closed}/"),
        "--allow-host",
        "127.0.0.1",
    ]);
    assert_fails(&out, 1, "error: the call failed");
}

fn interface_file() -> PathBuf {
    let dir = plugin("idl_core");
    let path = dir.with_file_name("interface.d.ts");
    std::fs::write(&path, plugboard_fixtures::IDL_CORE_INTERFACE).unwrap();
    path
}

#[test]
fn idl_plugins_run_with_their_interface() {
    let dts = interface_file();
    let wasm = dts.with_file_name("idl_core.wasm");
    let (w, d) = (wasm.to_str().unwrap(), dts.to_str().unwrap());
    let out = plugboard(&["call", w, "greet", "Ada", "--interface", d]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Hello, Ada!\n");
    // The host functions are stubs in the CLI: calling one fails, naming it.
    let out = plugboard(&["call", w, "mix", "1,2", "--interface", d]);
    assert_fails(&out, 1, "add");
    // Without the interface: a load error that says what is missing.
    let out = plugboard(&["call", w, "greet", "Ada"]);
    assert_fails(&out, 3, "interface.d.ts");

    let out = plugboard(&["inspect", w, "--interface", d]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("abi: idl (a JS-PDK core module"),
        "{stdout}"
    );
    assert!(stdout.contains("  greet(bytes) -> bytes\n"), "{stdout}");
}

#[test]
fn idl_checks_the_interface_and_writes_typescript() {
    let dts = interface_file();
    let d = dts.to_str().unwrap();
    let out = plugboard(&["idl", d]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("  0: fail() -> I32\n"), "{stdout}");
    assert!(
        stdout.contains("  1: scale(x: F64, factor: F32) -> F64\n"),
        "{stdout}"
    );
    let out = plugboard(&["idl", d, "--ts"]);
    let ts = text(&out.stdout);
    assert!(ts.contains("export interface HostFunctions {"), "{ts}");
    assert!(ts.contains("  tick(): void | Promise<void>;"), "{ts}");

    let bad = dts.with_file_name("bad.d.ts");
    std::fs::write(
        &bad,
        "declare module 'main' {\n  export function f(): STRING;\n}\n",
    )
    .unwrap();
    let out = plugboard(&["idl", bad.to_str().unwrap()]);
    assert_fails(&out, 3, "interface.d.ts:2:24: unsupported type `STRING`");
}

fn lua_dir(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/lua")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn lua_runs_the_jetson_example_exactly() {
    let out = plugboard(&["lua", &lua_dir("")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut expected = String::from("[jetson] hello!\n[jetson] Some math: 10\n");
    for i in 1..=6 {
        expected.push_str(&format!("[jetson] inside a loop y'all: {i}\n"));
    }
    expected.push_str("[jetson] Bye bye now\n");
    assert_eq!(text(&out.stdout), expected);
}

#[test]
fn lua_plugins_are_callable_with_json() {
    let dir = lua_dir("report");
    let out = plugboard(&["call", &dir, "title", "\"hello wORLD\""]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "\"Hello World\"\n");
    // No such function: a usage error, as for every ABI.
    let out = plugboard(&["call", &dir, "nope"]);
    assert_fails(&out, 2, "no function `nope` (exports: report, title)");
    let out = plugboard(&["call", &dir, "title", "{not json"]);
    assert_fails(&out, 2, "ARGS");
}

#[test]
fn lua_folder_with_a_broken_plugin_reports_it() {
    let dir = std::env::temp_dir().join(format!("plugboard-cli-lua-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("good")).unwrap();
    std::fs::create_dir_all(dir.join("bad")).unwrap();
    std::fs::write(
        dir.join("good/main.lua"),
        "function init() sys.print('good ', 1) end",
    )
    .unwrap();
    std::fs::write(dir.join("bad/main.lua"), "function init( end").unwrap();
    let out = plugboard(&["lua", dir.to_str().unwrap()]);
    // The others still run; the exit code is the load error's, as `call`'s is.
    assert_eq!(text(&out.stdout), "[good] good 1\n");
    assert_fails(&out, 3, "plugin `bad` did not load [luaSyntax]");
}

#[test]
fn fixed_abi_plugins_take_types_from_sig() {
    let p = plugin("fixed_demo");
    let p = p.to_str().unwrap();
    let out = plugboard(&["call", p, "double", "21", "--sig", "(u32) -> u32"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "42\n");
    let out = plugboard(&[
        "call",
        p,
        "interact",
        r#"[1, "a", [7]]"#,
        "--sig",
        "((u32, String, Vec<u8>)) -> (u32, String, Vec<u8>)",
    ]);
    assert_eq!(
        text(&out.stdout),
        "[2,\"a!\",[7,1]]\n",
        "{}",
        text(&out.stderr)
    );
    let out = plugboard(&["call", p, "double", "21"]);
    assert_fails(&out, 2, "--sig");
    let out = plugboard(&["inspect", p]);
    assert!(
        text(&out.stdout).starts_with("abi: fixed (exports `_calls`, `_double`, `_greet`, `_interact` of type (i32, i32) -> (i32) and memory, imports "),
        "{}",
        text(&out.stdout)
    );
}

fn host_file(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/host")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn lua_host_functions_serve_a_buffer_abi_plugin() {
    let p = plugin("conformance");
    let p = p.to_str().unwrap();
    let host = host_file("buffer.lua");
    for (function, args, expected) in [
        ("and_back", "21", "42\n"),
        // identity(5), then swap(5, 7) = (7, 5): 12.
        ("imports", "5", "12\n"),
        ("half_async", "11", "5\n"),
        ("echo_async", "\"hi\"", "\"ran hi\"\n"),
        ("echo_async", "\"\"", "\"\"\n"),
    ] {
        let out = plugboard(&["call", p, function, args, "--host", &host]);
        assert!(out.status.success(), "{function}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), expected, "{function}");
    }
    // Without --host, the same call reaches a stub.
    let out = plugboard(&["call", p, "and_back", "21"]);
    assert_fails(&out, 1, "not provided by this host");
}

#[test]
fn lua_host_functions_serve_an_extism_plugin() {
    let p = plugin("extism_kitchen");
    let out = plugboard(&[
        "call",
        p.to_str().unwrap(),
        "call_host",
        "hey",
        "--host",
        &host_file("extism.lua"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "HEY! 5\n");
}

#[test]
fn lua_host_functions_serve_an_nvim_plugin() {
    let p = plugin("zig_nvim_examples");
    let p = p.to_str().unwrap();
    let out = plugboard(&[
        "call",
        p,
        "hostAdd",
        "[2, 3]",
        "--host",
        &host_file("nvim.lua"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "5\n");
    // An error in the Lua function fails the call, with its message and place.
    let out = plugboard(&[
        "call",
        p,
        "hostAdd",
        "[2, 3]",
        "--host",
        &host_file("failing.lua"),
    ]);
    assert_fails(&out, 1, "failing.lua:1: cannot add 2 and 3");
    assert!(
        text(&out.stderr).contains("[hostFunction]"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn lua_host_tables_are_namespaces() {
    let out = plugboard(&[
        "call",
        &host_file("user.lua"),
        "run",
        r#"["k", "v"]"#,
        "--host",
        &host_file("stash.lua"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        r#"{"got":"v","joined":"k+v"}"#.to_owned() + "\n"
    );
}

#[test]
fn bad_host_files_have_their_exit_codes() {
    let p = plugin("zig_nvim_examples");
    let p = p.to_str().unwrap();
    let dir = std::env::temp_dir().join(format!("plugboard-cli-host-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let syntax = dir.join("syntax.lua");
    std::fs::write(&syntax, "function add( end").unwrap();
    let out = plugboard(&[
        "call",
        p,
        "hostAdd",
        "[1, 2]",
        "--host",
        syntax.to_str().unwrap(),
    ]);
    assert_fails(&out, 3, "cannot load --host");
    assert!(
        text(&out.stderr).contains("[luaSyntax]"),
        "{}",
        text(&out.stderr)
    );
    let nothing = dir.join("nothing.lua");
    std::fs::write(&nothing, "x = 1\nt = { 1, 2 }").unwrap();
    let out = plugboard(&[
        "call",
        p,
        "hostAdd",
        "[1, 2]",
        "--host",
        nothing.to_str().unwrap(),
    ]);
    assert_fails(&out, 2, "defines no global function");
    let raises = dir.join("raises.lua");
    std::fs::write(&raises, "error('not today')").unwrap();
    let out = plugboard(&[
        "call",
        p,
        "hostAdd",
        "[1, 2]",
        "--host",
        raises.to_str().unwrap(),
    ]);
    assert_fails(&out, 3, "not today");
    let missing = dir.join("missing.lua");
    let out = plugboard(&[
        "call",
        p,
        "hostAdd",
        "[1, 2]",
        "--host",
        missing.to_str().unwrap(),
    ]);
    assert_fails(&out, 4, "cannot read");
}

#[test]
fn one_exit_code_table_for_every_subcommand() {
    let dir = std::env::temp_dir().join(format!("plugboard-cli-codes-{}", std::process::id()));
    // A folder whose only plugin does not load: 3, as `call` of that plugin is.
    std::fs::create_dir_all(dir.join("only/broken")).unwrap();
    std::fs::write(dir.join("only/broken/main.lua"), "function init( end").unwrap();
    let out = plugboard(&["lua", dir.join("only").to_str().unwrap()]);
    assert_fails(&out, 3, "plugin `broken` did not load [luaSyntax]");
    let out = plugboard(&["call", dir.join("only/broken").to_str().unwrap(), "init"]);
    assert_fails(&out, 3, "[luaSyntax]");
    // A folder that cannot be read: 4, as a file that cannot be read.
    let out = plugboard(&["lua", dir.join("absent").to_str().unwrap()]);
    assert_fails(&out, 4, "cannot read");
    let out = plugboard(&["inspect", dir.join("absent.wasm").to_str().unwrap()]);
    assert_fails(&out, 4, "cannot read");
    let out = plugboard(&["idl", dir.join("absent.d.ts").to_str().unwrap()]);
    assert_fails(&out, 4, "cannot read");
    // No plugin at all: a usage error.
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    let out = plugboard(&["lua", dir.join("empty").to_str().unwrap()]);
    assert_fails(&out, 2, "no Lua plugin");
    // A lifecycle call that fails: 1.
    std::fs::create_dir_all(dir.join("fails/boom")).unwrap();
    std::fs::write(
        dir.join("fails/boom/main.lua"),
        "function init() error('boom') end",
    )
    .unwrap();
    let out = plugboard(&["lua", dir.join("fails").to_str().unwrap()]);
    assert_fails(&out, 1, "boom");
    // No such function: 2 for every ABI.
    for name in ["double", "extism_kitchen", "zig_nvim_examples"] {
        let p = plugin(name);
        let out = plugboard(&["call", p.to_str().unwrap(), "nope"]);
        assert_fails(&out, 2, "no function `nope`");
    }
    // The table is in every subcommand's help.
    for sub in ["call", "inspect", "lua", "idl"] {
        let out = plugboard(&[sub, "--help"]);
        let help = text(&out.stdout);
        assert!(
            help.contains("Exit codes (every subcommand):"),
            "{sub}: {help}"
        );
        assert!(
            help.contains("  3  a plugin could not be loaded"),
            "{sub}: {help}"
        );
    }
}

#[test]
fn time_is_printed_for_failed_calls_too() {
    let p = plugin("perf");
    let out = plugboard(&[
        "call",
        p.to_str().unwrap(),
        "sum",
        "3000000",
        "--fuel",
        "1000",
        "--time",
    ]);
    assert_fails(&out, 1, "[outOfFuel]");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("time: ") && stderr.contains(" ms, fuel: "),
        "{stderr}"
    );
    let p = plugin("extism_kitchen");
    let out = plugboard(&["call", p.to_str().unwrap(), "fail", "nope", "--time"]);
    assert_fails(&out, 1, "nope");
    assert!(
        text(&out.stderr).contains(" ms, fuel: "),
        "{}",
        text(&out.stderr)
    );
}

fn types_file(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/types")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn sig_takes_named_structs_and_enums() {
    let p = plugin("fixed_demo");
    let p = p.to_str().unwrap();
    // The plugin's own struct, pasted into a --types file: a JSON object by field name.
    let things = types_file("thing.types");
    let out = plugboard(&[
        "call",
        p,
        "interact",
        r#"{"one": 1, "two": "a", "three": [7]}"#,
        "--types",
        &things,
        "--sig",
        "(Thing) -> Thing",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "{\"one\":2,\"two\":\"a!\",\"three\":[7,1]}\n"
    );
    // Inline, a tuple struct: a JSON array.
    let out = plugboard(&[
        "call",
        p,
        "interact",
        r#"[1, "b", []]"#,
        "--sig",
        "struct T(u32, String, Vec<u8>); (T) -> T",
    ]);
    assert_eq!(
        text(&out.stdout),
        "[2,\"b!\",[0]]\n",
        "{}",
        text(&out.stderr)
    );
    // An enum is a u32 variant index on the wire: `double` of variant 2 is variant 4.
    let out = plugboard(&[
        "call",
        p,
        "double",
        "\"C\"",
        "--sig",
        "enum L { A, B, C, D, E } (L) -> L",
    ]);
    assert_eq!(text(&out.stdout), "\"E\"\n", "{}", text(&out.stderr));
    // What does not fit the declaration is a usage error naming the problem.
    let out = plugboard(&[
        "call",
        p,
        "interact",
        r#"{"one": 1, "two": "a"}"#,
        "--types",
        &things,
        "--sig",
        "(Thing) -> Thing",
    ]);
    assert_fails(&out, 2, "missing field `three`");
    let out = plugboard(&[
        "call",
        p,
        "double",
        "\"Z\"",
        "--sig",
        "enum L { A, B } (L) -> L",
    ]);
    assert_fails(&out, 2, "no variant `Z` (variants: A, B)");
    // A name nothing declares is still an error that says how to declare it.
    let out = plugboard(&["call", p, "interact", "{}", "--sig", "(Thing) -> Thing"]);
    assert_fails(&out, 2, "declare it");
    // Malformed or missing declarations.
    let bad = std::env::temp_dir().join(format!("plugboard-types-{}.types", std::process::id()));
    std::fs::write(&bad, "struct A { b: B }\nstruct B { a: A }").unwrap();
    let out = plugboard(&[
        "call",
        p,
        "double",
        "1",
        "--types",
        bad.to_str().unwrap(),
        "--sig",
        "(A)",
    ]);
    assert_fails(&out, 2, "recursive");
    let out = plugboard(&[
        "call",
        p,
        "double",
        "1",
        "--types",
        "/nonexistent.types",
        "--sig",
        "(u32)",
    ]);
    assert_fails(&out, 4, "cannot read");
}
