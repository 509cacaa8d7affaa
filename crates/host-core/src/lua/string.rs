//! The `string` library, ours (piccolo's `upper/lower/reverse/sub` charge no fuel and have no
//! size limit): `len sub upper lower reverse rep byte char format find match gmatch gsub`.
//! Results larger than the plugin's memory cap are refused before anything is allocated;
//! pattern matching runs under a step budget drawn from the call's fuel.

use super::format::{self, Spec};
use super::pattern::{Capture, Matcher, PatternError, SPECIALS};
use super::stdlib::{
    bad_arg, charge, check_bytes, check_int, check_num, float_to_int, lua_err, opt_int, Ret,
};
use super::{convert, Shared};
use crate::error::ErrorKind;
use piccolo::{
    BoxSequence, Callback, CallbackReturn, Context, Error, Execution, Function, Sequence,
    SequencePoll, Stack, Table, Value,
};
use std::rc::Rc;

/// Pattern steps per unit of fuel.
const STEPS_PER_FUEL: u64 = 16;

/// Lua's start positions (`posrelatI`): 1-based, negative from the end, 0 and anything before
/// the start meaning 1; may lie past the end.
fn start_pos(i: i64, len: usize) -> usize {
    if i > 0 {
        usize::try_from(i).unwrap_or(usize::MAX)
    } else if i == 0 || i.unsigned_abs() > len as u64 {
        1
    } else {
        len - i.unsigned_abs() as usize + 1
    }
}

fn end_pos(j: i64, len: usize) -> usize {
    if j > len as i64 {
        len
    } else if j >= 0 {
        j as usize
    } else if j.unsigned_abs() > len as u64 {
        0
    } else {
        len - j.unsigned_abs() as usize + 1
    }
}

/// `init` of find/match/gmatch as a 0-based start, or `None` if past the end.
fn init_pos(init: i64, len: usize) -> Option<usize> {
    let i = if init > 0 {
        init as u64
    } else if init == 0 || init.unsigned_abs() > len as u64 {
        1
    } else {
        (len as u64) - init.unsigned_abs() + 1
    };
    (i <= len as u64 + 1).then_some(i as usize - 1)
}

fn too_large<'gc>(ctx: Context<'gc>) -> Error<'gc> {
    lua_err(ctx, "resulting string too large")
}

fn pattern_error<'gc>(ctx: Context<'gc>, e: PatternError, limits: &crate::Limits) -> Error<'gc> {
    match e {
        PatternError::Malformed(m) => lua_err(ctx, m),
        PatternError::Budget => Error::Runtime(super::anyhow_error(
            ErrorKind::OutOfFuel {
                budget: limits.fuel,
            }
            .into(),
        )),
    }
}

/// The step budget for a match: what the call's remaining fuel pays for.
fn budget(exec: &mut Execution<'_, '_>) -> u64 {
    (exec.fuel().remaining().max(1) as u64).saturating_mul(STEPS_PER_FUEL)
}

fn charge_steps(exec: &mut Execution<'_, '_>, steps: u64) {
    let cost = steps / STEPS_PER_FUEL + 1;
    exec.fuel().consume(i32::try_from(cost).unwrap_or(i32::MAX));
}

fn capture_value<'gc>(ctx: Context<'gc>, src: &[u8], c: Capture) -> Value<'gc> {
    match c {
        Capture::Range(a, b) => Value::String(ctx.intern(&src[a..b])),
        Capture::Position(p) => Value::Integer(p as i64),
    }
}

fn set<'gc>(ctx: Context<'gc>, t: Table<'gc>, name: &'static str, f: Callback<'gc>) {
    let _ = t.set(ctx, name, f);
}

pub(crate) fn install<'gc>(ctx: Context<'gc>, shared: &Rc<Shared>) {
    let t = Table::new(&ctx);
    let cap = shared.limits.memory_bytes;
    set(
        ctx,
        t,
        "len",
        Callback::from_fn(&ctx, |ctx, _, mut stack| {
            let s = check_bytes(ctx, &stack, 0, "len")?;
            stack.replace(ctx, s.len() as i64);
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        t,
        "sub",
        Callback::from_fn(&ctx, |ctx, mut exec, mut stack| {
            let s = check_bytes(ctx, &stack, 0, "sub")?;
            let i = start_pos(opt_int(ctx, &stack, 1, "sub", 1)?, s.len());
            let j = end_pos(opt_int(ctx, &stack, 2, "sub", -1)?, s.len());
            let out = if i <= j { &s[i - 1..j] } else { &[][..] };
            charge(&mut exec, out.len());
            stack.replace(ctx, ctx.intern(out));
            Ok(CallbackReturn::Return)
        }),
    );
    for (name, f) in [
        ("upper", u8::to_ascii_uppercase as fn(&u8) -> u8),
        ("lower", u8::to_ascii_lowercase),
    ] {
        set(
            ctx,
            t,
            name,
            Callback::from_fn(&ctx, move |ctx, mut exec, mut stack| {
                let s = check_bytes(ctx, &stack, 0, name)?;
                charge(&mut exec, s.len());
                let out: Vec<u8> = s.iter().map(f).collect();
                stack.replace(ctx, super::stdlib::new_string(ctx, out));
                Ok(CallbackReturn::Return)
            }),
        );
    }
    set(
        ctx,
        t,
        "reverse",
        Callback::from_fn(&ctx, |ctx, mut exec, mut stack| {
            let s = check_bytes(ctx, &stack, 0, "reverse")?;
            charge(&mut exec, s.len());
            let out: Vec<u8> = s.iter().rev().copied().collect();
            stack.replace(ctx, super::stdlib::new_string(ctx, out));
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        t,
        "rep",
        Callback::from_fn(&ctx, move |ctx, mut exec, mut stack| {
            let s = check_bytes(ctx, &stack, 0, "rep")?;
            let n = check_int(ctx, &stack, 1, "rep")?;
            let sep = if stack.get(2).is_nil() {
                &[][..]
            } else {
                check_bytes(ctx, &stack, 2, "rep")?
            };
            if n <= 0 {
                stack.replace(ctx, ctx.intern(b""));
                return Ok(CallbackReturn::Return);
            }
            let total = (s.len() as u128 + sep.len() as u128) * n as u128 - sep.len() as u128;
            if total > cap as u128 {
                return Err(too_large(ctx));
            }
            if !super::stdlib::string_fits(ctx, cap, total as usize) {
                return Err(super::stdlib::out_of_room(cap));
            }
            charge(&mut exec, total as usize);
            let mut out = Vec::with_capacity(total as usize);
            for k in 0..n {
                out.extend_from_slice(s);
                if k + 1 < n {
                    out.extend_from_slice(sep);
                }
            }
            stack.replace(ctx, super::stdlib::new_string(ctx, out));
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        t,
        "byte",
        Callback::from_fn(&ctx, |ctx, mut exec, mut stack| {
            let s = check_bytes(ctx, &stack, 0, "byte")?;
            let i_arg = opt_int(ctx, &stack, 1, "byte", 1)?;
            let i = start_pos(i_arg, s.len());
            let j = end_pos(opt_int(ctx, &stack, 2, "byte", i_arg)?, s.len());
            stack.clear();
            let i = i.max(1);
            if i > j {
                return Ok(CallbackReturn::Return);
            }
            if j - i >= super::stdlib::MAX_ELEMENTS as usize {
                return Err(lua_err(ctx, "string slice too long"));
            }
            charge(&mut exec, (j - i + 1) * 16);
            for &b in &s[i - 1..j] {
                stack.push_back(Value::Integer(i64::from(b)));
            }
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        t,
        "char",
        Callback::from_fn(&ctx, |ctx, mut exec, mut stack| {
            let mut out = Vec::with_capacity(stack.len());
            for i in 0..stack.len() {
                let c = check_int(ctx, &stack, i, "char")?;
                let b =
                    u8::try_from(c).map_err(|_| bad_arg(ctx, i, "char", "value out of range"))?;
                out.push(b);
            }
            charge(&mut exec, out.len());
            stack.replace(ctx, super::stdlib::new_string(ctx, out));
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        ctx,
        t,
        "format",
        Callback::from_fn(&ctx, move |ctx, mut exec, mut stack| {
            let out = string_format(ctx, &stack, cap)?;
            charge(&mut exec, out.len());
            stack.replace(ctx, super::stdlib::new_string(ctx, out));
            Ok(CallbackReturn::Return)
        }),
    );
    let limits = shared.limits.clone();
    set(
        ctx,
        t,
        "find",
        Callback::from_fn(&ctx, move |ctx, mut exec, mut stack| {
            find(ctx, &mut exec, &mut stack, true, &limits)
        }),
    );
    let limits = shared.limits.clone();
    set(
        ctx,
        t,
        "match",
        Callback::from_fn(&ctx, move |ctx, mut exec, mut stack| {
            find(ctx, &mut exec, &mut stack, false, &limits)
        }),
    );
    let limits = shared.limits.clone();
    set(
        ctx,
        t,
        "gmatch",
        Callback::from_fn(&ctx, move |ctx, mut exec, mut stack| {
            let s = check_bytes(ctx, &stack, 0, "gmatch")?.to_vec();
            let p = check_bytes(ctx, &stack, 1, "gmatch")?.to_vec();
            let start =
                init_pos(opt_int(ctx, &stack, 2, "gmatch", 1)?, s.len()).unwrap_or(s.len() + 1);
            charge(&mut exec, s.len() + p.len());
            let state = std::cell::RefCell::new((start, None::<usize>));
            let limits = limits.clone();
            let iter = Callback::from_fn(&ctx, move |ctx, mut exec, mut stack| {
                let (mut pos, last) = *state.borrow();
                let mut m = Matcher::new(&s, &p, budget(&mut exec));
                while pos <= s.len() {
                    let r = m.match_at(pos, 0);
                    let e = match r {
                        Ok(e) => e,
                        Err(err) => {
                            charge_steps(&mut exec, m.steps);
                            return Err(pattern_error(ctx, err, &limits));
                        }
                    };
                    if let Some(e) = e.filter(|e| Some(*e) != last) {
                        charge_steps(&mut exec, m.steps);
                        *state.borrow_mut() = (e, Some(e));
                        let caps = m
                            .captures(pos, e, true)
                            .map_err(|err| pattern_error(ctx, err, &limits))?;
                        stack.clear();
                        for c in caps {
                            stack.push_back(capture_value(ctx, &s, c));
                        }
                        return Ok(CallbackReturn::Return);
                    }
                    pos += 1;
                }
                charge_steps(&mut exec, m.steps);
                *state.borrow_mut() = (s.len() + 1, last);
                stack.clear();
                Ok(CallbackReturn::Return)
            });
            stack.replace(ctx, iter);
            Ok(CallbackReturn::Return)
        }),
    );
    let limits = shared.limits.clone();
    set(
        ctx,
        t,
        "gsub",
        Callback::from_fn(&ctx, move |ctx, mut exec, mut stack| {
            let s = check_bytes(ctx, &stack, 0, "gsub")?.to_vec();
            let p = check_bytes(ctx, &stack, 1, "gsub")?.to_vec();
            let repl = match stack.get(2) {
                Value::String(r) => Repl::Text(r.as_bytes().to_vec()),
                Value::Integer(_) | Value::Number(_) => {
                    Repl::Text(check_bytes(ctx, &stack, 2, "gsub")?.to_vec())
                }
                Value::Table(t) => Repl::Table(t),
                Value::Function(f) => Repl::Function(f),
                v => {
                    return Err(bad_arg(
                        ctx,
                        2,
                        "gsub",
                        &format!("string/function/table expected, got {}", v.type_name()),
                    ))
                }
            };
            let max_n = if stack.get(3).is_nil() {
                i64::MAX
            } else {
                check_int(ctx, &stack, 3, "gsub")?
            };
            charge(&mut exec, s.len() + p.len());
            let mut g = Gsub {
                src: s,
                pat: p,
                repl,
                max_n,
                pos: 0,
                count: 0,
                out: Vec::new(),
                pending: None,
                lastmatch: None,
                cap,
                limits: limits.clone(),
            };
            stack.clear();
            match g.run(ctx, &mut exec, &mut stack)? {
                Some(function) => Ok(CallbackReturn::Call {
                    function,
                    then: Some(BoxSequence::new(&ctx, g)),
                }),
                None => Ok(CallbackReturn::Return),
            }
        }),
    );
    // Merge into an existing table (a host namespace called `string`), else create it.
    match ctx.get_global("string") {
        Value::Table(existing) => {
            for (k, v) in t.iter() {
                let _ = existing.set(ctx, k, v);
            }
        }
        _ => {
            let _ = ctx.set_global("string", t);
        }
    }
}

/// `string.find` (`find`) and `string.match`.
fn find<'gc>(
    ctx: Context<'gc>,
    exec: &mut Execution<'gc, '_>,
    stack: &mut Stack<'gc, '_>,
    is_find: bool,
    limits: &crate::Limits,
) -> Ret<'gc> {
    let name = if is_find { "find" } else { "match" };
    let s = check_bytes(ctx, stack, 0, name)?;
    let p = check_bytes(ctx, stack, 1, name)?;
    let Some(init) = init_pos(opt_int(ctx, stack, 2, name, 1)?, s.len()) else {
        stack.replace(ctx, Value::Nil);
        return Ok(CallbackReturn::Return);
    };
    let plain = is_find && (stack.get(3).to_bool() || !p.iter().any(|c| SPECIALS.contains(c)));
    if plain {
        charge(exec, s.len().saturating_sub(init));
        let found = if p.is_empty() {
            Some(init)
        } else {
            s[init..]
                .windows(p.len())
                .position(|w| w == p)
                .map(|i| i + init)
        };
        stack.clear();
        match found {
            Some(i) => {
                stack.push_back(Value::Integer(i as i64 + 1));
                stack.push_back(Value::Integer((i + p.len()) as i64));
            }
            None => stack.push_back(Value::Nil),
        }
        return Ok(CallbackReturn::Return);
    }
    let (anchor, p0) = if p.first() == Some(&b'^') {
        (true, 1)
    } else {
        (false, 0)
    };
    let mut m = Matcher::new(s, p, budget(exec));
    let mut start = init;
    loop {
        let r = m.match_at(start, p0);
        let e = match r {
            Ok(e) => e,
            Err(err) => {
                charge_steps(exec, m.steps);
                return Err(pattern_error(ctx, err, limits));
            }
        };
        if let Some(e) = e {
            charge_steps(exec, m.steps);
            let caps = m
                .captures(start, e, !is_find)
                .map_err(|err| pattern_error(ctx, err, limits))?;
            stack.clear();
            if is_find {
                stack.push_back(Value::Integer(start as i64 + 1));
                stack.push_back(Value::Integer(e as i64));
            }
            for c in caps {
                stack.push_back(capture_value(ctx, s, c));
            }
            return Ok(CallbackReturn::Return);
        }
        start += 1;
        if anchor || start > s.len() {
            break;
        }
    }
    charge_steps(exec, m.steps);
    stack.replace(ctx, Value::Nil);
    Ok(CallbackReturn::Return)
}

#[derive(gc_arena::Collect)]
#[collect(no_drop)]
enum Repl<'gc> {
    Text(#[collect(require_static)] Vec<u8>),
    Table(Table<'gc>),
    Function(Function<'gc>),
}

/// `string.gsub` as a sequence: a function replacement is called once per match, through the
/// executor (never re-entering the VM).
#[derive(gc_arena::Collect)]
#[collect(no_drop)]
struct Gsub<'gc> {
    #[collect(require_static)]
    src: Vec<u8>,
    #[collect(require_static)]
    pat: Vec<u8>,
    repl: Repl<'gc>,
    #[collect(require_static)]
    max_n: i64,
    #[collect(require_static)]
    pos: usize,
    #[collect(require_static)]
    count: i64,
    #[collect(require_static)]
    out: Vec<u8>,
    /// The match whose function replacement is being called: (start, end).
    #[collect(require_static)]
    pending: Option<(usize, usize)>,
    /// The end of the last match: an empty match there does not count (Lua 5.4).
    #[collect(require_static)]
    lastmatch: Option<usize>,
    #[collect(require_static)]
    cap: usize,
    #[collect(require_static)]
    limits: crate::Limits,
}

impl<'gc> Gsub<'gc> {
    fn push_out<'a>(&mut self, ctx: Context<'a>, bytes: &[u8]) -> Result<(), Error<'a>> {
        if self.out.len() + bytes.len() > self.cap {
            return Err(too_large(ctx));
        }
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    /// The replacement value of a table or function for the match `whole`: `false`/`nil` keep
    /// the match.
    fn add_value(
        &mut self,
        ctx: Context<'gc>,
        v: Value<'gc>,
        whole: &[u8],
    ) -> Result<(), Error<'gc>> {
        match v {
            Value::Nil | Value::Boolean(false) => self.push_out(ctx, whole),
            Value::String(r) => self.push_out(ctx, r.as_bytes()),
            Value::Integer(n) => self.push_out(ctx, n.to_string().as_bytes()),
            Value::Number(x) => self.push_out(ctx, convert::format_number(x).as_bytes()),
            other => Err(lua_err(
                ctx,
                format!("invalid replacement value (a {})", other.type_name()),
            )),
        }
    }

    /// Replaces matches until a function replacement must be called (returns it, with the
    /// captures on the stack) or the end (`None`, with the result and count on the stack).
    fn run(
        &mut self,
        ctx: Context<'gc>,
        exec: &mut Execution<'gc, '_>,
        stack: &mut Stack<'gc, '_>,
    ) -> Result<Option<Function<'gc>>, Error<'gc>> {
        let (anchor, p0) = if self.pat.first() == Some(&b'^') {
            (true, 1)
        } else {
            (false, 0)
        };
        let src = std::mem::take(&mut self.src);
        let pat = std::mem::take(&mut self.pat);
        let result = self.run_inner(ctx, exec, stack, &src, &pat, anchor, p0);
        self.src = src;
        self.pat = pat;
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn run_inner(
        &mut self,
        ctx: Context<'gc>,
        exec: &mut Execution<'gc, '_>,
        stack: &mut Stack<'gc, '_>,
        src: &[u8],
        pat: &[u8],
        anchor: bool,
        p0: usize,
    ) -> Result<Option<Function<'gc>>, Error<'gc>> {
        let mut m = Matcher::new(src, pat, budget(exec));
        while self.count < self.max_n {
            let r = m.match_at(self.pos, p0);
            let e = match r {
                Ok(e) => e,
                Err(err) => {
                    charge_steps(exec, m.steps);
                    return Err(pattern_error(ctx, err, &self.limits));
                }
            };
            if let Some(e) = e.filter(|e| Some(*e) != self.lastmatch) {
                self.count += 1;
                let s = self.pos;
                let caps = m
                    .captures(s, e, true)
                    .map_err(|err| pattern_error(ctx, err, &self.limits))?;
                match &self.repl {
                    Repl::Text(r) => {
                        let r = r.clone();
                        let mut i = 0;
                        while i < r.len() {
                            if r[i] != b'%' {
                                let start = i;
                                while i < r.len() && r[i] != b'%' {
                                    i += 1;
                                }
                                self.push_out(ctx, &r[start..i])?;
                                continue;
                            }
                            i += 1;
                            match r.get(i) {
                                Some(b'%') => self.push_out(ctx, b"%")?,
                                Some(d) if d.is_ascii_digit() => {
                                    let bytes = if *d == b'0' {
                                        src[s..e].to_vec()
                                    } else {
                                        let c = m
                                            .capture(usize::from(d - b'1'), s, e)
                                            .map_err(|err| pattern_error(ctx, err, &self.limits))?;
                                        match c {
                                            Capture::Range(a, b) => src[a..b].to_vec(),
                                            Capture::Position(p) => p.to_string().into_bytes(),
                                        }
                                    };
                                    self.push_out(ctx, &bytes)?;
                                }
                                _ => {
                                    return Err(lua_err(
                                        ctx,
                                        "invalid use of '%' in replacement string",
                                    ))
                                }
                            }
                            i += 1;
                        }
                    }
                    Repl::Table(t) => {
                        let key = capture_value(ctx, src, caps[0]);
                        let v = t.get(ctx, key);
                        self.add_value(ctx, v, src.get(s..e).unwrap_or_default())?;
                    }
                    Repl::Function(f) => {
                        let f = *f;
                        charge_steps(exec, m.steps);
                        stack.clear();
                        for c in caps {
                            stack.push_back(capture_value(ctx, src, c));
                        }
                        self.pending = Some((s, e));
                        return Ok(Some(f));
                    }
                }
                self.pos = e;
                self.lastmatch = Some(e);
            } else if self.pos < src.len() {
                let b = src[self.pos];
                self.push_out(ctx, &[b])?;
                self.pos += 1;
            } else {
                break;
            }
            if anchor {
                break;
            }
        }
        charge_steps(exec, m.steps);
        if self.pos < src.len() {
            let rest = src[self.pos..].to_vec();
            self.push_out(ctx, &rest)?;
            self.pos = src.len();
        }
        charge(exec, self.out.len());
        stack.clear();
        stack.push_back(Value::String(ctx.intern(&self.out)));
        stack.push_back(Value::Integer(self.count));
        Ok(None)
    }
}

impl<'gc> Sequence<'gc> for Gsub<'gc> {
    fn poll(
        &mut self,
        ctx: Context<'gc>,
        mut exec: Execution<'gc, '_>,
        mut stack: Stack<'gc, '_>,
    ) -> Result<SequencePoll<'gc>, Error<'gc>> {
        if let Some((s, e)) = self.pending.take() {
            let v = stack.get(0);
            let src = std::mem::take(&mut self.src);
            let added = self.add_value(ctx, v, src.get(s..e).unwrap_or_default());
            self.src = src;
            added?;
            self.pos = e;
            self.lastmatch = Some(e);
            if self.pat.first() == Some(&b'^') {
                self.count = self.max_n; // an anchored pattern matches at most once
            }
        }
        match self.run(ctx, &mut exec, &mut stack)? {
            Some(function) => Ok(SequencePoll::Call {
                function,
                is_tail: false,
            }),
            None => Ok(SequencePoll::Return),
        }
    }
}

/// `string.format`.
fn string_format<'gc>(
    ctx: Context<'gc>,
    stack: &Stack<'gc, '_>,
    cap: usize,
) -> Result<Vec<u8>, Error<'gc>> {
    let fmt = check_bytes(ctx, stack, 0, "format")?;
    let mut out = Vec::with_capacity(fmt.len());
    let mut arg = 0usize;
    let mut i = 0usize;
    while i < fmt.len() {
        if out.len() > cap {
            return Err(too_large(ctx));
        }
        let c = fmt[i];
        if c != b'%' {
            out.push(c);
            i += 1;
            continue;
        }
        if fmt.get(i + 1) == Some(&b'%') {
            out.push(b'%');
            i += 2;
            continue;
        }
        let (spec, next) =
            format::parse_spec(fmt, i + 1).map_err(|m| lua_err(ctx, format!("{m} in 'format'")))?;
        i = next;
        arg += 1;
        if arg >= stack.len() && spec.conv != b'%' {
            return Err(bad_arg(ctx, arg, "format", "no value"));
        }
        let piece: Vec<u8> = match spec.conv {
            b'd' | b'i' => format::int(&spec, format_int(ctx, stack, arg)?).into_bytes(),
            b'u' | b'x' | b'X' | b'o' => {
                format::unsigned(&spec, format_int(ctx, stack, arg)?).into_bytes()
            }
            b'c' => {
                let n = format_int(ctx, stack, arg)?;
                pad_bytes(&spec, &[n as u8])
            }
            b'e' | b'E' | b'f' | b'F' | b'g' | b'G' | b'a' | b'A' => {
                format::float(&spec, check_num(ctx, stack, arg, "format")?).into_bytes()
            }
            b'q' => quoted(ctx, stack.get(arg))?,
            b'p' => pad_bytes(&spec, pointer(stack.get(arg)).as_bytes()),
            b's' => {
                let bytes = super::stdlib::tostring_bytes(stack.get(arg));
                let bytes = match spec.precision {
                    Some(p) if p < bytes.len() => bytes[..p].to_vec(),
                    _ => bytes,
                };
                pad_bytes(&spec, &bytes)
            }
            other => {
                return Err(lua_err(
                    ctx,
                    format!("invalid conversion '%{}' to 'format'", other as char),
                ))
            }
        };
        out.extend_from_slice(&piece);
    }
    if out.len() > cap {
        return Err(too_large(ctx));
    }
    Ok(out)
}

fn pad_bytes(spec: &Spec, body: &[u8]) -> Vec<u8> {
    if body.len() >= spec.width {
        return body.to_vec();
    }
    let fill = vec![b' '; spec.width - body.len()];
    if spec.left {
        [body, &fill].concat()
    } else {
        [&fill, body].concat()
    }
}

fn format_int<'gc>(
    ctx: Context<'gc>,
    stack: &Stack<'gc, '_>,
    arg: usize,
) -> Result<i64, Error<'gc>> {
    match stack.get(arg) {
        Value::Number(x) if float_to_int(x).is_none() => Err(bad_arg(
            ctx,
            arg,
            "format",
            "number has no integer representation",
        )),
        _ => check_int(ctx, stack, arg, "format"),
    }
}

fn quoted<'gc>(ctx: Context<'gc>, v: Value<'gc>) -> Result<Vec<u8>, Error<'gc>> {
    Ok(match v {
        Value::String(s) => format::quote(s.as_bytes()),
        Value::Integer(n) if n == i64::MIN => b"0x8000000000000000".to_vec(),
        Value::Integer(n) => n.to_string().into_bytes(),
        Value::Number(x) if x.is_infinite() => {
            if x > 0.0 {
                b"1e9999".to_vec()
            } else {
                b"-1e9999".to_vec()
            }
        }
        Value::Number(x) if x.is_nan() => b"(0/0)".to_vec(),
        // Finite floats as hexadecimal, which reads back exactly (Lua 5.4's `%a`).
        Value::Number(x) => {
            let sign = if x.is_sign_negative() { "-" } else { "" };
            format!("{sign}{}", format::hex_float(x.abs(), None)).into_bytes()
        }
        Value::Nil | Value::Boolean(_) => convert::render(v).into_bytes(),
        _ => {
            return Err(lua_err(
                ctx,
                "bad argument to 'format' (value has no literal form)",
            ))
        }
    })
}

/// `%p`: an identity for a value that has one (tables, functions, threads, userdata, strings),
/// stable for the value's life and unique among live values, `(null)` for the others, as Lua
/// 5.4 prints them. Not the host's address: a keyed hash of it, so a plugin learns nothing of
/// the host's memory layout.
fn pointer(v: Value<'_>) -> String {
    use gc_arena::Gc;
    use std::hash::BuildHasher;
    thread_local! {
        static KEY: std::collections::hash_map::RandomState = std::collections::hash_map::RandomState::new();
    }
    let address: usize = match v {
        Value::Table(t) => Gc::as_ptr(t.into_inner()) as *const () as usize,
        Value::Function(piccolo::Function::Closure(c)) => {
            Gc::as_ptr(c.into_inner()) as *const () as usize
        }
        Value::Function(piccolo::Function::Callback(c)) => {
            Gc::as_ptr(c.into_inner()) as *const () as usize
        }
        Value::Thread(t) => Gc::as_ptr(t.into_inner()) as *const () as usize,
        Value::UserData(u) => Gc::as_ptr(u.into_inner()) as *const () as usize,
        Value::String(s) => s.as_bytes().as_ptr() as usize,
        _ => return "(null)".into(),
    };
    let id = KEY.with(|k| k.hash_one(address));
    format!("0x{:012x}", id & 0xffff_ffff_ffff)
}
