//! The buffer ABI's conformance plugin: one export per row of docs/abis.md §1's table.

use plugboard_plugin::prelude::*;

#[export]
pub fn noop() {}

#[export]
pub fn constant() -> u32 {
    27
}

#[export]
pub fn identity(x: u32) -> u32 {
    x
}

#[export]
pub fn add(a: u32, b: u32) -> u32 {
    a + b
}

#[export]
pub fn swap(a: u32, b: u32) -> (u32, u32) {
    (b, a)
}

#[export]
pub fn sort(mut list: Vec<u32>) -> Vec<u32> {
    list.sort();
    list
}

#[export]
pub fn print(message: String) {
    println!("to stdout: {message}");
    eprintln!("to stderr: {message}");
}

#[import]
fn mystery_number(x: u32) -> u32;

#[export]
pub fn and_back(x: u32) -> u32 {
    mystery_number(x)
}

#[import]
fn import_noop();

#[import]
fn import_identity(x: u32) -> u32;

#[import]
fn import_swap(a: u32, b: u32) -> (u32, u32);

#[export]
pub fn imports(x: u32) -> u32 {
    import_noop();
    let y = import_identity(x);
    let (a, b) = import_swap(y, 7);
    a + b
}

#[import]
fn import_half(a: u32) -> u32;

#[export]
pub fn half_async(a: u32) -> u32 {
    import_half(a)
}

#[import]
fn command_async(command: String) -> Option<Vec<u8>>;

#[export]
pub fn echo_async(message: String) -> String {
    match command_async(message) {
        Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        None => String::new(),
    }
}
