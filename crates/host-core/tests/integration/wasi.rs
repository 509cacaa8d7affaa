//! WASI preview 1 in memory, through Rust std in a real plugin: files on a preopened directory
//! shared with the embedder, clocks, args, environment, randomness, stdin and exit.

use crate::common::assert_kind;
use plugboard_host_core::{ErrorKind, Host, MemFs, PluginOptions, WasiConfig};

fn probe(wasi: WasiConfig) -> plugboard_host_core::Plugin {
    let h = Host::builder().wasi(wasi).build();
    h.load_wasm(plugboard_fixtures::WASI_PROBE).unwrap()
}

#[test]
fn std_fs_on_a_preopen_is_shared_with_the_embedder() {
    let fs = MemFs::new();
    fs.write_file("in/hello.txt", b"from the host").unwrap();
    let mut p = probe(WasiConfig::new().preopen("/data", fs.clone()));
    assert_eq!(
        p.call::<str, Result<String, String>>("read_file", "/data/in/hello.txt")
            .unwrap(),
        Ok("from the host".into())
    );
    p.call::<(&str, &str), Result<(), String>>(
        "write_file",
        &("/data/out/a/b.txt", "from the plugin"),
    )
    .unwrap()
    .unwrap();
    assert_eq!(fs.read_file("out/a/b.txt").unwrap(), b"from the plugin");
    assert_eq!(
        p.call::<(&str, &str), Result<u64, String>>("append_file", &("/data/out/a/b.txt", "!"))
            .unwrap(),
        Ok(16)
    );
    assert_eq!(
        p.call::<str, Result<Vec<String>, String>>("list_dir", "/data")
            .unwrap(),
        Ok(vec!["in".into(), "out".into()])
    );
    p.call::<str, Result<(), String>>("remove", "/data/in/hello.txt")
        .unwrap()
        .unwrap();
    assert_eq!(fs.read_file("in/hello.txt"), None);
}

#[test]
fn paths_outside_the_preopen_are_refused() {
    let fs = MemFs::new();
    let mut p = probe(WasiConfig::new().preopen("/data", fs));
    for path in [
        "/etc/passwd",
        "/data/../etc/passwd",
        "relative.txt",
        "/data/missing.txt",
    ] {
        let r = p
            .call::<str, Result<String, String>>("read_file", path)
            .unwrap();
        assert!(r.is_err(), "{path}: {r:?}");
    }
}

#[test]
fn clock_args_env_stdin_and_random() {
    let wasi = WasiConfig::new()
        .args(&["probe", "--flag"])
        .env("GREETING", "hi")
        .stdin(b"piped input")
        .clock(|| 1_700_000_000_000_000_000)
        .random_seed(42);
    let mut p = probe(wasi);
    assert_eq!(p.call::<(), u64>("now_secs", &()).unwrap(), 1_700_000_000);
    assert_eq!(
        p.call::<(), Vec<String>>("args", &()).unwrap(),
        vec!["probe", "--flag"]
    );
    assert_eq!(
        p.call::<str, Option<String>>("env", "GREETING").unwrap(),
        Some("hi".into())
    );
    assert_eq!(p.call::<str, Option<String>>("env", "PATH").unwrap(), None);
    assert_eq!(p.call::<u32, usize>("random_map_len", &100).unwrap(), 100);
    assert_eq!(
        p.call::<(), String>("read_stdin", &()).unwrap(),
        "piped input"
    );
}

#[test]
fn native_default_clock_is_the_system_clock() {
    let mut p = probe(WasiConfig::new());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let secs = p.call::<(), u64>("now_secs", &()).unwrap();
    assert!(secs.abs_diff(now) < 5);
}

#[test]
fn proc_exit_is_an_exit_error() {
    let mut p = probe(WasiConfig::new());
    assert_kind(p.call::<i32, ()>("exit", &3), |k| {
        matches!(k, ErrorKind::Exit { status: 3 })
    });
    assert_eq!(
        p.call::<(), Vec<String>>("args", &()).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn per_plugin_wasi_config() {
    let h = Host::builder().build();
    let mut p = h
        .load_wasm_with(
            plugboard_fixtures::WASI_PROBE,
            PluginOptions::named("x").with_wasi(WasiConfig::new().args(&["x"])),
        )
        .unwrap();
    assert_eq!(p.call::<(), Vec<String>>("args", &()).unwrap(), vec!["x"]);
}
