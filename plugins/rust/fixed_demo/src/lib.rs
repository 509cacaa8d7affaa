//! A plugin of wasmer-plugin's fixed ABI, written by hand as its macro expanded (docs/abis.md §2):
//! `_name(ptr, len) -> ptr`, bincode in and out, the result's length written at address 1.
//! No allocator exports, no imports of our SDK.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::cell::RefCell;

thread_local! {
    /// The last result, kept until the next call (the original returned a dropped Vec's
    /// pointer; keeping it is the same bytes without the use-after-free).
    static OUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Decodes the argument, runs `f`, encodes the result, writes its length at address 1 and
/// returns its address.
fn call<T: DeserializeOwned, R: Serialize>(ptr: i32, len: u32, f: impl FnOnce(T) -> R) -> i32 {
    // SAFETY: the host wrote `len` bytes of input at `ptr` (offset 5 of memory 0).
    let input = unsafe { std::slice::from_raw_parts(ptr as usize as *const u8, len as usize) };
    let arg: T = bincode::deserialize(input).unwrap_or_else(|e| panic!("bad input: {e}"));
    let out = bincode::serialize(&f(arg)).unwrap_or_else(|e| panic!("bad output: {e}"));
    // SAFETY: addresses 1..5 of linear memory are reserved by the ABI for the result length.
    unsafe { std::ptr::write_volatile(1 as *mut [u8; 4], (out.len() as u32).to_le_bytes()) };
    OUT.with(|o| {
        *o.borrow_mut() = out;
        o.borrow().as_ptr() as usize as i32
    })
}

#[no_mangle]
pub extern "C" fn _double(ptr: i32, len: u32) -> i32 {
    call(ptr, len, |x: u32| x.wrapping_mul(2))
}

#[no_mangle]
pub extern "C" fn _greet(ptr: i32, len: u32) -> i32 {
    call(ptr, len, |name: String| format!("Hello, {name}!"))
}

/// wasmer-plugin's `interact` example: a struct comes in, every field is updated, it goes back.
#[derive(Serialize, Deserialize)]
pub struct Thing {
    pub one: u32,
    pub two: String,
    pub three: Vec<u8>,
}

#[no_mangle]
pub extern "C" fn _interact(ptr: i32, len: u32) -> i32 {
    call(ptr, len, |mut t: Thing| {
        t.one += 1;
        t.two.push('!');
        t.three.push(t.three.len() as u8);
        t
    })
}

static mut CALLS: u32 = 0;

/// Counts its calls: with a fresh instance per call (the default), always 1.
#[no_mangle]
pub extern "C" fn _calls(ptr: i32, len: u32) -> i32 {
    call(ptr, len, |(): ()| {
        // SAFETY: wasm32 plugins are single-threaded.
        unsafe {
            CALLS += 1;
            CALLS
        }
    })
}
