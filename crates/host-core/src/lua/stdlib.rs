//! The standard library piccolo 0.3.3 lacks, close to Lua 5.4, in our own code: base additions
//! (`print`, `tonumber`, `rawequal`, `rawlen`, `xpcall`, `error` with a position, `require`
//! inside the plugin's folder), `table`, `utf8`, `os` (host clock, UTC), a host-seeded
//! `math.random`; the `string` library is in [`super::string`]. Every function charges fuel in
//! proportion to its work and checks sizes before allocating.

use super::convert;
use super::Shared;
use piccolo::{
    BoxSequence, Callback, CallbackReturn, Context, Error, Execution, Function, IntoValue,
    Sequence, SequencePoll, Stack, Table, Value,
};
use std::rc::Rc;

pub(crate) type Ret<'gc> = Result<CallbackReturn<'gc>, Error<'gc>>;

/// A library function's error message, as PUC Lua's `luaL_error`: the VM makes it a string
/// prefixed with the position of the Lua code that called the function.
pub(crate) fn lua_err<'gc>(_ctx: Context<'gc>, msg: impl AsRef<str>) -> Error<'gc> {
    Error::Runtime(piccolo::LibraryError(msg.as_ref().to_owned()).into())
}

/// `chunkname:line: ` of the function `level` calls below the running callback when that
/// function is Lua (PUC Lua's `luaL_where`); `None` for a callback or past the bottom.
pub(crate) fn where_at(exec: &Execution<'_, '_>, level: usize) -> Option<String> {
    let (proto, pc) = exec.frame_at(level)??;
    let line = proto.line_at(pc)?;
    Some(format!("{}:{}: ", proto.chunk_name.to_str_lossy(), line))
}

/// `bad argument #n to 'f' (…)`.
pub(crate) fn bad_arg<'gc>(ctx: Context<'gc>, n: usize, f: &str, msg: &str) -> Error<'gc> {
    lua_err(ctx, format!("bad argument #{} to '{f}' ({msg})", n + 1))
}

/// Charges `units` of work (1 fuel per 64 units, at least 1).
pub(crate) fn charge(exec: &mut Execution<'_, '_>, units: usize) {
    charge_wide(exec, u64::try_from(units).unwrap_or(u64::MAX));
}

/// [`charge`] for counts a script chooses: in u64, so that 32-bit hosts charge what 64-bit ones do.
pub(crate) fn charge_wide(exec: &mut Execution<'_, '_>, units: u64) {
    let cost = 1 + units / 64;
    exec.fuel().consume(i32::try_from(cost).unwrap_or(i32::MAX));
}

/// How many elements `from..=to` spans, as a u64 (0 when empty), whatever the integers.
fn span(from: i64, to: i64) -> u64 {
    u64::try_from(i128::from(to) - i128::from(from) + 1).unwrap_or(0)
}

fn type_name(v: Value<'_>) -> &'static str {
    if v.is_nil() {
        "no value"
    } else {
        v.type_name()
    }
}

/// A number as Lua coerces it: integers and floats as they are, numeric strings parsed.
fn coerce(v: Value<'_>) -> Option<Num> {
    match v {
        Value::Integer(i) => Some(Num::Int(i)),
        Value::Number(x) => Some(Num::Float(x)),
        Value::String(s) => match parse_number(s.as_bytes()) {
            Some(Value::Integer(i)) => Some(Num::Int(i)),
            Some(Value::Number(x)) => Some(Num::Float(x)),
            _ => None,
        },
        _ => None,
    }
}

fn number_expected<'gc>(ctx: Context<'gc>, i: usize, f: &str, v: Value<'gc>) -> Error<'gc> {
    bad_arg(ctx, i, f, &format!("number expected, got {}", type_name(v)))
}

/// Argument `i` as an integer (floats with an exact integer value and numeric strings too).
pub(crate) fn check_int<'gc>(
    ctx: Context<'gc>,
    stack: &Stack<'gc, '_>,
    i: usize,
    f: &str,
) -> Result<i64, Error<'gc>> {
    let v = stack.get(i);
    match coerce(v) {
        Some(Num::Int(n)) => Ok(n),
        Some(Num::Float(x)) => float_to_int(x)
            .ok_or_else(|| bad_arg(ctx, i, f, "number has no integer representation")),
        None => Err(number_expected(ctx, i, f, v)),
    }
}

pub(crate) fn opt_int<'gc>(
    ctx: Context<'gc>,
    stack: &Stack<'gc, '_>,
    i: usize,
    f: &str,
    default: i64,
) -> Result<i64, Error<'gc>> {
    if stack.get(i).is_nil() {
        Ok(default)
    } else {
        check_int(ctx, stack, i, f)
    }
}

pub(crate) fn check_num<'gc>(
    ctx: Context<'gc>,
    stack: &Stack<'gc, '_>,
    i: usize,
    f: &str,
) -> Result<f64, Error<'gc>> {
    let v = stack.get(i);
    coerce(v)
        .map(float)
        .ok_or_else(|| number_expected(ctx, i, f, v))
}

/// Argument `i` as bytes (numbers are converted, as Lua does).
pub(crate) fn check_bytes<'gc>(
    ctx: Context<'gc>,
    stack: &Stack<'gc, '_>,
    i: usize,
    f: &str,
) -> Result<&'gc [u8], Error<'gc>> {
    match stack.get(i) {
        Value::String(s) => Ok(s.as_bytes()),
        Value::Integer(n) => Ok(ctx.intern(n.to_string().as_bytes()).as_bytes()),
        Value::Number(x) => Ok(ctx.intern(convert::format_number(x).as_bytes()).as_bytes()),
        v => Err(bad_arg(
            ctx,
            i,
            f,
            &format!("string expected, got {}", type_name(v)),
        )),
    }
}

pub(crate) fn check_table<'gc>(
    ctx: Context<'gc>,
    stack: &Stack<'gc, '_>,
    i: usize,
    f: &str,
) -> Result<Table<'gc>, Error<'gc>> {
    match stack.get(i) {
        Value::Table(t) => Ok(t),
        v => Err(bad_arg(
            ctx,
            i,
            f,
            &format!("table expected, got {}", type_name(v)),
        )),
    }
}

pub(crate) fn float_to_int(x: f64) -> Option<i64> {
    // -2^63 <= x < 2^63 and integral.
    (x.fract() == 0.0 && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&x))
        .then_some(x as i64)
}

/// A Lua numeral (decimal or hex integer or float, with surrounding spaces).
pub(crate) fn parse_number<'gc>(s: &[u8]) -> Option<Value<'gc>> {
    let text = std::str::from_utf8(s)
        .ok()?
        .trim_matches(|c: char| c.is_ascii_whitespace());
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if body.is_empty() {
        return None;
    }
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        if hex.contains(['.', 'p', 'P']) {
            return parse_hex_float(hex).map(|x| Value::Number(if neg { -x } else { x }));
        }
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        // Hex integers wrap around, as in Lua.
        let mut n: u64 = 0;
        for b in hex.bytes() {
            n = n
                .wrapping_mul(16)
                .wrapping_add(u64::from((b as char).to_digit(16)?));
        }
        let n = n as i64;
        return Some(Value::Integer(if neg { n.wrapping_neg() } else { n }));
    }
    if body.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = body.parse::<i64>() {
            return Some(Value::Integer(if neg { -n } else { n }));
        }
        if neg && body == "9223372036854775808" {
            return Some(Value::Integer(i64::MIN));
        }
    }
    let valid = body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && body.bytes().any(|b| b.is_ascii_digit());
    if !valid {
        return None;
    }
    body.parse::<f64>()
        .ok()
        .map(|x| Value::Number(if neg { -x } else { x }))
}

fn parse_hex_float(hex: &str) -> Option<f64> {
    let (mant, exp) = match hex.find(['p', 'P']) {
        Some(i) => (&hex[..i], hex[i + 1..].parse::<i32>().ok()?),
        None => (hex, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut x = 0f64;
    for c in int.chars() {
        x = x * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        x += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(x * 2f64.powi(exp))
}

/// How a value prints (`print`, `%s`): numbers as Lua prints them; tables, functions and other
/// references by their type (no address).
pub(crate) fn tostring_bytes(v: Value<'_>) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        other => convert::render(other).into_bytes(),
    }
}

fn set<'gc>(ctx: Context<'gc>, t: Table<'gc>, name: &'static str, v: impl IntoValue<'gc>) {
    // Setting a string key on a fresh table cannot fail.
    let _ = t.set(ctx, name, v);
}

/// Installs our libraries into the VM.
pub(crate) fn install<'gc>(ctx: Context<'gc>, shared: &Rc<Shared>) {
    set(ctx, ctx.globals(), "_G", ctx.globals());
    set(ctx, ctx.globals(), "_VERSION", "Lua 5.4");
    // The functions lowered operators call: not globals, the upvalues of every compiled chunk.
    let helpers = Table::new(&ctx);
    install_concat(ctx, shared, helpers);
    install_arith(ctx, helpers);
    super::close::install(ctx, helpers);
    *shared.helpers.borrow_mut() = Some(ctx.stash(helpers));
    install_base(ctx, shared);
    super::load::install(ctx, shared);
    super::coroutine::install(ctx);
    super::string::install(ctx, shared);
    install_table(ctx, shared);
    install_utf8(ctx);
    install_os(ctx, shared);
    install_random(ctx, shared);
    install_math_fixes(ctx);
    install_tostring(ctx);
    let string_mt = match ctx.get_global("string") {
        Value::Table(string_lib) => {
            super::pack::install(ctx, string_lib, shared);
            super::method::install(ctx, helpers, string_lib);
            Some(super::method::install_getmetatable(ctx, string_lib))
        }
        _ => None,
    };
    super::debug::install(ctx, string_mt);
    super::io::install(ctx, shared);
    // Last: `package.loaded` lists the libraries above.
    super::package::install(ctx, shared);
}

/// `tostring` with Lua 5.4's number format (`%.14g`: `1e+15`, not piccolo's
/// `1000000000000000`); everything else goes to piccolo's own (metamethods included).
fn install_tostring<'gc>(ctx: Context<'gc>) {
    let Value::Function(original) = ctx.get_global("tostring") else {
        return;
    };
    set(
        ctx,
        ctx.globals(),
        "tostring",
        Callback::from_fn_with(&ctx, original, |original, ctx, _, mut stack| {
            match stack.get(0) {
                Value::Number(x) => {
                    stack.replace(ctx, ctx.intern(convert::format_number(x).as_bytes()));
                    Ok(CallbackReturn::Return)
                }
                _ => Ok(CallbackReturn::Call {
                    function: *original,
                    then: None,
                }),
            }
        }),
    );
}

/// `math.abs` and `math.fmod` without piccolo 0.3.3's overflow panics (`math.abs(minint)`),
/// and `math.tointeger` without its saturation (`math.tointeger(2^63)` is `nil`, not maxint).
fn install_math_fixes<'gc>(ctx: Context<'gc>) {
    let Value::Table(math) = ctx.get_global("math") else {
        return;
    };
    set(
        ctx,
        math,
        "tointeger",
        Callback::from_fn(&ctx, |ctx, _, mut stack| {
            let out = match stack.get(0) {
                Value::Integer(i) => Value::Integer(i),
                Value::Number(x) => float_to_int(x).map_or(Value::Nil, Value::Integer),
                _ => Value::Nil,
            };
            stack.replace(ctx, out);
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        math,
        "abs",
        Callback::from_fn(&ctx, |ctx, _, mut stack| {
            let out = match stack.get(0) {
                // Lua: the absolute value of minint is minint (wrapping).
                Value::Integer(i) => Value::Integer(i.wrapping_abs()),
                _ => Value::Number(check_num(ctx, &stack, 0, "abs")?.abs()),
            };
            stack.replace(ctx, out);
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        math,
        "fmod",
        Callback::from_fn(&ctx, |ctx, _, mut stack| {
            let out = match (stack.get(0), stack.get(1)) {
                (Value::Integer(a), Value::Integer(b)) => match b {
                    0 => return Err(bad_arg(ctx, 1, "fmod", "zero")),
                    -1 => Value::Integer(0),
                    b => Value::Integer(a % b),
                },
                _ => {
                    let a = check_num(ctx, &stack, 0, "fmod")?;
                    let b = check_num(ctx, &stack, 1, "fmod")?;
                    Value::Number(a % b)
                }
            };
            stack.replace(ctx, out);
            Ok(CallbackReturn::Return)
        }),
    );
}

/// `a .. b`, as the lowered tree ([`super::lower`]) calls it: strings and numbers, the result no
/// larger than the memory cap, one fuel per 64 bytes.
/// Whether a new string of `len` bytes fits under the memory cap on top of what the VM holds
/// now (G10: the host's peak stays within the cap, not only the VM's memory after the step).
pub(crate) fn string_fits(ctx: Context<'_>, cap: usize, len: usize) -> bool {
    ctx.metrics().total_allocation().saturating_add(len) <= cap
}

/// The error for a string that would fit the cap but not the room left under it: the plugin
/// ran out of memory (`MemoryLimit`), not into a size rule of Lua's.
pub(crate) fn out_of_room<'gc>(cap: usize) -> Error<'gc> {
    Error::Runtime(super::anyhow_error(
        crate::error::ErrorKind::MemoryLimit { cap }.into(),
    ))
}

/// A Lua string of the bytes built in `out`: large ones take over the buffer instead of being
/// copied into an interned string, so building a string costs its length once, not twice.
pub(crate) fn new_string<'gc>(ctx: Context<'gc>, out: Vec<u8>) -> piccolo::String<'gc> {
    if out.len() < 4096 {
        ctx.intern(&out)
    } else {
        piccolo::String::from_buffer(&ctx, out.into_boxed_slice())
    }
}

fn install_concat<'gc>(ctx: Context<'gc>, shared: &Rc<Shared>, helpers: Table<'gc>) {
    let cap = shared.limits.memory_bytes;
    set(
        ctx,
        helpers,
        super::lower::CONCAT,
        Callback::from_fn(&ctx, move |ctx, mut exec, mut stack| {
            if let Some(call) = operator_metamethod(ctx, &mut stack, "__concat", false) {
                return Ok(call);
            }
            let part = |v: Value<'gc>| -> Result<std::borrow::Cow<'gc, [u8]>, String> {
                Ok(match v {
                    Value::String(s) => std::borrow::Cow::Borrowed(s.as_bytes()),
                    Value::Integer(n) => std::borrow::Cow::Owned(n.to_string().into_bytes()),
                    Value::Number(x) => {
                        std::borrow::Cow::Owned(convert::format_number(x).into_bytes())
                    }
                    other => {
                        let msg = format!("attempt to concatenate a {} value", other.type_name());
                        return Err(msg);
                    }
                })
            };
            let (a, b) = match (part(stack.get(0)), part(stack.get(1))) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(msg), _) => return Err(operand_err(ctx, &exec, Some(0), &msg)),
                (_, Err(msg)) => return Err(operand_err(ctx, &exec, Some(1), &msg)),
            };
            let len = a.len() + b.len();
            if !string_fits(ctx, cap, len) {
                return Err(out_of_room(cap));
            }
            charge(&mut exec, len);
            let mut out = Vec::with_capacity(len);
            out.extend_from_slice(&a);
            out.extend_from_slice(&b);
            stack.replace(ctx, new_string(ctx, out));
            Ok(CallbackReturn::Return)
        }),
    );
}

#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

/// Arithmetic operand `i` of a lowered operator: a number, or a string that reads as one
/// (Lua's coercion); else PUC's error, naming the variable.
fn num<'gc>(
    ctx: Context<'gc>,
    exec: &Execution<'gc, '_>,
    stack: &Stack<'gc, '_>,
    i: usize,
) -> Result<Num, Error<'gc>> {
    let v = stack.get(i);
    coerce(v).ok_or_else(|| {
        let msg = format!("attempt to perform arithmetic on a {} value", v.type_name());
        operand_err(ctx, exec, Some(i), &msg)
    })
}

fn float(n: Num) -> f64 {
    match n {
        Num::Int(i) => i as f64,
        Num::Float(x) => x,
    }
}

/// Operand `i` of a bitwise operator: an integer, or a float with an exact integer value.
fn bits<'gc>(
    ctx: Context<'gc>,
    exec: &Execution<'gc, '_>,
    stack: &Stack<'gc, '_>,
    i: usize,
) -> Result<i64, Error<'gc>> {
    let v = stack.get(i);
    match coerce(v) {
        Some(Num::Int(n)) => Ok(n),
        Some(Num::Float(x)) => float_to_int(x).ok_or_else(|| {
            let name = argument_name(exec, i).map_or(String::new(), |n| format!(" {n}"));
            operand_err(
                ctx,
                exec,
                None,
                &format!("number{name} has no integer representation"),
            )
        }),
        None => {
            let msg = format!(
                "attempt to perform bitwise operation on a {} value",
                v.type_name()
            );
            Err(operand_err(ctx, exec, Some(i), &msg))
        }
    }
}

/// Both operands of a binary bitwise operator; as PUC Lua, an operand that is not a number at
/// all is reported before one without an integer value.
fn bits2<'gc>(
    ctx: Context<'gc>,
    exec: &Execution<'gc, '_>,
    stack: &Stack<'gc, '_>,
) -> Result<(i64, i64), Error<'gc>> {
    if coerce(stack.get(0)).is_some() && coerce(stack.get(1)).is_none() {
        bits(ctx, exec, stack, 1)?;
    }
    Ok((bits(ctx, exec, stack, 0)?, bits(ctx, exec, stack, 1)?))
}

/// How PUC Lua names argument `i` of the call that the Lua function one level down is making:
/// `(local 'x')`, `(global 'f')`, `(field 'k')`, … (for the errors of the operators lowered
/// into calls, which PUC raises about the variable that the operator was applied to).
pub(crate) fn argument_name(exec: &Execution<'_, '_>, i: usize) -> Option<String> {
    use piccolo::opcode::Operation;
    let (proto, pc) = exec.frame_at(1)??;
    let func = match proto.opcodes.get(pc)?.decode() {
        Operation::Call { func, .. } | Operation::TailCall { func, .. } => func,
        _ => return None,
    };
    let register = u8::try_from(usize::from(func.0) + 1 + i).ok()?;
    let (kind, name) = proto.register_name(pc, piccolo::types::RegisterIndex(register))?;
    Some(format!("({kind} '{name}')"))
}

/// The error of a lowered operator, as the VM would raise it: the position of the Lua code
/// that applied the operator, `msg`, and the name of the variable in argument `arg`.
pub(crate) fn operand_err<'gc>(
    ctx: Context<'gc>,
    exec: &Execution<'gc, '_>,
    arg: Option<usize>,
    msg: &str,
) -> Error<'gc> {
    let mut text = where_at(exec, 1).unwrap_or_default();
    text.push_str(msg);
    if let Some(name) = arg.and_then(|i| argument_name(exec, i)) {
        text.push(' ');
        text.push_str(&name);
    }
    Error::from(Value::String(ctx.intern(text.as_bytes())))
}

/// Lua 5.4's `a << b` (a negative count shifts right; 64 or more gives 0).
fn shift_left(a: i64, b: i64) -> i64 {
    if b <= -64 || b >= 64 {
        0
    } else if b >= 0 {
        ((a as u64) << b) as i64
    } else {
        ((a as u64) >> (-b)) as i64
    }
}

/// The metatable of a table or userdata (other values' are not settable from Lua; strings'
/// is [`super::method`]'s).
pub(crate) fn metatable_of<'gc>(v: Value<'gc>) -> Option<Table<'gc>> {
    match v {
        Value::Table(t) => t.metatable(),
        Value::UserData(u) => u.metatable(),
        _ => None,
    }
}

/// The metamethod `name` of a table or userdata, if it has one that can be called.
pub(crate) fn metamethod<'gc>(
    ctx: Context<'gc>,
    v: Value<'gc>,
    name: &'static str,
) -> Option<Function<'gc>> {
    match metatable_of(v)?.get(ctx, name) {
        Value::Nil => None,
        f => piccolo::meta_ops::call(ctx, f).ok(),
    }
}

/// A lowered operator on a table or userdata operand: a call of its metamethod `name` (the left
/// operand's, else the right one's) with both operands (a unary one with its operand twice, as
/// Lua passes it); `None` when no operand is a table or userdata with that metamethod.
pub(crate) fn operator_metamethod<'gc>(
    ctx: Context<'gc>,
    stack: &mut Stack<'gc, '_>,
    name: &'static str,
    unary: bool,
) -> Option<CallbackReturn<'gc>> {
    let (a, b) = (
        stack.get(0),
        if unary { stack.get(0) } else { stack.get(1) },
    );
    let metamethod = [a, b].into_iter().find_map(|v| metamethod(ctx, v, name))?;
    stack.clear();
    stack.push_back(a);
    stack.push_back(b);
    Some(CallbackReturn::Call {
        function: metamethod,
        then: None,
    })
}

/// `//`, `%`, `<<`, `>>` with Lua 5.4's semantics, as the lowered tree ([`super::lower`]) calls
/// them (piccolo 0.3.3 truncates `//`, and panics or wraps on `minint % -1` and wide shifts).
fn install_arith<'gc>(ctx: Context<'gc>, g: Table<'gc>) {
    set(
        ctx,
        g,
        super::lower::IDIV,
        Callback::from_fn(&ctx, |ctx, exec, mut stack| {
            if let Some(call) = operator_metamethod(ctx, &mut stack, "__idiv", false) {
                return Ok(call);
            }
            let out = match (num(ctx, &exec, &stack, 0)?, num(ctx, &exec, &stack, 1)?) {
                (Num::Int(_), Num::Int(0)) => {
                    return Err(operand_err(ctx, &exec, None, "attempt to perform 'n//0'"))
                }
                (Num::Int(a), Num::Int(b)) => {
                    let q = a.wrapping_div(b);
                    Value::Integer(if a.wrapping_rem(b) != 0 && (a ^ b) < 0 {
                        q - 1
                    } else {
                        q
                    })
                }
                (a, b) => Value::Number((float(a) / float(b)).floor()),
            };
            stack.replace(ctx, out);
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        g,
        super::lower::MOD,
        Callback::from_fn(&ctx, |ctx, exec, mut stack| {
            if let Some(call) = operator_metamethod(ctx, &mut stack, "__mod", false) {
                return Ok(call);
            }
            let out = match (num(ctx, &exec, &stack, 0)?, num(ctx, &exec, &stack, 1)?) {
                (Num::Int(_), Num::Int(0)) => {
                    return Err(operand_err(ctx, &exec, None, "attempt to perform 'n%%0'"))
                }
                (Num::Int(a), Num::Int(b)) => {
                    let r = a.wrapping_rem(b);
                    Value::Integer(if r != 0 && (r ^ b) < 0 { r + b } else { r })
                }
                (a, b) => {
                    let (a, b) = (float(a), float(b));
                    let mut r = a % b;
                    if r != 0.0 && (r < 0.0) != (b < 0.0) {
                        r += b;
                    }
                    Value::Number(r)
                }
            };
            stack.replace(ctx, out);
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        g,
        super::lower::SHL,
        Callback::from_fn(&ctx, |ctx, exec, mut stack| {
            if let Some(call) = operator_metamethod(ctx, &mut stack, "__shl", false) {
                return Ok(call);
            }
            let (a, b) = bits2(ctx, &exec, &stack)?;
            stack.replace(ctx, shift_left(a, b));
            Ok(CallbackReturn::Return)
        }),
    );
    for (name, metamethod, op) in [
        (
            super::lower::BAND,
            "__band",
            (|a, b| a & b) as fn(i64, i64) -> i64,
        ),
        (super::lower::BOR, "__bor", |a, b| a | b),
        (super::lower::BXOR, "__bxor", |a, b| a ^ b),
    ] {
        set(
            ctx,
            g,
            name,
            Callback::from_fn(&ctx, move |ctx, exec, mut stack| {
                if let Some(call) = operator_metamethod(ctx, &mut stack, metamethod, false) {
                    return Ok(call);
                }
                let (a, b) = bits2(ctx, &exec, &stack)?;
                stack.replace(ctx, Value::Integer(op(a, b)));
                Ok(CallbackReturn::Return)
            }),
        );
    }
    set(
        ctx,
        g,
        super::lower::BNOT,
        Callback::from_fn(&ctx, |ctx, exec, mut stack| {
            if let Some(call) = operator_metamethod(ctx, &mut stack, "__bnot", true) {
                return Ok(call);
            }
            let a = bits(ctx, &exec, &stack, 0)?;
            stack.replace(ctx, Value::Integer(!a));
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        g,
        super::lower::SHR,
        Callback::from_fn(&ctx, |ctx, exec, mut stack| {
            if let Some(call) = operator_metamethod(ctx, &mut stack, "__shr", false) {
                return Ok(call);
            }
            let (a, b) = bits2(ctx, &exec, &stack)?;
            stack.replace(ctx, shift_left(a, b.checked_neg().unwrap_or(64)));
            Ok(CallbackReturn::Return)
        }),
    );
    // `(f())`: the first value only.
    set(
        ctx,
        g,
        super::lower::FIRST,
        Callback::from_fn(&ctx, |ctx, _, mut stack| {
            let first = stack.get(0);
            stack.replace(ctx, first);
            Ok(CallbackReturn::Return)
        }),
    );
}

fn install_base<'gc>(ctx: Context<'gc>, shared: &Rc<Shared>) {
    let g = ctx.globals();
    let sh = shared.clone();
    set(
        ctx,
        g,
        "print",
        Callback::from_fn(&ctx, move |_ctx, mut exec, mut stack| {
            let mut line = Vec::new();
            for i in 0..stack.len() {
                if i > 0 {
                    line.push(b'\t');
                }
                line.extend_from_slice(&tostring_bytes(stack.get(i)));
            }
            line.push(b'\n');
            emit(&sh, &mut exec, crate::host::LogStream::Stdout, &line);
            stack.clear();
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        g,
        "tonumber",
        Callback::from_fn(&ctx, |ctx, mut exec, mut stack| {
            let v = stack.get(0);
            let base = stack.get(1);
            let out = if base.is_nil() {
                match v {
                    Value::Integer(_) | Value::Number(_) => v,
                    Value::String(s) => {
                        charge(&mut exec, s.as_bytes().len());
                        parse_number(s.as_bytes()).unwrap_or(Value::Nil)
                    }
                    Value::Nil => return Err(bad_arg(ctx, 0, "tonumber", "value expected")),
                    _ => Value::Nil,
                }
            } else {
                let b = check_int(ctx, &stack, 1, "tonumber")?;
                if !(2..=36).contains(&b) {
                    return Err(bad_arg(ctx, 1, "tonumber", "base out of range"));
                }
                let Value::String(s) = v else {
                    return Err(bad_arg(
                        ctx,
                        0,
                        "tonumber",
                        &format!("string expected, got {}", type_name(v)),
                    ));
                };
                charge(&mut exec, s.as_bytes().len());
                parse_in_base(s.as_bytes(), b as u32).map_or(Value::Nil, Value::Integer)
            };
            stack.replace(ctx, out);
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        g,
        "rawequal",
        Callback::from_fn(&ctx, |ctx, _, mut stack| {
            if stack.len() < 2 {
                return Err(bad_arg(ctx, stack.len(), "rawequal", "value expected"));
            }
            let eq = raw_equal(stack.get(0), stack.get(1));
            stack.replace(ctx, eq);
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        g,
        "rawlen",
        Callback::from_fn(&ctx, |ctx, _, mut stack| {
            let n = match stack.get(0) {
                Value::Table(t) => t.length(),
                Value::String(s) => s.len(),
                _ => return Err(bad_arg(ctx, 0, "rawlen", "table or string expected")),
            };
            stack.replace(ctx, n);
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        g,
        "error",
        Callback::from_fn(&ctx, |ctx, exec, stack| {
            let v = stack.get(0);
            let level = match stack.get(1) {
                Value::Nil => 1,
                Value::Integer(n) => n,
                Value::Number(x) => x as i64,
                _ => 1,
            };
            // A string message gets the position of the function `level` calls down (1: the
            // caller of `error`), when that function is Lua; level 0 or a level past the
            // bottom of the stack adds nothing.
            if let Value::String(s) = v {
                let at = usize::try_from(level).ok().and_then(|l| where_at(&exec, l));
                if let Some(at) = at {
                    let mut msg = at.into_bytes();
                    msg.extend_from_slice(s.as_bytes());
                    return Err(Error::from(Value::String(ctx.intern(&msg))));
                }
            }
            Err(Error::from(v))
        }),
    );
    set(
        ctx,
        g,
        "assert",
        Callback::from_fn(&ctx, |ctx, exec, stack| {
            if stack.get(0).to_bool() {
                return Ok(CallbackReturn::Return);
            }
            // As `error(message)`: a string message, or the default one, gets the caller's
            // position (Lua 5.4's `assert` raises through `error`).
            let message = match stack.get(1) {
                Value::Nil if stack.len() < 2 => Value::String(ctx.intern(b"assertion failed!")),
                m => m,
            };
            match (message, where_at(&exec, 1)) {
                (Value::String(s), Some(at)) => {
                    let mut msg = at.into_bytes();
                    msg.extend_from_slice(s.as_bytes());
                    Err(Error::from(Value::String(ctx.intern(&msg))))
                }
                (m, _) => Err(Error::from(m)),
            }
        }),
    );
    install_collectgarbage(ctx);
    // `select(n, ...)`: indices compared as integers, so a huge index answers nothing on every
    // target (piccolo's cast it to `usize`, which wraps on wasm32: `select(2^32 + 1, 'a')`
    // gave `'a'` there) and `math.mininteger` is out of range, not a panic or a wrap.
    set(
        ctx,
        g,
        "select",
        Callback::from_fn(&ctx, |ctx, _, mut stack| {
            let count = i64::try_from(stack.len()).unwrap_or(i64::MAX) - 1;
            if matches!(stack.get(0), Value::String(s) if s.as_bytes() == b"#") {
                stack.replace(ctx, count);
                return Ok(CallbackReturn::Return);
            }
            let n = check_int(ctx, &stack, 0, "select")?;
            let out_of_range = || bad_arg(ctx, 0, "select", "index out of range");
            if n > 0 {
                let drop = usize::try_from(n.min(count + 1)).map_err(|_| out_of_range())?;
                drop_front(&mut stack, drop);
            } else if n < 0 && n.unsigned_abs() <= count.unsigned_abs() {
                let keep = usize::try_from(n.unsigned_abs()).map_err(|_| out_of_range())?;
                let len = stack.len();
                drop_front(&mut stack, len - keep);
            } else {
                return Err(out_of_range());
            }
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        g,
        "pcall",
        Callback::from_fn(&ctx, |ctx, _, mut stack| {
            let function = piccolo::meta_ops::call(ctx, stack.get(0))?;
            stack.pop_front();
            Ok(CallbackReturn::Call {
                function,
                then: Some(BoxSequence::new(
                    &ctx,
                    XPCall {
                        handler: None,
                        handling: false,
                    },
                )),
            })
        }),
    );
    set(
        ctx,
        g,
        "xpcall",
        Callback::from_fn(&ctx, |ctx, _, mut stack| {
            let f = stack.get(0);
            let Value::Function(handler) = stack.get(1) else {
                return Err(bad_arg(ctx, 1, "xpcall", "function expected"));
            };
            let function = piccolo::meta_ops::call(ctx, f)?;
            stack.drain(0..2);
            Ok(CallbackReturn::Call {
                function,
                then: Some(BoxSequence::new(
                    &ctx,
                    XPCall {
                        handler: Some(handler),
                        handling: false,
                    },
                )),
            })
        }),
    );
}

/// `collectgarbage(opt, ...)` with every option of Lua 5.4 answered: piccolo's collector runs
/// on its own (incrementally, between steps), so `collect` and `step` do not force a cycle,
/// `stop` does not stop it (`isrunning` reports what was asked), and the mode and tuning
/// options return the previous setting; `count` is the VM's heap in KiB.
fn install_collectgarbage<'gc>(ctx: Context<'gc>) {
    struct Settings {
        running: bool,
        generational: bool,
        pause: i64,
        stepmul: i64,
    }
    let settings = std::cell::RefCell::new(Settings {
        running: true,
        generational: false,
        pause: 200,
        stepmul: 100,
    });
    let f = Callback::from_fn(&ctx, move |ctx, _, mut stack| {
        let option = match stack.get(0) {
            Value::Nil => b"collect".to_vec(),
            Value::String(s) => s.as_bytes().to_vec(),
            other => {
                return Err(bad_arg(
                    ctx,
                    0,
                    "collectgarbage",
                    &format!("string expected, got {}", other.type_name()),
                ))
            }
        };
        let mut st = settings.borrow_mut();
        let mode = |generational: bool| {
            if generational {
                "generational"
            } else {
                "incremental"
            }
        };
        let answer: Value = match option.as_slice() {
            b"collect" => Value::Integer(0),
            b"count" => Value::Number(ctx.metrics().total_allocation() as f64 / 1024.0),
            b"step" => Value::Boolean(true),
            b"isrunning" => Value::Boolean(st.running),
            b"stop" | b"restart" => {
                st.running = option == b"restart";
                Value::Integer(0)
            }
            b"incremental" | b"generational" => {
                let previous = mode(st.generational);
                st.generational = option == b"generational";
                Value::String(ctx.intern(previous.as_bytes()))
            }
            b"setpause" | b"setstepmul" => {
                let new = match stack.get(1) {
                    Value::Integer(n) => n,
                    _ => 0,
                };
                let slot = if option == b"setpause" {
                    &mut st.pause
                } else {
                    &mut st.stepmul
                };
                Value::Integer(std::mem::replace(slot, new))
            }
            other => {
                return Err(bad_arg(
                    ctx,
                    0,
                    "collectgarbage",
                    &format!("invalid option '{}'", String::from_utf8_lossy(other)),
                ))
            }
        };
        stack.replace(ctx, answer);
        Ok(CallbackReturn::Return)
    });
    set(ctx, ctx.globals(), "collectgarbage", f);
}

/// Writes `bytes` to the plugin's log sink on `stream`, charged fuel, within the call's
/// `max_log_bytes` (the rest is dropped).
pub(crate) fn emit(
    sh: &Shared,
    exec: &mut Execution<'_, '_>,
    stream: crate::host::LogStream,
    bytes: &[u8],
) {
    charge(exec, bytes.len());
    let mut used = sh.log_bytes.borrow_mut();
    let room = sh.limits.max_log_bytes.saturating_sub(*used);
    *used = used.saturating_add(bytes.len());
    if let (Some(sink), true) = (&sh.log, room > 0) {
        let take = bytes.len().min(room);
        sink(&crate::host::LogRecord {
            plugin: sh.plugin.clone(),
            stream,
            message: String::from_utf8_lossy(&bytes[..take]).into_owned(),
        });
    }
}

/// Drops the first `n` values of the stack.
fn drop_front(stack: &mut Stack<'_, '_>, n: usize) {
    drop(stack.drain(..n.min(stack.len())));
}

/// The value `pcall`/`xpcall` hand to Lua for an error: a string for the errors piccolo's own
/// library raises (as Lua's are; piccolo gives an opaque userdata), the error's own value
/// otherwise (a Lua value as raised, or one of our host errors, which keeps its kind when
/// raised again).
pub(crate) fn caught<'gc>(ctx: Context<'gc>, error: Error<'gc>) -> Value<'gc> {
    match &error {
        Error::Runtime(r) if r.downcast::<crate::error::Error>().is_none() => {
            Value::String(ctx.intern(r.to_string().as_bytes()))
        }
        _ => error.to_value(ctx),
    }
}

fn raw_equal<'gc>(a: Value<'gc>, b: Value<'gc>) -> bool {
    match (a, b) {
        (Value::Integer(x), Value::Number(y)) | (Value::Number(y), Value::Integer(x)) => {
            x as f64 == y && float_to_int(y) == Some(x)
        }
        (Value::Nil, Value::Nil) => true,
        (Value::Boolean(x), Value::Boolean(y)) => x == y,
        (Value::Integer(x), Value::Integer(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::String(x), Value::String(y)) => x.as_bytes() == y.as_bytes(),
        (Value::Table(x), Value::Table(y)) => x == y,
        (Value::Function(x), Value::Function(y)) => x == y,
        (Value::Thread(x), Value::Thread(y)) => x == y,
        (Value::UserData(x), Value::UserData(y)) => x == y,
        _ => false,
    }
}

fn parse_in_base(s: &[u8], base: u32) -> Option<i64> {
    let text = std::str::from_utf8(s).ok()?.trim();
    let (neg, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: i64 = 0;
    for c in digits.chars() {
        let d = c.to_digit(base)?;
        n = n.wrapping_mul(i64::from(base)).wrapping_add(i64::from(d));
    }
    Some(if neg { n.wrapping_neg() } else { n })
}

/// `pcall` (no handler) and `xpcall`: `true` and the results, or `false` and the error
/// ([`caught`]), passed through the handler first if there is one.
#[derive(gc_arena::Collect)]
#[collect(no_drop)]
struct XPCall<'gc> {
    handler: Option<Function<'gc>>,
    handling: bool,
}

impl<'gc> Sequence<'gc> for XPCall<'gc> {
    fn poll(
        &mut self,
        _ctx: Context<'gc>,
        _exec: Execution<'gc, '_>,
        mut stack: Stack<'gc, '_>,
    ) -> Result<SequencePoll<'gc>, Error<'gc>> {
        // Either the function returned (prepend true), or the handler did (prepend false).
        stack.push_front(Value::Boolean(!self.handling));
        Ok(SequencePoll::Return)
    }

    fn error(
        &mut self,
        ctx: Context<'gc>,
        _exec: Execution<'gc, '_>,
        error: Error<'gc>,
        mut stack: Stack<'gc, '_>,
    ) -> Result<SequencePoll<'gc>, Error<'gc>> {
        if self.handling {
            // The handler itself failed: Lua returns false and the error.
            stack.clear();
            stack.extend([Value::Boolean(false), caught(ctx, error)]);
            return Ok(SequencePoll::Return);
        }
        stack.clear();
        let Some(handler) = self.handler else {
            stack.extend([Value::Boolean(false), caught(ctx, error)]);
            return Ok(SequencePoll::Return);
        };
        self.handling = true;
        stack.push_back(caught(ctx, error));
        Ok(SequencePoll::Call {
            function: handler,
            is_tail: false,
        })
    }
}

// ------------------------------------------------------------------------------------ table

/// The most elements `table.unpack`/`table.move`/`table.concat` handle in one call.
pub(crate) const MAX_ELEMENTS: i64 = 1 << 20;

fn install_table<'gc>(ctx: Context<'gc>, shared: &Rc<Shared>) {
    let t = Table::new(&ctx);
    set(
        ctx,
        t,
        "insert",
        Callback::from_fn(&ctx, |ctx, mut exec, mut stack| {
            let table = check_table(ctx, &stack, 0, "insert")?;
            let n = table.length();
            match stack.len() {
                2 => {
                    let v = stack.get(1);
                    table
                        .set(ctx, n.wrapping_add(1), v)
                        .map_err(|e| lua_err(ctx, e.to_string()))?;
                }
                3 => {
                    let pos = check_int(ctx, &stack, 1, "insert")?;
                    if pos < 1 || pos > n.saturating_add(1) {
                        return Err(bad_arg(ctx, 1, "insert", "position out of bounds"));
                    }
                    charge_wide(&mut exec, span(pos, n).saturating_mul(16));
                    let mut i = n;
                    while i >= pos {
                        let v = table.get(ctx, i);
                        table
                            .set(ctx, i + 1, v)
                            .map_err(|e| lua_err(ctx, e.to_string()))?;
                        i -= 1;
                    }
                    let v = stack.get(2);
                    table
                        .set(ctx, pos, v)
                        .map_err(|e| lua_err(ctx, e.to_string()))?;
                }
                _ => return Err(lua_err(ctx, "wrong number of arguments to 'insert'")),
            }
            stack.clear();
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        t,
        "remove",
        Callback::from_fn(&ctx, |ctx, mut exec, mut stack| {
            let table = check_table(ctx, &stack, 0, "remove")?;
            let size = table.length();
            let mut pos = opt_int(ctx, &stack, 1, "remove", size)?;
            if pos != size && (pos as u64).wrapping_sub(1) > size as u64 {
                return Err(bad_arg(ctx, 1, "remove", "position out of bounds"));
            }
            let removed = table.get(ctx, pos);
            charge_wide(&mut exec, span(pos, size - 1).saturating_mul(16));
            while pos < size {
                let v = table.get(ctx, pos + 1);
                table
                    .set(ctx, pos, v)
                    .map_err(|e| lua_err(ctx, e.to_string()))?;
                pos += 1;
            }
            let _ = table.set(ctx, pos, Value::Nil);
            stack.replace(ctx, removed);
            Ok(CallbackReturn::Return)
        }),
    );
    let sh = shared.clone();
    set(
        ctx,
        t,
        "concat",
        Callback::from_fn(&ctx, move |ctx, mut exec, mut stack| {
            let table = check_table(ctx, &stack, 0, "concat")?;
            let sep = if stack.get(1).is_nil() {
                &[][..]
            } else {
                check_bytes(ctx, &stack, 1, "concat")?
            };
            let i = opt_int(ctx, &stack, 2, "concat", 1)?;
            let j = if stack.get(3).is_nil() {
                table.length()
            } else {
                check_int(ctx, &stack, 3, "concat")?
            };
            let mut out = Vec::new();
            let mut k = i;
            while k <= j {
                let item = match table.get(ctx, k) {
                    Value::String(s) => s.as_bytes().to_vec(),
                    Value::Integer(n) => n.to_string().into_bytes(),
                    Value::Number(x) => convert::format_number(x).into_bytes(),
                    v => {
                        return Err(lua_err(
                            ctx,
                            format!(
                                "invalid value ({}) at index {k} in table for 'concat'",
                                v.type_name()
                            ),
                        ))
                    }
                };
                if !string_fits(
                    ctx,
                    sh.limits.memory_bytes,
                    out.len() + item.len() + sep.len(),
                ) {
                    return Err(out_of_room(sh.limits.memory_bytes));
                }
                charge(&mut exec, item.len() + sep.len() + 16);
                out.extend_from_slice(&item);
                if k < j {
                    out.extend_from_slice(sep);
                }
                if k == i64::MAX {
                    break;
                }
                k += 1;
            }
            stack.replace(ctx, new_string(ctx, out));
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        t,
        "pack",
        Callback::from_fn(&ctx, |ctx, mut exec, mut stack| {
            let t = Table::new(&ctx);
            charge(&mut exec, stack.len() * 16);
            for i in 0..stack.len() {
                let _ = t.set(ctx, i as i64 + 1, stack.get(i));
            }
            let _ = t.set(ctx, "n", stack.len() as i64);
            stack.replace(ctx, t);
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        t,
        "unpack",
        Callback::from_fn(&ctx, |ctx, mut exec, mut stack| {
            let table = check_table(ctx, &stack, 0, "unpack")?;
            let i = opt_int(ctx, &stack, 1, "unpack", 1)?;
            let j = if stack.get(2).is_nil() {
                table.length()
            } else {
                check_int(ctx, &stack, 2, "unpack")?
            };
            if i > j {
                stack.clear();
                return Ok(CallbackReturn::Return);
            }
            let count = (j as i128) - (i as i128) + 1;
            if count > i128::from(MAX_ELEMENTS) {
                return Err(lua_err(ctx, "too many results to unpack"));
            }
            charge(&mut exec, count as usize * 16);
            stack.clear();
            let mut k = i;
            loop {
                stack.push_back(table.get(ctx, k));
                if k == j {
                    break;
                }
                k += 1;
            }
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        t,
        "move",
        Callback::from_fn(&ctx, |ctx, mut exec, mut stack| {
            let a1 = check_table(ctx, &stack, 0, "move")?;
            let f = check_int(ctx, &stack, 1, "move")?;
            let e = check_int(ctx, &stack, 2, "move")?;
            let tpos = check_int(ctx, &stack, 3, "move")?;
            let a2 = match stack.get(4) {
                Value::Nil => a1,
                _ => check_table(ctx, &stack, 4, "move")?,
            };
            if e >= f {
                let count = (e as i128) - (f as i128) + 1;
                if count > i128::from(MAX_ELEMENTS) || f <= 0 && e >= i64::MAX + f {
                    return Err(bad_arg(ctx, 2, "move", "too many elements to move"));
                }
                if tpos > i64::MAX - (e - f) {
                    return Err(bad_arg(ctx, 3, "move", "destination wrap around"));
                }
                charge(&mut exec, count as usize * 16);
                let n = e - f;
                let overlap = tpos > f && tpos <= e && a1 == a2;
                for k in 0..=n {
                    let k = if overlap { n - k } else { k };
                    let v = a1.get(ctx, f + k);
                    a2.set(ctx, tpos + k, v)
                        .map_err(|err| lua_err(ctx, err.to_string()))?;
                }
            }
            stack.replace(ctx, a2);
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        t,
        "sort",
        Callback::from_fn(&ctx, |ctx, mut exec, mut stack| {
            let table = check_table(ctx, &stack, 0, "sort")?;
            let n = table.length();
            if n > MAX_ELEMENTS {
                return Err(bad_arg(ctx, 0, "sort", "array too big"));
            }
            let items: Vec<Value> = (1..=n).map(|i| table.get(ctx, i)).collect();
            charge(&mut exec, items.len() * 16);
            // Without a comparator, tables (or userdata) with `__lt` compare through it.
            let comparator = match stack.get(1) {
                Value::Nil => items
                    .iter()
                    .find_map(|v| metamethod(ctx, *v, "__lt"))
                    .map_or(Value::Nil, Value::Function),
                given => given,
            };
            match comparator {
                Value::Nil => {
                    let mut items = items;
                    let mut failure = None;
                    items.sort_by(|a, b| match default_less(*a, *b) {
                        Ok(true) => std::cmp::Ordering::Less,
                        Ok(false) => match default_less(*b, *a) {
                            Ok(true) => std::cmp::Ordering::Greater,
                            _ => std::cmp::Ordering::Equal,
                        },
                        Err(m) => {
                            failure.get_or_insert(m);
                            std::cmp::Ordering::Equal
                        }
                    });
                    if let Some(m) = failure {
                        return Err(lua_err(ctx, m));
                    }
                    for (i, v) in items.into_iter().enumerate() {
                        let _ = table.set(ctx, i as i64 + 1, v);
                    }
                    stack.clear();
                    Ok(CallbackReturn::Return)
                }
                Value::Function(cmp) => {
                    stack.clear();
                    let mut sort = MergeSort::new(table, items, cmp);
                    match sort.next_comparison(&mut stack) {
                        Some(function) => Ok(CallbackReturn::Call {
                            function,
                            then: Some(BoxSequence::new(&ctx, sort)),
                        }),
                        None => {
                            sort.write_back(ctx);
                            Ok(CallbackReturn::Return)
                        }
                    }
                }
                _ => Err(bad_arg(ctx, 1, "sort", "function expected")),
            }
        }),
    );
    set(ctx, ctx.globals(), "table", t);
}

/// `a < b` for numbers and strings (what `table.sort` does without a comparator).
fn default_less(a: Value<'_>, b: Value<'_>) -> Result<bool, String> {
    Ok(match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => x < y,
        (Value::Integer(x), Value::Number(y)) => (x as f64) < y,
        (Value::Number(x), Value::Integer(y)) => x < y as f64,
        (Value::Number(x), Value::Number(y)) => x < y,
        (Value::String(x), Value::String(y)) => x.as_bytes() < y.as_bytes(),
        _ => {
            return Err(format!(
                "attempt to compare {} with {}",
                a.type_name(),
                b.type_name()
            ))
        }
    })
}

/// A bottom-up merge sort that asks the Lua comparator one question at a time (a `Sequence`
/// calls it and resumes with the answer), so sorting never re-enters the VM.
#[derive(gc_arena::Collect)]
#[collect(no_drop)]
struct MergeSort<'gc> {
    table: Table<'gc>,
    cmp: Function<'gc>,
    src: Vec<Value<'gc>>,
    dst: Vec<Value<'gc>>,
    width: usize,
    /// The run being merged: [lo, mid) and [mid, hi), positions i and j, output k.
    lo: usize,
    i: usize,
    j: usize,
    #[collect(require_static)]
    asked: bool,
}

impl<'gc> MergeSort<'gc> {
    fn new(table: Table<'gc>, items: Vec<Value<'gc>>, cmp: Function<'gc>) -> Self {
        let n = items.len();
        Self {
            table,
            cmp,
            dst: Vec::with_capacity(n),
            src: items,
            width: 1,
            lo: 0,
            i: 0,
            j: 1.min(n),
            asked: false,
        }
    }

    fn bounds(&self) -> (usize, usize) {
        let n = self.src.len();
        (
            (self.lo + self.width).min(n),
            (self.lo + 2 * self.width).min(n),
        )
    }

    /// Advances the merge until a comparison is needed (puts `src[j], src[i]` on the stack and
    /// returns the comparator) or the sort is done (`None`).
    fn next_comparison(&mut self, stack: &mut Stack<'gc, '_>) -> Option<Function<'gc>> {
        let n = self.src.len();
        loop {
            if self.width >= n {
                return None;
            }
            let (mid, hi) = self.bounds();
            if self.i < mid && self.j < hi {
                // Stable: take from the right run only if right < left.
                stack.clear();
                stack.push_back(self.src[self.j]);
                stack.push_back(self.src[self.i]);
                self.asked = true;
                return Some(self.cmp);
            }
            // One run is exhausted: copy the rest, go to the next pair of runs.
            self.dst.extend_from_slice(&self.src[self.i..mid]);
            self.dst.extend_from_slice(&self.src[self.j.max(mid)..hi]);
            self.lo = hi;
            if self.lo >= n {
                std::mem::swap(&mut self.src, &mut self.dst);
                self.dst.clear();
                self.width *= 2;
                self.lo = 0;
            }
            let (mid, _) = self.bounds();
            self.i = self.lo;
            self.j = mid;
        }
    }

    fn answer(&mut self, right_first: bool) {
        if right_first {
            self.dst.push(self.src[self.j]);
            self.j += 1;
        } else {
            self.dst.push(self.src[self.i]);
            self.i += 1;
        }
    }

    fn write_back(&self, ctx: Context<'gc>) {
        for (i, v) in self.src.iter().enumerate() {
            let _ = self.table.set(ctx, i as i64 + 1, *v);
        }
    }
}

impl<'gc> Sequence<'gc> for MergeSort<'gc> {
    fn poll(
        &mut self,
        ctx: Context<'gc>,
        mut exec: Execution<'gc, '_>,
        mut stack: Stack<'gc, '_>,
    ) -> Result<SequencePoll<'gc>, Error<'gc>> {
        if self.asked {
            self.asked = false;
            let right_first = stack.get(0).to_bool();
            self.answer(right_first);
        }
        charge(&mut exec, 16);
        match self.next_comparison(&mut stack) {
            Some(function) => Ok(SequencePoll::Call {
                function,
                is_tail: false,
            }),
            None => {
                self.write_back(ctx);
                stack.clear();
                Ok(SequencePoll::Return)
            }
        }
    }
}

// ------------------------------------------------------------------------------------- utf8

const UTF8_CHARPATTERN: &[u8] = b"[\x00-\x7F\xC2-\xFD][\x80-\xBF]*";
const MAX_UTF: u32 = 0x7FFF_FFFF;

/// Encodes a code point as Lua 5.4 does (up to 6 bytes for values up to 2^31).
fn utf8_encode(mut x: u32, out: &mut Vec<u8>) {
    if x < 0x80 {
        out.push(x as u8);
        return;
    }
    let mut buf = [0u8; 8];
    let mut n = 1;
    let mut mfb: u32 = 0x3f;
    loop {
        buf[8 - n] = 0x80 | (x & 0x3f) as u8;
        n += 1;
        x >>= 6;
        mfb >>= 1;
        if x <= mfb {
            break;
        }
    }
    buf[8 - n] = ((!mfb << 1) | x) as u8;
    out.extend_from_slice(&buf[8 - n..]);
}

/// Decodes one sequence at the start of `s`: (code point, length), or `None` if invalid
/// (`strict`: no surrogates, nothing over 0x10FFFF).
fn utf8_decode(s: &[u8], strict: bool) -> Option<(u32, usize)> {
    let c = u32::from(*s.first()?);
    if c < 0x80 {
        return Some((c, 1));
    }
    if c & 0x40 == 0 {
        return None; // a continuation byte
    }
    const LIMITS: [u32; 6] = [!0, 0x80, 0x800, 0x1_0000, 0x20_0000, 0x400_0000];
    let mut res: u32 = 0;
    let mut count = 0usize;
    let mut c = c;
    while c & 0x40 != 0 {
        count += 1;
        let cc = u32::from(*s.get(count)?);
        if cc & 0xC0 != 0x80 {
            return None;
        }
        res = (res << 6) | (cc & 0x3F);
        c <<= 1;
    }
    if count > 5 {
        return None;
    }
    res |= (c & 0x7F) << (count * 5);
    if res > MAX_UTF || res < LIMITS[count] {
        return None;
    }
    if strict && (res > 0x10FFFF || (0xD800..=0xDFFF).contains(&res)) {
        return None;
    }
    Some((res, count + 1))
}

/// A Lua string position (negative from the end) as a 0-based index into `len` bytes.
fn posrelat(pos: i64, len: usize) -> i64 {
    if pos >= 0 {
        pos
    } else if pos.unsigned_abs() > len as u64 {
        0
    } else {
        len as i64 + pos + 1
    }
}

fn install_utf8<'gc>(ctx: Context<'gc>) {
    let t = Table::new(&ctx);
    set(
        ctx,
        t,
        "charpattern",
        Value::String(ctx.intern(UTF8_CHARPATTERN)),
    );
    set(
        ctx,
        t,
        "char",
        Callback::from_fn(&ctx, |ctx, mut exec, mut stack| {
            let mut out = Vec::with_capacity(stack.len());
            for i in 0..stack.len() {
                let c = check_int(ctx, &stack, i, "char")?;
                if !(0..=i64::from(MAX_UTF)).contains(&c) {
                    return Err(bad_arg(ctx, i, "char", "value out of range"));
                }
                utf8_encode(c as u32, &mut out);
            }
            charge(&mut exec, out.len());
            stack.replace(ctx, new_string(ctx, out));
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        t,
        "codepoint",
        Callback::from_fn(&ctx, |ctx, mut exec, mut stack| {
            let s = check_bytes(ctx, &stack, 0, "codepoint")?;
            let i = posrelat(opt_int(ctx, &stack, 1, "codepoint", 1)?, s.len());
            let j = posrelat(opt_int(ctx, &stack, 2, "codepoint", i)?, s.len());
            let lax = stack.get(3).to_bool();
            if i < 1 {
                return Err(bad_arg(ctx, 1, "codepoint", "out of bounds"));
            }
            if j > s.len() as i64 {
                return Err(bad_arg(ctx, 2, "codepoint", "out of bounds"));
            }
            stack.clear();
            if i > j {
                return Ok(CallbackReturn::Return);
            }
            charge(&mut exec, (j - i + 1) as usize);
            let mut p = (i - 1) as usize;
            while p < j as usize {
                let Some((c, n)) = utf8_decode(&s[p..], !lax) else {
                    return Err(lua_err(ctx, "invalid UTF-8 code"));
                };
                stack.push_back(Value::Integer(i64::from(c)));
                p += n;
            }
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        t,
        "len",
        Callback::from_fn(&ctx, |ctx, mut exec, mut stack| {
            let s = check_bytes(ctx, &stack, 0, "len")?;
            let i = posrelat(opt_int(ctx, &stack, 1, "len", 1)?, s.len());
            let j = posrelat(opt_int(ctx, &stack, 2, "len", -1)?, s.len());
            let lax = stack.get(3).to_bool();
            if i < 1 || i > s.len() as i64 + 1 {
                return Err(bad_arg(ctx, 1, "len", "initial position out of bounds"));
            }
            if j > s.len() as i64 {
                return Err(bad_arg(ctx, 2, "len", "final position out of bounds"));
            }
            charge(&mut exec, s.len());
            let mut p = (i - 1) as usize;
            let mut n = 0i64;
            while (p as i64) < j {
                match utf8_decode(&s[p..], !lax) {
                    Some((_, len)) => {
                        p += len;
                        n += 1;
                    }
                    None => {
                        stack.clear();
                        stack.push_back(Value::Nil);
                        stack.push_back(Value::Integer(p as i64 + 1));
                        return Ok(CallbackReturn::Return);
                    }
                }
            }
            stack.replace(ctx, n);
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        t,
        "offset",
        Callback::from_fn(&ctx, |ctx, mut exec, mut stack| {
            let s = check_bytes(ctx, &stack, 0, "offset")?;
            let n = check_int(ctx, &stack, 1, "offset")?;
            let default = if n >= 0 { 1 } else { s.len() as i64 + 1 };
            let i = posrelat(opt_int(ctx, &stack, 2, "offset", default)?, s.len());
            if i < 1 || i > s.len() as i64 + 1 {
                return Err(bad_arg(ctx, 2, "offset", "position out of bounds"));
            }
            charge(&mut exec, s.len());
            let cont = |p: i64| p >= 0 && (p as usize) < s.len() && s[p as usize] & 0xC0 == 0x80;
            let mut posi = i - 1;
            let mut n = n;
            let result = if n == 0 {
                while posi > 0 && cont(posi) {
                    posi -= 1;
                }
                Some(posi)
            } else {
                if cont(posi) {
                    return Err(lua_err(ctx, "initial position is a continuation byte"));
                }
                if n < 0 {
                    while n < 0 && posi > 0 {
                        posi -= 1;
                        while posi > 0 && cont(posi) {
                            posi -= 1;
                        }
                        n += 1;
                    }
                } else {
                    n -= 1;
                    while n > 0 && posi < s.len() as i64 {
                        posi += 1;
                        while cont(posi) {
                            posi += 1;
                        }
                        n -= 1;
                    }
                }
                (n == 0).then_some(posi)
            };
            stack.replace(ctx, result.map_or(Value::Nil, |p| Value::Integer(p + 1)));
            Ok(CallbackReturn::Return)
        }),
    );
    let step = Callback::from_fn(&ctx, |ctx, mut exec, mut stack| {
        let s = check_bytes(ctx, &stack, 0, "codes")?;
        // As Lua, a control value past the string (or negative: huge as unsigned) ends it.
        let mut i = usize::try_from(check_int(ctx, &stack, 1, "codes")?).unwrap_or(usize::MAX);
        // Skip the current character's continuation bytes.
        if i > 0 {
            while i < s.len() && s[i] & 0xC0 == 0x80 {
                i += 1;
            }
        }
        charge(&mut exec, 8);
        stack.clear();
        if i >= s.len() {
            return Ok(CallbackReturn::Return);
        }
        match utf8_decode(&s[i..], true) {
            Some((c, n)) if s.get(i + n).is_none_or(|b| b & 0xC0 != 0x80) => {
                stack.push_back(Value::Integer(i as i64 + 1));
                stack.push_back(Value::Integer(i64::from(c)));
                Ok(CallbackReturn::Return)
            }
            _ => Err(lua_err(ctx, "invalid UTF-8 code")),
        }
    });
    set(
        ctx,
        t,
        "codes",
        Callback::from_fn_with(&ctx, step, |step, ctx, _, mut stack| {
            let s = check_bytes(ctx, &stack, 0, "codes")?;
            let s = Value::String(ctx.intern(s));
            stack.clear();
            stack.push_back(Value::Function((*step).into()));
            stack.push_back(s);
            stack.push_back(Value::Integer(0));
            Ok(CallbackReturn::Return)
        }),
    );
    set(ctx, ctx.globals(), "utf8", t);
}

// --------------------------------------------------------------------------------------- os

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

struct Tm {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    min: i64,
    sec: i64,
    wday: i64,
    yday: i64,
}

fn tm(t: i64) -> Tm {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Tm {
        year,
        month,
        day,
        hour: secs / 3600,
        min: secs % 3600 / 60,
        sec: secs % 60,
        wday: (days + 4).rem_euclid(7) + 1,
        yday: days - days_from_civil(year, 1, 1) + 1,
    }
}

const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn strftime(fmt: &[u8], t: &Tm) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < fmt.len() {
        if fmt[i] != b'%' {
            out.push(fmt[i]);
            i += 1;
            continue;
        }
        let Some(&c) = fmt.get(i + 1) else {
            return Err("invalid conversion specifier '%'".into());
        };
        i += 2;
        let day = DAYS[(t.wday - 1) as usize % 7];
        let month = MONTHS[(t.month - 1) as usize % 12];
        let s = match c {
            b'a' => day[..3].to_owned(),
            b'A' => day.to_owned(),
            b'b' | b'h' => month[..3].to_owned(),
            b'B' => month.to_owned(),
            b'c' => format!(
                "{} {} {:>2} {:02}:{:02}:{:02} {}",
                &day[..3],
                &month[..3],
                t.day,
                t.hour,
                t.min,
                t.sec,
                t.year
            ),
            b'd' => format!("{:02}", t.day),
            b'e' => format!("{:>2}", t.day),
            b'D' | b'x' => format!("{:02}/{:02}/{:02}", t.month, t.day, t.year.rem_euclid(100)),
            b'F' => format!("{}-{:02}-{:02}", t.year, t.month, t.day),
            b'H' => format!("{:02}", t.hour),
            b'I' => format!("{:02}", (t.hour + 11) % 12 + 1),
            b'j' => format!("{:03}", t.yday),
            b'm' => format!("{:02}", t.month),
            b'M' => format!("{:02}", t.min),
            b'n' => "\n".to_owned(),
            b'p' => if t.hour < 12 { "AM" } else { "PM" }.to_owned(),
            b'S' => format!("{:02}", t.sec),
            b't' => "\t".to_owned(),
            b'T' | b'X' => format!("{:02}:{:02}:{:02}", t.hour, t.min, t.sec),
            b'R' => format!("{:02}:{:02}", t.hour, t.min),
            b'u' => ((t.wday + 5) % 7 + 1).to_string(),
            b'w' => (t.wday - 1).to_string(),
            b'y' => format!("{:02}", t.year.rem_euclid(100)),
            b'Y' => t.year.to_string(),
            b'z' => "+0000".to_owned(),
            b'Z' => "UTC".to_owned(),
            b'%' => "%".to_owned(),
            other => return Err(format!("invalid conversion specifier '%{}'", other as char)),
        };
        out.extend_from_slice(s.as_bytes());
    }
    Ok(out)
}

fn install_os<'gc>(ctx: Context<'gc>, shared: &Rc<Shared>) {
    let t = Table::new(&ctx);
    // `os.setlocale`: the sandbox has only the "C" locale (querying or asking for it answers
    // "C"; any other is unavailable: nil, as Lua answers for a locale it cannot set).
    set(
        ctx,
        t,
        "setlocale",
        Callback::from_fn(&ctx, |ctx, _, mut stack| {
            let answer = match stack.get(0) {
                Value::Nil => Value::String(ctx.intern(b"C")),
                Value::String(s) if matches!(s.as_bytes(), b"" | b"C" | b"POSIX") => {
                    Value::String(ctx.intern(b"C"))
                }
                _ => Value::Nil,
            };
            stack.replace(ctx, answer);
            Ok(CallbackReturn::Return)
        }),
    );
    // Seconds since the Unix epoch from the host's clock (`WasiConfig::clock`).
    let env = shared.env.clone();
    let now = move || env.now_nanos() / 1_000_000_000;
    let now_time = now.clone();
    let now_date = now.clone();
    set(
        ctx,
        t,
        "time",
        Callback::from_fn(&ctx, move |ctx, _, mut stack| {
            let out = match stack.get(0) {
                Value::Nil => now_time() as i64,
                Value::Table(tt) => {
                    let field = |name: &str, default: Option<i64>| -> Result<i64, Error<'gc>> {
                        match tt.get(ctx, ctx.intern(name.as_bytes())) {
                            Value::Integer(n) => Ok(n),
                            Value::Number(x) => float_to_int(x).ok_or_else(|| {
                                lua_err(ctx, format!("field '{name}' is not an integer"))
                            }),
                            Value::Nil => default.ok_or_else(|| {
                                lua_err(ctx, format!("field '{name}' missing in date table"))
                            }),
                            _ => Err(lua_err(ctx, format!("field '{name}' is not an integer"))),
                        }
                    };
                    let (y, m, d) = (
                        field("year", None)?,
                        field("month", None)?,
                        field("day", None)?,
                    );
                    let (h, mi, s) = (
                        field("hour", Some(12))?,
                        field("min", Some(0))?,
                        field("sec", Some(0))?,
                    );
                    if [y, m, d, h, mi, s]
                        .iter()
                        .any(|v| v.unsigned_abs() > 1 << 40)
                    {
                        return Err(lua_err(ctx, "time result cannot be represented"));
                    }
                    // Months out of range normalise, as mktime does.
                    let (y, m) = (y + (m - 1).div_euclid(12), (m - 1).rem_euclid(12) + 1);
                    days_from_civil(y, m, 1) * 86_400 + (d - 1) * 86_400 + h * 3600 + mi * 60 + s
                }
                _ => return Err(bad_arg(ctx, 0, "time", "table expected")),
            };
            stack.replace(ctx, out);
            Ok(CallbackReturn::Return)
        }),
    );
    let env = shared.env.clone();
    let started = env.now_nanos();
    set(
        ctx,
        t,
        "clock",
        Callback::from_fn(&ctx, move |ctx, _, mut stack| {
            let secs = env.now_nanos().saturating_sub(started) as f64 / 1e9;
            stack.replace(ctx, secs);
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        t,
        "date",
        Callback::from_fn(&ctx, move |ctx, mut exec, mut stack| {
            let fmt = if stack.get(0).is_nil() {
                &b"%c"[..]
            } else {
                check_bytes(ctx, &stack, 0, "date")?
            };
            let time = if stack.get(1).is_nil() {
                now_date() as i64
            } else {
                check_int(ctx, &stack, 1, "date")?
            };
            if time.unsigned_abs() > 1 << 45 {
                return Err(bad_arg(ctx, 1, "date", "time out-of-bounds"));
            }
            // All times are UTC: there is no time zone database in the sandbox.
            let fmt = fmt.strip_prefix(b"!").unwrap_or(fmt);
            let t = tm(time);
            charge(&mut exec, fmt.len() * 4);
            if fmt.starts_with(b"*t") {
                let out = Table::new(&ctx);
                for (k, v) in [
                    ("year", t.year),
                    ("month", t.month),
                    ("day", t.day),
                    ("hour", t.hour),
                    ("min", t.min),
                    ("sec", t.sec),
                    ("wday", t.wday),
                    ("yday", t.yday),
                ] {
                    let _ = out.set(ctx, k, v);
                }
                let _ = out.set(ctx, "isdst", false);
                stack.replace(ctx, out);
            } else {
                let s = strftime(fmt, &t).map_err(|m| bad_arg(ctx, 0, "date", &m))?;
                stack.replace(ctx, ctx.intern(&s));
            }
            Ok(CallbackReturn::Return)
        }),
    );
    set(ctx, ctx.globals(), "os", t);
}

// ------------------------------------------------------------------------------------- math

/// `math.random`/`math.randomseed` on a xoshiro256** generator seeded by the host
/// (`WasiConfig::random_seed`, else its clock): the same seed gives the same numbers on every
/// platform.
fn install_random<'gc>(ctx: Context<'gc>, shared: &Rc<Shared>) {
    let Value::Table(math) = ctx.get_global("math") else {
        return;
    };
    let state = Rc::new(std::cell::Cell::new(seed_state(shared.env.seed())));
    let st = state.clone();
    set(
        ctx,
        math,
        "random",
        Callback::from_fn(&ctx, move |ctx, _, mut stack| {
            let r = next(&st);
            let out = match stack.len() {
                0 => Value::Number((r >> 11) as f64 * (1.0 / (1u64 << 53) as f64)),
                // `math.random(0)`: an integer with all bits random (Lua 5.4).
                1 if matches!(stack.get(0), Value::Integer(0)) => Value::Integer(r as i64),
                n => {
                    let (lo, hi) = if n == 1 {
                        (1, check_int(ctx, &stack, 0, "random")?)
                    } else {
                        (
                            check_int(ctx, &stack, 0, "random")?,
                            check_int(ctx, &stack, 1, "random")?,
                        )
                    };
                    if lo > hi {
                        return Err(bad_arg(ctx, n - 1, "random", "interval is empty"));
                    }
                    let span = (hi as i128 - lo as i128 + 1) as u128;
                    Value::Integer((lo as i128 + (u128::from(r) % span) as i128) as i64)
                }
            };
            stack.replace(ctx, out);
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        math,
        "randomseed",
        // Returns the two seed components, which seed the same sequence again (Lua 5.4.4+):
        // `randomseed()` uses the host's (fixed) seed, so calls are reproducible.
        Callback::from_fn(&ctx, move |ctx, _, mut stack| {
            let (first, second) = if stack.get(0).is_nil() {
                (Value::Integer(0x5eed), 0)
            } else {
                let first = match stack.get(0) {
                    v @ Value::Integer(_) => v,
                    _ => Value::Number(check_num(ctx, &stack, 0, "randomseed")?),
                };
                let second = if stack.get(1).is_nil() {
                    0
                } else {
                    check_int(ctx, &stack, 1, "randomseed")?
                };
                (first, second)
            };
            let bits = match first {
                // As before for one argument: the seed is the number's float bits.
                Value::Integer(n) => (n as f64).to_bits(),
                Value::Number(x) => x.to_bits(),
                _ => 0,
            };
            state.set(seed_state(bits ^ (second as u64).rotate_left(32)));
            stack.clear();
            stack.push_back(first);
            stack.push_back(Value::Integer(second));
            Ok(CallbackReturn::Return)
        }),
    );
}

fn seed_state(seed: u64) -> [u64; 4] {
    let mut x = seed;
    let mut split = || {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    [split(), split(), split(), split()]
}

fn next(state: &std::cell::Cell<[u64; 4]>) -> u64 {
    let mut s = state.get();
    let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
    let t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s[3].rotate_left(45);
    state.set(s);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_round_trips_including_lax_values() {
        for c in [
            0u32,
            0x7f,
            0x80,
            0x7ff,
            0x800,
            0xffff,
            0x10000,
            0x10ffff,
            0x7fff_ffff,
        ] {
            let mut b = Vec::new();
            utf8_encode(c, &mut b);
            assert_eq!(utf8_decode(&b, false), Some((c, b.len())), "{c:#x}");
        }
        let mut b = Vec::new();
        utf8_encode(0x20AC, &mut b);
        assert_eq!(b, "€".as_bytes());
        assert_eq!(utf8_decode(b"\xed\xa0\x80", true), None); // a surrogate
        assert_eq!(utf8_decode(b"\xc0\x80", false), None); // overlong
    }

    #[test]
    fn dates_are_utc_civil_dates() {
        let t = tm(1_700_000_000);
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.min, t.sec),
            (2023, 11, 14, 22, 13, 20)
        );
        assert_eq!(t.wday, 3); // a Tuesday
        assert_eq!(
            days_from_civil(2023, 11, 14) * 86_400 + 22 * 3600 + 13 * 60 + 20,
            1_700_000_000
        );
        assert_eq!(
            strftime(b"%Y-%m-%d %H:%M:%S %A %j", &t).unwrap(),
            b"2023-11-14 22:13:20 Tuesday 318"
        );
    }

    #[test]
    fn numerals_parse_like_lua() {
        let n = |s: &[u8]| {
            parse_number(s).map(|v| match v {
                Value::Integer(i) => format!("i{i}"),
                Value::Number(x) => format!("f{x}"),
                _ => "?".to_owned(),
            })
        };
        assert_eq!(n(b" 42 ").as_deref(), Some("i42"));
        assert_eq!(n(b"0x10").as_deref(), Some("i16"));
        assert_eq!(n(b"0xffffffffffffffff").as_deref(), Some("i-1"));
        assert_eq!(n(b"1e3").as_deref(), Some("f1000"));
        assert_eq!(n(b"0x1p4").as_deref(), Some("f16"));
        assert_eq!(
            n(b"9223372036854775808").as_deref(),
            Some("f9223372036854776000")
        );
        assert_eq!(n(b"abc"), None);
        assert_eq!(n(b""), None);
        assert_eq!(parse_in_base(b"ff", 16), Some(255));
        assert_eq!(parse_in_base(b"zz", 36), Some(1295));
        assert_eq!(parse_in_base(b"8", 8), None);
    }
}
