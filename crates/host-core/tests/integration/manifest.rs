//! Extism manifests: sources (data, path, url), hashes, limits, timeouts, multi-module
//! linking, allowed paths; malformed ones are `Manifest` errors.

use crate::common::{assert_kind, canary};
use base64::Engine as _;
use plugboard_host_core::{ErrorKind, Host, HttpRequest, HttpResponse, MemFs};
use sha2::Digest;
use std::collections::BTreeMap;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn host() -> Host {
    host_with(plugboard_host_core::Limits::default())
}

fn host_with(limits: plugboard_host_core::Limits) -> Host {
    Host::builder()
        .limits(limits)
        .func("env", "shout", |s: String| s.to_uppercase())
        .func("env", "add", |v: serde_json::Value| v)
        .http(|req: HttpRequest| async move {
            if req.url.ends_with("/kitchen.wasm") {
                Ok(HttpResponse {
                    status: 200,
                    headers: BTreeMap::new(),
                    body: plugboard_fixtures::EXTISM_KITCHEN.to_vec(),
                })
            } else {
                Ok::<_, String>(HttpResponse {
                    status: 404,
                    headers: BTreeMap::new(),
                    body: Vec::new(),
                })
            }
        })
        .build()
}

fn kitchen_manifest(extra: &str) -> String {
    format!(
        r#"{{"wasm":[{{"data":"{}"}}]{extra}}}"#,
        b64(plugboard_fixtures::EXTISM_KITCHEN)
    )
}

#[test]
fn data_source_with_config_and_vars() {
    let h = host();
    let mut p = h
        .load_manifest(&kitchen_manifest(r#","config":{"vowels":"o"}"#))
        .unwrap();
    let out = p.call_bytes("count_vowels", b"foo bar".to_vec()).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"count":2,"total":2,"vowels":"o"}"#
    );
}

#[test]
fn path_source_and_hash() {
    let dir = std::env::temp_dir().join(format!("plugboard-manifest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("kitchen.wasm");
    std::fs::write(&path, plugboard_fixtures::EXTISM_KITCHEN).unwrap();
    let hash: String = sha2::Sha256::digest(plugboard_fixtures::EXTISM_KITCHEN)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let h = host();
    let ok = format!(
        r#"{{"wasm":[{{"path":{:?},"hash":"{hash}"}}]}}"#,
        path.display().to_string()
    );
    assert!(h.load_manifest(&ok).is_ok());
    let bad = format!(
        r#"{{"wasm":[{{"path":{:?},"hash":"{}"}}]}}"#,
        path.display().to_string(),
        "0".repeat(64)
    );
    let e = assert_kind(h.load_manifest(&bad), |k| {
        matches!(k, ErrorKind::Manifest { .. })
    });
    assert!(e.to_string().contains("hash mismatch"), "{e}");
    let missing = r#"{"wasm":[{"path":"/nonexistent/x.wasm"}]}"#;
    assert_kind(h.load_manifest(missing), |k| {
        matches!(k, ErrorKind::Manifest { .. })
    });
}

#[test]
fn url_source_through_the_http_client() {
    let h = host();
    let mut p = h
        .load_manifest(r#"{"wasm":[{"url":"https://plugins.test/kitchen.wasm"}]}"#)
        .unwrap();
    assert_eq!(p.call_bytes("echo", b"hi".to_vec()).unwrap(), b"hi");
    let e = assert_kind(
        h.load_manifest(r#"{"wasm":[{"url":"https://plugins.test/missing.wasm"}]}"#),
        |k| matches!(k, ErrorKind::Manifest { .. }),
    );
    assert!(e.to_string().contains("404"), "{e}");
    let no_client = Host::builder().build();
    assert_kind(
        no_client.load_manifest(r#"{"wasm":[{"url":"https://plugins.test/kitchen.wasm"}]}"#),
        |k| matches!(k, ErrorKind::Manifest { .. }),
    );
}

#[test]
fn memory_limits_from_the_manifest() {
    let h = host();
    // A Rust plugin's stack alone needs more than two pages.
    assert_kind(
        h.load_manifest(&kitchen_manifest(r#","memory":{"max_pages":2}"#)),
        |k| matches!(k, ErrorKind::MemoryLimit { .. }),
    );
    let mut p = h
        .load_manifest(&kitchen_manifest(r#","memory":{"maxVarBytes":8}"#))
        .unwrap();
    assert_kind(p.call_bytes("store_blob", vec![0; 64]), |k| {
        matches!(k, ErrorKind::CapabilityDenied { .. })
    });
    canary(&h);
}

#[test]
fn allowed_hosts_from_the_manifest() {
    let h = host();
    let mut p = h
        .load_manifest(&kitchen_manifest(r#","allowed_hosts":["plugins.test"]"#))
        .unwrap();
    assert!(String::from_utf8(
        p.call_bytes("fetch", b"https://plugins.test/kitchen.wasm".to_vec())
            .unwrap()
    )
    .unwrap()
    .starts_with("200 "));
    assert_kind(
        p.call_bytes("fetch", b"https://other.test/".to_vec()),
        |k| matches!(k, ErrorKind::CapabilityDenied { .. }),
    );
}

#[test]
fn timeout_ms_stops_a_call_natively() {
    let h = host_with(plugboard_host_core::Limits {
        fuel: u64::MAX / 2,
        ..Default::default()
    });
    let mut p = h
        .load_manifest(&kitchen_manifest(r#","timeout_ms":50"#))
        .unwrap();
    let start = std::time::Instant::now();
    assert_kind(p.call_bytes("spin", vec![]), |k| {
        matches!(k, ErrorKind::Timeout { ms: 50 })
    });
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn modules_link_to_each_other_by_name() {
    let helper = wat::parse_str(
        r#"(module (func (export "magic") (result i64) (i64.const 0x21646c726f77)))"#,
    )
    .unwrap();
    let main = wat::parse_str(
        r#"(module
        (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
        (import "extism:host/env" "store_u64" (func $store (param i64 i64)))
        (import "extism:host/env" "output_set" (func $out (param i64 i64)))
        (import "helper" "magic" (func $magic (result i64)))
        (memory (export "memory") 1)
        (func (export "run") (result i32) (local $p i64)
          (local.set $p (call $alloc (i64.const 8)))
          (call $store (local.get $p) (call $magic))
          (call $out (local.get $p) (i64.const 6))
          (i32.const 0)))"#,
    )
    .unwrap();
    let h = host();
    let json = format!(
        r#"{{"wasm":[{{"data":"{}","name":"helper"}},{{"data":"{}","name":"main"}}]}}"#,
        b64(&helper),
        b64(&main)
    );
    let mut p = h.load_manifest(&json).unwrap();
    assert_eq!(p.call_bytes("run", vec![]).unwrap(), b"world!");
    // Unnamed dependency modules cannot be linked.
    let json = format!(
        r#"{{"wasm":[{{"data":"{}"}},{{"data":"{}","name":"main"}}]}}"#,
        b64(&helper),
        b64(&main)
    );
    assert_kind(h.load_manifest(&json), |k| {
        matches!(k, ErrorKind::Manifest { .. })
    });
}

#[test]
fn malformed_manifests_are_manifest_errors() {
    let h = host();
    for bad in [
        "",
        "[]",
        r#"{"wasm":[]}"#,
        r#"{"wasm":[{"data":"AAAA"}],"extra":true}"#,
        r#"{"wasm":[{"data":"AAAA"}],"memory":{"pages":1}}"#,
    ] {
        assert_kind(h.load_manifest(bad), |k| {
            matches!(k, ErrorKind::Manifest { .. })
        });
    }
    // A well-formed manifest of bytes that are not wasm: the module's own error.
    assert_kind(h.load_manifest(r#"{"wasm":[{"data":"AAAA"}]}"#), |k| {
        matches!(k, ErrorKind::InvalidModule { .. })
    });
    canary(&h);
}

#[test]
fn krn_12_allowed_paths_never_follow_links_out() {
    let root = std::env::temp_dir().join(format!("plugboard-paths-{}", std::process::id()));
    let inside = root.join("share");
    std::fs::create_dir_all(inside.join("sub")).unwrap();
    std::fs::write(inside.join("sub/a.txt"), b"visible").unwrap();
    std::fs::write(root.join("secret.txt"), b"hidden").unwrap();
    let _ = std::fs::remove_file(inside.join("link.txt"));
    std::os::unix::fs::symlink(root.join("secret.txt"), inside.join("link.txt")).unwrap();
    let fs = MemFs::from_host_dir(&inside).unwrap();
    assert_eq!(fs.read_file("sub/a.txt").unwrap(), b"visible");
    assert_eq!(fs.read_file("link.txt"), None);
    assert_eq!(fs.list_dir("").unwrap(), vec!["sub".to_owned()]);
    // Through a manifest, with WASI enabled by it.
    let json = format!(
        r#"{{"wasm":[{{"data":"{}"}}],"allowed_paths":{{{:?}:"/data"}}}}"#,
        b64(plugboard_fixtures::EXTISM_WASI),
        inside.display().to_string()
    );
    let mut p = host().load_manifest(&json).unwrap();
    assert_eq!(
        p.call_bytes("greet", b"fs".to_vec()).unwrap(),
        b"Hello, fs!"
    );
}
