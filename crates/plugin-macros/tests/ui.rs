//! Every diagnostic of `#[export]`/`#[import]` is pinned: misuse is a compile error with a span.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_*.rs");
    t.compile_fail("tests/ui/fail_*.rs");
}
