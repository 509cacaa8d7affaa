//! `string.pack`, `string.unpack`, `string.packsize` (Lua 5.4 manual §6.4.2), with the sizes of
//! a 64-bit PUC Lua (`l`/`j`/`T` 8 bytes, `i` 4, native order little-endian, maximum alignment
//! 8), PUC's error messages, fuel per byte and results checked against the memory cap.

use super::stdlib::{bad_arg, charge, check_bytes, check_int, check_num, out_of_room, string_fits};
use super::Shared;
use piccolo::{Callback, CallbackReturn, Context, Error, Stack, Table, Value};
use std::rc::Rc;

/// The largest alignment `!` sets without a size (PUC's native maximum alignment).
const NATIVE_ALIGN: usize = 8;
/// The widest integer an `i`/`I`/`s` size may ask for.
const MAX_INT_SIZE: usize = 16;
/// Bytes of a Lua integer.
const INT_SIZE: usize = 8;

/// One option of a format.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Item {
    /// A signed (`true`) or unsigned integer of so many bytes.
    Int(usize, bool),
    Float,
    Double,
    /// A fixed-size string (`cn`).
    Fixed(usize),
    /// A string preceded by its length, an unsigned integer of so many bytes (`s[n]`).
    Sized(usize),
    /// A zero-terminated string.
    Zero,
    /// One byte of padding.
    Pad,
    /// Align to the next option's size, no data.
    Align(usize),
    /// `<`, `>`, `=`, `!`, ` `: settings, no data.
    Setting,
}

/// Reads a format: options with their alignment padding, and the settings they change.
struct Format<'a> {
    fmt: &'a [u8],
    at: usize,
    little: bool,
    max_align: usize,
}

impl<'a> Format<'a> {
    fn new(fmt: &'a [u8]) -> Self {
        Self {
            fmt,
            at: 0,
            little: true,
            max_align: 1,
        }
    }

    /// An optional decimal size after an option. As PUC Lua, digits are read while the number
    /// stays below `(i32::MAX - 9) / 10`: a longer number's next digit is read as an option
    /// (`c4294967297` is `c429496729` then the invalid option `7`), on every host alike.
    fn size(&mut self) -> Option<usize> {
        const MAX_READ: usize = (i32::MAX as usize - 9) / 10;
        let start = self.at;
        let mut n: usize = 0;
        while let Some(d) = self.fmt.get(self.at).filter(|c| c.is_ascii_digit()) {
            n = n * 10 + usize::from(d - b'0');
            self.at += 1;
            if n > MAX_READ {
                break;
            }
        }
        (self.at > start).then_some(n)
    }

    fn int_size(&mut self, default: usize) -> Result<usize, String> {
        let n = self.size().unwrap_or(default);
        if !(1..=MAX_INT_SIZE).contains(&n) {
            return Err(format!(
                "integral size ({n}) out of limits [1,{MAX_INT_SIZE}]"
            ));
        }
        Ok(n)
    }

    /// The next option and the padding before it (`offset`: bytes so far), or `None` at the end.
    fn next(&mut self, offset: usize) -> Result<Option<(Item, usize)>, String> {
        let Some(&c) = self.fmt.get(self.at) else {
            return Ok(None);
        };
        self.at += 1;
        let item = match c {
            b'b' => Item::Int(1, true),
            b'B' => Item::Int(1, false),
            b'h' => Item::Int(2, true),
            b'H' => Item::Int(2, false),
            b'l' | b'j' => Item::Int(INT_SIZE, true),
            b'L' | b'J' | b'T' => Item::Int(INT_SIZE, false),
            b'i' => Item::Int(self.int_size(4)?, true),
            b'I' => Item::Int(self.int_size(4)?, false),
            b'f' => Item::Float,
            b'd' | b'n' => Item::Double,
            b's' => Item::Sized(self.int_size(INT_SIZE)?),
            b'c' => match self.size() {
                Some(n) => Item::Fixed(n),
                None => return Err("missing size for format option 'c'".into()),
            },
            b'z' => Item::Zero,
            b'x' => Item::Pad,
            b'X' => {
                let mut peek = Format {
                    fmt: self.fmt,
                    at: self.at,
                    little: self.little,
                    max_align: self.max_align,
                };
                let next = peek.next(0)?;
                self.at = peek.at;
                match next.map(|(item, _)| item.size()) {
                    Some(n) if n > 0 => Item::Align(n),
                    _ => return Err("invalid next option for option 'X'".into()),
                }
            }
            b' ' => Item::Setting,
            b'<' | b'=' => {
                self.little = true;
                Item::Setting
            }
            b'>' => {
                self.little = false;
                Item::Setting
            }
            b'!' => {
                self.max_align = self.int_size(NATIVE_ALIGN)?;
                Item::Setting
            }
            other => {
                return Err(format!(
                    "invalid format option '{}'",
                    char::from(other).escape_default()
                ))
            }
        };
        Ok(Some((item, self.padding(item, offset)?)))
    }

    /// Padding before `item` at `offset`: to its alignment (its size, at most `!`'s).
    fn padding(&self, item: Item, offset: usize) -> Result<usize, String> {
        let size = match item {
            Item::Int(n, _) | Item::Align(n) => n,
            Item::Float => 4,
            Item::Double => 8,
            Item::Sized(n) => n,
            Item::Fixed(_) | Item::Zero | Item::Pad | Item::Setting => return Ok(0),
        };
        let align = size.min(self.max_align);
        if align <= 1 {
            return Ok(0);
        }
        if !align.is_power_of_two() {
            return Err("format asks for alignment not power of 2".into());
        }
        Ok((align - offset % align) % align)
    }
}

impl Item {
    /// Bytes of data (0 for variable-length strings and settings).
    fn size(self) -> usize {
        match self {
            Item::Int(n, _) => n,
            Item::Float => 4,
            Item::Double => 8,
            Item::Fixed(n) => n,
            Item::Pad => 1,
            Item::Sized(_) | Item::Zero | Item::Align(_) | Item::Setting => 0,
        }
    }
}

/// `n` as `size` bytes in the given order, sign-extended past 8 bytes.
fn put_int(out: &mut Vec<u8>, n: i64, size: usize, little: bool) {
    let fill = if n < 0 { 0xff } else { 0 };
    let bytes: Vec<u8> = (0..size)
        .map(|i| {
            if i < INT_SIZE {
                n.to_le_bytes()[i]
            } else {
                fill
            }
        })
        .collect();
    if little {
        out.extend_from_slice(&bytes);
    } else {
        out.extend(bytes.iter().rev());
    }
}

/// The integer in `bytes`; `None` when it does not fit a Lua integer.
fn get_int(bytes: &[u8], signed: bool, little: bool) -> Option<i64> {
    let le: Vec<u8> = if little {
        bytes.to_vec()
    } else {
        bytes.iter().rev().copied().collect()
    };
    let mut n: u64 = 0;
    for (i, b) in le.iter().take(INT_SIZE).enumerate() {
        n |= u64::from(*b) << (8 * i);
    }
    let size = le.len();
    if size < INT_SIZE {
        if signed {
            let shift = 64 - 8 * size as u32;
            return Some(((n << shift) as i64) >> shift);
        }
        return Some(n as i64);
    }
    // Wider than 8 bytes: the rest must be the sign extension.
    let fill = if signed && (n as i64) < 0 { 0xff } else { 0 };
    le.get(INT_SIZE..)
        .unwrap_or_default()
        .iter()
        .all(|&b| b == fill)
        .then_some(n as i64)
}

/// A format string's error, as PUC Lua raises it: `invalid next option` and a bad alignment
/// blame argument 1, the others (an invalid option, a missing or out-of-range size) are plain.
fn format_error<'gc>(ctx: Context<'gc>, f: &str, message: String) -> Error<'gc> {
    if message.starts_with("invalid next option") || message.starts_with("format asks for") {
        bad_arg(ctx, 0, f, &message)
    } else {
        super::stdlib::lua_err(ctx, message)
    }
}

fn pack<'gc>(ctx: Context<'gc>, stack: &Stack<'gc, '_>, cap: usize) -> Result<Vec<u8>, Error<'gc>> {
    let fmt = check_bytes(ctx, stack, 0, "pack")?;
    let mut f = Format::new(fmt);
    let mut out = Vec::new();
    let mut arg = 1;
    let bad = |arg: usize, msg: &str| bad_arg(ctx, arg, "pack", msg);
    loop {
        let Some((item, pad)) = f
            .next(out.len())
            .map_err(|m| format_error(ctx, "pack", m))?
        else {
            break;
        };
        if out.len().saturating_add(pad).saturating_add(item.size()) > cap {
            return Err(out_of_room(cap));
        }
        out.resize(out.len() + pad, 0);
        match item {
            Item::Int(size, signed) => {
                let n = check_int(ctx, stack, arg, "pack")?;
                if size < INT_SIZE {
                    let bits = 8 * size as u32;
                    let fits = if signed {
                        let lim = 1i64 << (bits - 1);
                        -lim <= n && n < lim
                    } else {
                        (n as u64) < (1u64 << bits)
                    };
                    if !fits {
                        return Err(bad(
                            arg,
                            if signed {
                                "integer overflow"
                            } else {
                                "unsigned overflow"
                            },
                        ));
                    }
                }
                put_int(&mut out, n, size, f.little);
                arg += 1;
            }
            Item::Float => {
                let x = check_num(ctx, stack, arg, "pack")? as f32;
                let b = if f.little {
                    x.to_le_bytes()
                } else {
                    x.to_be_bytes()
                };
                out.extend_from_slice(&b);
                arg += 1;
            }
            Item::Double => {
                let x = check_num(ctx, stack, arg, "pack")?;
                let b = if f.little {
                    x.to_le_bytes()
                } else {
                    x.to_be_bytes()
                };
                out.extend_from_slice(&b);
                arg += 1;
            }
            Item::Fixed(n) => {
                let s = check_bytes(ctx, stack, arg, "pack")?;
                if s.len() > n {
                    return Err(bad(arg, "string longer than given size"));
                }
                out.extend_from_slice(s);
                out.resize(out.len() + (n - s.len()), 0);
                arg += 1;
            }
            Item::Sized(size) => {
                let s = check_bytes(ctx, stack, arg, "pack")?;
                if size < INT_SIZE && (s.len() as u64) >= 1u64 << (8 * size as u32) {
                    return Err(bad(arg, "string length does not fit in given size"));
                }
                if out.len().saturating_add(size).saturating_add(s.len()) > cap {
                    return Err(out_of_room(cap));
                }
                put_int(&mut out, s.len() as i64, size, f.little);
                out.extend_from_slice(s);
                arg += 1;
            }
            Item::Zero => {
                let s = check_bytes(ctx, stack, arg, "pack")?;
                if s.contains(&0) {
                    return Err(bad(arg, "string contains zeros"));
                }
                if out.len().saturating_add(s.len()) >= cap {
                    return Err(out_of_room(cap));
                }
                out.extend_from_slice(s);
                out.push(0);
                arg += 1;
            }
            Item::Pad => out.push(0),
            Item::Align(_) | Item::Setting => {}
        }
    }
    Ok(out)
}

fn packsize<'gc>(ctx: Context<'gc>, stack: &Stack<'gc, '_>) -> Result<i64, Error<'gc>> {
    let fmt = check_bytes(ctx, stack, 0, "packsize")?;
    let mut f = Format::new(fmt);
    let mut total: usize = 0;
    while let Some((item, pad)) = f
        .next(total)
        .map_err(|m| format_error(ctx, "packsize", m))?
    {
        if matches!(item, Item::Sized(_) | Item::Zero) {
            return Err(bad_arg(ctx, 0, "packsize", "variable-length format"));
        }
        total = total
            .checked_add(pad + item.size())
            .filter(|&t| t <= i32::MAX as usize)
            .ok_or_else(|| bad_arg(ctx, 0, "packsize", "format result too large"))?;
    }
    Ok(total as i64)
}

fn unpack<'gc>(
    ctx: Context<'gc>,
    stack: &mut Stack<'gc, '_>,
) -> Result<Vec<Value<'gc>>, Error<'gc>> {
    let fmt = check_bytes(ctx, stack, 0, "unpack")?;
    let data = check_bytes(ctx, stack, 1, "unpack")?;
    let len = data.len() as i64;
    let init = match stack.get(2) {
        Value::Nil => 1,
        _ => check_int(ctx, stack, 2, "unpack")?,
    };
    // PUC Lua's posrelatI: 0 and positions before the start mean the start.
    let start = match init {
        1.. => init,
        0 => 1,
        _ if init < -len => 1,
        _ => len + init + 1,
    };
    if start - 1 > len {
        return Err(bad_arg(ctx, 2, "unpack", "initial position out of string"));
    }
    let mut pos = (start - 1) as usize;
    let mut f = Format::new(fmt);
    let mut out = Vec::new();
    let short = || bad_arg(ctx, 1, "unpack", "data string too short");
    let take = |pos: usize, n: usize| data.get(pos..pos.checked_add(n)?);
    while let Some((item, pad)) = f.next(pos).map_err(|m| format_error(ctx, "unpack", m))? {
        take(pos, pad + item.size()).ok_or_else(short)?;
        pos += pad;
        match item {
            Item::Int(size, signed) => {
                let bytes = take(pos, size).ok_or_else(short)?;
                let n = get_int(bytes, signed, f.little).ok_or_else(|| {
                    super::stdlib::lua_err(
                        ctx,
                        format!("{size}-byte integer does not fit into Lua Integer"),
                    )
                })?;
                out.push(Value::Integer(n));
                pos += size;
            }
            Item::Float => {
                let b: [u8; 4] = take(pos, 4)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(short)?;
                let x = if f.little {
                    f32::from_le_bytes(b)
                } else {
                    f32::from_be_bytes(b)
                };
                out.push(Value::Number(f64::from(x)));
                pos += 4;
            }
            Item::Double => {
                let b: [u8; 8] = take(pos, 8)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(short)?;
                let x = if f.little {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                };
                out.push(Value::Number(x));
                pos += 8;
            }
            Item::Fixed(n) => {
                let s = take(pos, n).ok_or_else(short)?;
                out.push(Value::String(ctx.intern(s)));
                pos += n;
            }
            Item::Sized(size) => {
                let bytes = take(pos, size).ok_or_else(short)?;
                let n = get_int(bytes, false, f.little).ok_or_else(short)?;
                pos += size;
                let n = usize::try_from(n).map_err(|_| short())?;
                let s = take(pos, n).ok_or_else(short)?;
                out.push(Value::String(ctx.intern(s)));
                pos += n;
            }
            Item::Zero => {
                let rest = data.get(pos..).unwrap_or_default();
                let end = rest
                    .iter()
                    .position(|&b| b == 0)
                    .ok_or_else(|| bad_arg(ctx, 1, "unpack", "unfinished string for format 'z'"))?;
                out.push(Value::String(ctx.intern(&rest[..end])));
                pos += end + 1;
            }
            Item::Pad => pos += 1,
            Item::Align(_) | Item::Setting => {}
        }
    }
    out.push(Value::Integer(pos as i64 + 1));
    Ok(out)
}

pub(crate) fn install<'gc>(ctx: Context<'gc>, string_lib: Table<'gc>, shared: &Rc<Shared>) {
    let cap = shared.limits.memory_bytes;
    let _ = string_lib.set(
        ctx,
        "pack",
        Callback::from_fn(&ctx, move |ctx, mut exec, mut stack| {
            let out = pack(ctx, &stack, cap)?;
            charge(&mut exec, out.len());
            if !string_fits(ctx, cap, out.len()) {
                return Err(out_of_room(cap));
            }
            stack.replace(ctx, super::stdlib::new_string(ctx, out));
            Ok(CallbackReturn::Return)
        }),
    );
    let _ = string_lib.set(
        ctx,
        "packsize",
        Callback::from_fn(&ctx, |ctx, _, mut stack| {
            let n = packsize(ctx, &stack)?;
            stack.replace(ctx, n);
            Ok(CallbackReturn::Return)
        }),
    );
    let _ = string_lib.set(
        ctx,
        "unpack",
        Callback::from_fn(&ctx, |ctx, mut exec, mut stack| {
            let values = unpack(ctx, &mut stack)?;
            charge(&mut exec, values.len() * 16);
            stack.clear();
            stack.extend(values);
            Ok(CallbackReturn::Return)
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip_at_every_width() {
        for size in 1..=16 {
            for n in [0i64, 1, -1, 127, -128, i64::MAX, i64::MIN] {
                let bits = 8 * size as u32;
                if size < 8 && !(-(1i64 << (bits - 1)) <= n && n < (1i64 << (bits - 1))) {
                    continue;
                }
                for little in [true, false] {
                    let mut out = Vec::new();
                    put_int(&mut out, n, size, little);
                    assert_eq!(out.len(), size);
                    assert_eq!(get_int(&out, true, little), Some(n), "{n} in {size}");
                }
            }
        }
        assert_eq!(get_int(&[0xff; 9], false, true), None);
    }

    #[test]
    fn alignment_pads_to_the_item_size() {
        let mut f = Format::new(b"!4 b i");
        assert_eq!(f.next(0), Ok(Some((Item::Setting, 0))));
        assert_eq!(f.next(0), Ok(Some((Item::Setting, 0))));
        assert_eq!(f.next(0), Ok(Some((Item::Int(1, true), 0))));
        assert_eq!(f.next(1), Ok(Some((Item::Setting, 0))));
        assert_eq!(f.next(1), Ok(Some((Item::Int(4, true), 3))));
        assert_eq!(
            Format::new(b"i17").next(0),
            Err("integral size (17) out of limits [1,16]".into())
        );
    }
}
