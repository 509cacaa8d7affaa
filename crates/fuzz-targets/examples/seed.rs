//! Writes the seeds that come from elsewhere in the repository: for `module_load` one small
//! module per ABI and per hostile shape (as WAT, compiled here) and the fixture plugins under
//! 64 KiB from `target/plugins`; for `lua_source` the Lua test scripts of `tests/lua`; for
//! `dts` the `interface.d.ts` of `plugins/extism/idl_core`. Run once before fuzzing: `cargo run -p plugboard-fuzz-targets --example seed`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic
)]

use std::path::Path;

const SEEDS: &[(&str, &str)] = &[
    (
        "buffer",
        r#"(module (memory (export "memory") 1) (global $b (mut i32) (i32.const 1024))
      (func (export "__alloc_buffer") (param i32) (result i32) (local $p i32)
        (local.set $p (global.get $b)) (global.set $b (i32.add (global.get $b) (local.get 0))) (local.get $p))
      (func (export "__free_buffer") (param i64))
      (func (export "__echo") (param i64) (result i64) (local.get 0)))"#,
    ),
    (
        "buffer_import",
        r#"(module (import "env" "__echo" (func $e (param i64) (result i64)))
      (memory (export "memory") 1) (global $b (mut i32) (i32.const 1024))
      (func (export "__alloc_buffer") (param i32) (result i32) (local $p i32)
        (local.set $p (global.get $b)) (global.set $b (i32.add (global.get $b) (local.get 0))) (local.get $p))
      (func (export "__free_buffer") (param i64))
      (func (export "__run") (param i64) (result i64) (call $e (local.get 0))))"#,
    ),
    (
        "kernel",
        r#"(module
      (import "extism:host/env" "input_length" (func $len (result i64)))
      (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
      (import "extism:host/env" "input_load_u8" (func $in8 (param i64) (result i32)))
      (import "extism:host/env" "store_u8" (func $st8 (param i64 i32)))
      (import "extism:host/env" "output_set" (func $out (param i64 i64)))
      (memory (export "memory") 1)
      (func (export "echo") (result i32) (local $n i64) (local $p i64) (local $i i64)
        (local.set $n (call $len)) (local.set $p (call $alloc (local.get $n)))
        (block $done (loop $l
          (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
          (call $st8 (i64.add (local.get $p) (local.get $i)) (call $in8 (local.get $i)))
          (local.set $i (i64.add (local.get $i) (i64.const 1))) (br $l)))
        (call $out (local.get $p) (local.get $n)) (i32.const 0)))"#,
    ),
    (
        "nvim",
        r#"(module
      (import "host" "get_id" (func $id (result i32)))
      (import "host" "set_value" (func $set (param i32 i32 i32)))
      (memory (export "memory") 1)
      (data (i32.const 64) "[{\"name\":\"f\",\"params\":[],\"returns\":\"table\"}]")
      (data (i32.const 256) "{\"a\":[1,2]}")
      (global $b (mut i32) (i32.const 1024))
      (func (export "alloc") (param i32) (result i32) (local $p i32)
        (local.set $p (global.get $b)) (global.set $b (i32.add (global.get $b) (local.get 0))) (local.get $p))
      (func (export "dealloc") (param i32 i32))
      (func (export "functionality") (result i32) (local $i i32)
        (local.set $i (call $id)) (call $set (local.get $i) (i32.const 64) (i32.const 47)) (local.get $i))
      (func (export "f") (result i32) (local $i i32)
        (local.set $i (call $id)) (call $set (local.get $i) (i32.const 256) (i32.const 11)) (local.get $i)))"#,
    ),
    (
        "fixed",
        r#"(module (memory (export "memory") 1)
      (func (export "_double") (param i32 i32) (result i32)
        (i32.store8 (i32.const 1) (local.get 1)) (local.get 0)))"#,
    ),
    (
        "start_loop",
        r#"(module (func $s (loop $l (br $l))) (start $s) (memory (export "memory") 1)
      (func (export "__alloc_buffer") (param i32) (result i32) (i32.const 8)) (func (export "__free_buffer") (param i64)))"#,
    ),
    (
        "grow",
        r#"(module (memory (export "memory") 1)
      (func (export "__alloc_buffer") (param i32) (result i32) (drop (memory.grow (i32.const 100))) (i32.const 8))
      (func (export "__free_buffer") (param i64))
      (func (export "__run") (param i64) (result i64) (block (loop $l (br_if 1 (i32.eq (memory.grow (i32.const 1)) (i32.const -1))) (br $l))) (i64.const 8)))"#,
    ),
    (
        "recursion",
        r#"(module (memory (export "memory") 1)
      (func (export "__alloc_buffer") (param i32) (result i32) (i32.const 8)) (func (export "__free_buffer") (param i64))
      (func $r (export "__run") (param i64) (result i64) (call $r (local.get 0))))"#,
    ),
    (
        "table_bulk",
        r#"(module (memory (export "memory") 1) (table 4 funcref)
      (func (export "__alloc_buffer") (param i32) (result i32) (i32.const 8)) (func (export "__free_buffer") (param i64))
      (func (export "__run") (param i64) (result i64) (memory.fill (i32.const 0) (i32.const 7) (i32.const 65536))
        (drop (table.grow (ref.null func) (i32.const 100000))) (i64.const 4)))"#,
    ),
];

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("fuzz/corpus/module_load");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in SEEDS {
        let bytes = wat::parse_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        std::fs::write(dir.join(format!("seed-{name}.wasm")), bytes).unwrap();
    }
    let mut n = SEEDS.len();
    let plugins = root.join("target/plugins");
    for entry in walk(&plugins) {
        let small = std::fs::metadata(&entry)
            .map(|m| m.len() < 64 << 10)
            .unwrap_or(false);
        if entry.extension().is_some_and(|e| e == "wasm") && small {
            let name = entry.file_name().unwrap().to_string_lossy().into_owned();
            std::fs::copy(&entry, dir.join(format!("fixture-{name}"))).unwrap();
            n += 1;
        }
    }
    for (target, file) in [
        ("lua_source", "tests/lua/language.lua"),
        ("lua_source", "tests/lua/stdlib.lua"),
        ("dts", "plugins/extism/idl_core/interface.d.ts"),
    ] {
        let to = root.join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&to).unwrap();
        let name = file.replace('/', "-");
        std::fs::copy(root.join(file), to.join(format!("seed-{name}"))).unwrap();
        n += 1;
    }
    println!(
        "{n} seeds written under {}",
        root.join("fuzz/corpus").display()
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
