//! Exercises WASI preview 1 through Rust's std: files on a preopen, clocks, args, environment,
//! randomness, exit, and a panic (reported to the host before the trap).

use plugboard_plugin::prelude::*;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

#[export]
pub fn write_file(path: String, contents: String) -> Result<(), String> {
    if let Some(parent) = std::path::Path::new(&path).parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    std::fs::write(&path, contents).map_err(|e| e.to_string())
}

#[export]
pub fn read_file(path: String) -> Result<String, String> {
    std::fs::read_to_string(&path).map_err(|e| e.to_string())
}

#[export]
pub fn append_file(path: String, contents: String) -> Result<u64, String> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).create(true).open(&path).map_err(|e| e.to_string())?;
    f.write_all(contents.as_bytes()).map_err(|e| e.to_string())?;
    Ok(f.metadata().map_err(|e| e.to_string())?.len())
}

#[export]
pub fn list_dir(path: String) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = std::fs::read_dir(&path)
        .map_err(|e| e.to_string())?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    names.sort();
    Ok(names)
}

#[export]
pub fn remove(path: String) -> Result<(), String> {
    std::fs::remove_file(&path).map_err(|e| e.to_string())
}

#[export]
pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[export]
pub fn args() -> Vec<String> {
    std::env::args().collect()
}

#[export]
pub fn env(key: String) -> Option<String> {
    std::env::var(key).ok()
}

#[export]
pub fn random_map_len(n: u32) -> usize {
    // HashMap's RandomState draws from random_get.
    (0..n).map(|i| (i, i)).collect::<HashMap<_, _>>().len()
}

#[export]
pub fn read_stdin() -> String {
    let mut s = String::new();
    let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut s);
    s
}

#[export]
pub fn exit(code: i32) {
    std::process::exit(code)
}

#[export]
pub fn boom(message: String) -> u32 {
    panic!("boom: {message}")
}

#[export]
pub fn grow(mib: u32) -> usize {
    let v = vec![1u8; mib as usize * 1024 * 1024];
    v.iter().map(|b| *b as usize).sum()
}
