//! The JS binding in headless Chromium: `wasm-pack test --headless --chrome crates/web -- --test
//! browser` (Debian's chromium and chromedriver; `webdriver.json` next to Cargo.toml).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

include!("common/mod.rs");

#[wasm_bindgen_test]
fn runs_in_a_page() {
    assert!(Reflect::get(&js_sys::global(), &"document".into())
        .unwrap()
        .is_object());
}
