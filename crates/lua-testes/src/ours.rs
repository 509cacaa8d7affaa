//! A prepared text through plugboard's Lua engine: loaded as a plugin's `main.lua` (which defines
//! `__testes_run`), then `__testes_run` called under generous limits. Asserts are counted by the
//! host function `testes.tally`, so the counts survive whatever ends the call.

use crate::Outcome;
use plugboard_host_core::{Host, Limits, PluginOptions};
use std::cell::Cell;
use std::rc::Rc;

/// Wall-clock limits per call (natively enforced between fuel slices).
pub(crate) const WHOLE_TIMEOUT_MS: u64 = 20_000;
pub(crate) const CHUNK_TIMEOUT_MS: u64 = 10_000;

/// `modules`: files `require` finds beside `main.lua` (the testes' helper modules, which PUC
/// finds in the testes folder).
pub(crate) fn run(text: &[u8], timeout_ms: u64, modules: &[(String, Vec<u8>)]) -> Outcome {
    let passed = Rc::new(Cell::new(0u64));
    let failed = Rc::new(Cell::new(0u64));
    let (p, f) = (passed.clone(), failed.clone());
    let host = Host::builder()
        .limits(Limits {
            fuel: 20_000_000_000,
            instantiate_fuel: 20_000_000_000,
            memory_bytes: 1 << 30,
            timeout_ms: Some(timeout_ms),
            max_log_bytes: 1 << 20,
            ..Limits::default()
        })
        .func("testes", "tally", move |ok: bool| {
            let c = if ok { &p } else { &f };
            c.set(c.get() + 1);
        })
        .build();
    let message = std::cell::RefCell::new(None);
    let say = |e: &plugboard_host_core::Error| *message.borrow_mut() = Some(e.to_string());
    let mut files = vec![("main.lua".to_owned(), text.to_vec())];
    files.extend(modules.iter().cloned());
    let status = match host.load_lua_files(files, PluginOptions::named("testes")) {
        Err(e) => {
            say(&e);
            if matches!(e.kind(), plugboard_host_core::ErrorKind::LuaSyntax { .. }) {
                "compile".to_owned()
            } else {
                e.kind_name().to_owned()
            }
        }
        Ok(mut plugin) => match plugin.call_value("__testes_run", vec![]) {
            Ok(_) => "ok".to_owned(),
            Err(e) => match (say(&e), e.kind()).1 {
                plugboard_host_core::ErrorKind::LuaError { .. } => "error".to_owned(),
                _ => e.kind_name().to_owned(),
            },
        },
    };
    Outcome {
        status,
        passed: passed.get(),
        failed: failed.get(),
        message: message.into_inner(),
    }
}
