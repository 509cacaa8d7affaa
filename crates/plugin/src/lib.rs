//! Write plugboard plugins in Rust.
//!
//! ```no_run
//! use plugboard_plugin::prelude::*;
//!
//! #[export]
//! pub fn double(x: Vec<f64>) -> Vec<f64> {
//!     x.into_iter().map(|v| v * 2.0).collect()
//! }
//!
//! #[import]
//! fn run(command: String) -> Vec<u8>;
//! ```
//!
//! Build with `cargo build --target wasm32-wasip1 --release` as a `cdylib`. The crate exports the
//! buffer ABI's allocator (`__alloc_buffer`, `__free_buffer`); `#[export]` and `#[import]` do the
//! bincode encoding and embed each signature in the `plugboard.signatures` custom section. A
//! panic is reported to the host (`plugboard.panic`) before the plugin traps, so the host's error
//! carries its message.

pub use plugboard_plugin_macros::{export, import};

/// `use plugboard_plugin::prelude::*;` brings the attributes into scope.
pub mod prelude {
    pub use crate::{export, import};
}

/// Allocates a buffer of `len` bytes for the host to write into (buffer ABI).
#[unsafe(no_mangle)]
pub extern "C" fn __alloc_buffer(len: u32) -> u32 {
    let buf = vec![0u8; len as usize].into_boxed_slice();
    Box::into_raw(buf).cast::<u8>() as usize as u32
}

/// Frees a buffer made by `__alloc_buffer` or returned by an export (buffer ABI).
#[unsafe(no_mangle)]
pub extern "C" fn __free_buffer(packed: u64) {
    // SAFETY: the host only frees buffers this module allocated with exactly this length.
    drop(unsafe { __private::take(packed) });
}

#[doc(hidden)]
pub mod __private {
    use serde::de::DeserializeOwned;
    use serde::Serialize;
    use std::sync::Once;

    fn unpack(packed: u64) -> (usize, usize) {
        ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize)
    }

    fn pack(buf: Box<[u8]>) -> u64 {
        let len = buf.len() as u64;
        let ptr = Box::into_raw(buf).cast::<u8>() as usize as u64;
        (ptr << 32) | len
    }

    /// Takes ownership of a packed buffer.
    ///
    /// # Safety
    ///
    /// `packed` must describe a live buffer allocated by this module with exactly that length.
    pub unsafe fn take(packed: u64) -> Box<[u8]> {
        let (ptr, len) = unpack(packed);
        if len == 0 {
            return Box::default();
        }
        // SAFETY: upheld by the caller.
        unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr as *mut u8, len)) }
    }

    /// Body of an `#[export]` wrapper: decode the arguments, run, encode the result.
    pub fn export<A: DeserializeOwned, R: Serialize>(packed: u64, f: impl FnOnce(A) -> R) -> u64 {
        install_panic_hook();
        // SAFETY: the host wrote the input into a buffer from `__alloc_buffer` of this length.
        let input = unsafe { take(packed) };
        let args: A = match bincode::deserialize(&input) {
            Ok(a) => a,
            Err(e) => fail(&format!("cannot decode the arguments: {e}")),
        };
        drop(input);
        match bincode::serialize(&f(args)) {
            Ok(out) => pack(out.into_boxed_slice()),
            Err(e) => fail(&format!("cannot encode the result: {e}")),
        }
    }

    /// Body of an `#[import]` function: encode the arguments, call the host, decode its reply.
    pub fn import<A: Serialize + ?Sized, R: DeserializeOwned>(
        name: &str,
        host: impl FnOnce(u64) -> u64,
        args: &A,
    ) -> R {
        let bytes = match bincode::serialize(args) {
            Ok(b) => b,
            Err(e) => fail(&format!("cannot encode the arguments of `{name}`: {e}")),
        };
        // The host copies the argument buffer and frees it with `__free_buffer`.
        let reply = host(pack(bytes.into_boxed_slice()));
        // SAFETY: the host allocated the reply with `__alloc_buffer`; we own it now.
        let reply = unsafe { take(reply) };
        match bincode::deserialize(&reply) {
            Ok(r) => r,
            Err(e) => fail(&format!("cannot decode the reply of `{name}`: {e}")),
        }
    }

    /// Reports `message` to the host and traps (a deliberate trap, not an unwinding panic).
    pub fn fail(message: &str) -> ! {
        report(message);
        std::process::abort()
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn no_host(name: &str) -> u64 {
        fail(&format!(
            "host function `{name}` is only available inside a plugboard host"
        ))
    }

    #[cfg(target_arch = "wasm32")]
    fn report(message: &str) {
        #[link(wasm_import_module = "plugboard")]
        unsafe extern "C" {
            #[link_name = "panic"]
            fn plugboard_panic(ptr: *const u8, len: usize);
        }
        // SAFETY: the host only reads `len` bytes at `ptr`.
        unsafe { plugboard_panic(message.as_ptr(), message.len()) }
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn report(message: &str) {
        eprintln!("plugin failure: {message}");
    }

    fn install_panic_hook() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            let default = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                report(&info.to_string());
                default(info);
            }));
        });
    }
}
