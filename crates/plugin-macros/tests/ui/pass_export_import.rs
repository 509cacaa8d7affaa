use plugboard_plugin::prelude::*;

#[export]
pub fn add(a: u32, b: u32) -> u32 {
    a + b
}

#[export]
pub fn noop() {}

#[export]
pub fn text(mut s: String, times: usize) -> Vec<String> {
    s.push('!');
    vec![s; times]
}

#[import]
fn host_double(x: f64) -> f64;

#[import]
pub fn host_nothing();

fn main() {
    // The wrappers exist with the ABI's signature.
    let _: extern "C" fn(u64) -> u64 = __add;
    let _: extern "C" fn(u64) -> u64 = __noop;
    let _: extern "C" fn(u64) -> u64 = __text;
    let _: fn(f64) -> f64 = host_double;
    let _: fn() = host_nothing;
    assert_eq!(add(2, 3), 5);
}
