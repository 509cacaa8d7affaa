//! A core module in the shape the Extism JS-PDK produces, written in Rust: it exports
//! `__invoke(index)` instead of named functions and reaches its host functions only through
//! `shim.__invokeHostFunc`. The host generates the shims from `interface.d.ts`:
//! exports in code-point order (`fail`, `greet`, `mix`, `types`), host functions in
//! declaration order (`add`, `scale`, `shout`, `tick`).

use extism_pdk::*;

#[link(wasm_import_module = "shim")]
extern "C" {
    fn __invokeHostFunc(index: u32, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64) -> u64;
    fn __get_function_return_type(index: u32) -> u32;
    fn __get_function_arg_type(index: u32, arg: u32) -> u32;
}

fn host(index: u32, args: &[u64]) -> u64 {
    let a = |i: usize| args.get(i).copied().unwrap_or(0);
    unsafe { __invokeHostFunc(index, a(0), a(1), a(2), a(3), a(4)) }
}

/// Runs the `index`-th export; returns its code (0 ok).
#[no_mangle]
pub extern "C" fn __invoke(index: i32) -> i32 {
    let outcome = match index {
        0 => fail(),
        1 => greet(),
        2 => mix(),
        3 => types(),
        other => Err(Error::msg(format!("no export number {other}"))),
    };
    match outcome {
        Ok(()) => 0,
        Err(e) => {
            if let Ok(mem) = Memory::from_bytes(e.to_string()) {
                unsafe { extism::error_set(mem.offset()) };
            }
            1
        }
    }
}

fn fail() -> Result<(), Error> {
    Err(Error::msg(format!("failed on purpose: {}", input::<String>()?)))
}

fn greet() -> Result<(), Error> {
    output(format!("Hello, {}!", input::<String>()?))
}

/// Input `"a,b"`: `add(a, b)`, `scale(2.5, 4)`, `shout(input)`, `tick()`.
fn mix() -> Result<(), Error> {
    let text = input::<String>()?;
    let (a, b) = text
        .split_once(',')
        .ok_or_else(|| Error::msg("expected \"a,b\""))?;
    let a: i32 = a.trim().parse()?;
    let b: i32 = b.trim().parse()?;
    let sum = host(0, &[a as i64 as u64, b as i64 as u64]) as i32;
    let scaled = f64::from_bits(host(1, &[2.5f64.to_bits(), u64::from(4.0f32.to_bits())]));
    let arg = Memory::from_bytes(&text)?;
    let loud = Memory::find(host(2, &[arg.offset()]))
        .ok_or_else(|| Error::msg("shout returned no block"))?
        .to_string()?;
    let ticked = host(3, &[]);
    output(format!("{sum} {scaled} {loud} {ticked}"))
}

/// The type codes the import shim reports: `ret:arg,arg|…`, including an index out of range.
fn types() -> Result<(), Error> {
    let mut out = Vec::new();
    for f in 0..5 {
        let ret = unsafe { __get_function_return_type(f) };
        let args: Vec<String> = (0..6)
            .map(|a| unsafe { __get_function_arg_type(f, a) })
            .take_while(|&code| code != 0)
            .map(|code| code.to_string())
            .collect();
        out.push(format!("{ret}:{}", args.join(",")));
    }
    output(out.join("|"))
}
