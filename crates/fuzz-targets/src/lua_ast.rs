//! `lua_ast`: a Lua program generated from the input by a small grammar (statements,
//! expressions, tables, closures, loops, `pcall`, coroutines, string and math calls), so
//! the fuzzer reaches the interpreter's semantics rather than the parser's error paths.
//! Oracle: as `lua_source`, plus determinism: the program run twice on fresh plugins gives
//! the same results and uses the same fuel.

use crate::common::with_host;
use crate::lua::run;
use arbitrary::{Result, Unstructured};

const VARS: [&str; 4] = ["a", "b", "c", "t"];

struct Gen<'a, 'b> {
    u: &'b mut Unstructured<'a>,
    out: String,
}

impl Gen<'_, '_> {
    fn var(&mut self) -> Result<&'static str> {
        Ok(VARS[self.u.choose_index(VARS.len())?])
    }

    fn expr(&mut self, depth: u32) -> Result<String> {
        if depth > 4 {
            return self.atom();
        }
        Ok(match self.u.choose_index(16)? {
            0..=3 => self.atom()?,
            4 => {
                let op = *self.u.choose(&[
                    "+", "-", "*", "/", "//", "%", "^", "&", "|", "~", "<<", ">>",
                ])?;
                format!("({} {op} {})", self.expr(depth + 1)?, self.expr(depth + 1)?)
            }
            5 => {
                let op = *self
                    .u
                    .choose(&["==", "~=", "<", "<=", ">", ">=", "and", "or"])?;
                format!("({} {op} {})", self.expr(depth + 1)?, self.expr(depth + 1)?)
            }
            6 => format!("({} .. {})", self.expr(depth + 1)?, self.expr(depth + 1)?),
            7 => {
                let op = *self.u.choose(&["-", "not ", "#", "~"])?;
                format!("({op}{})", self.expr(depth + 1)?)
            }
            8 => {
                let n = self.u.int_in_range(0..=3)?;
                let mut items = Vec::new();
                for _ in 0..n {
                    items.push(if self.u.arbitrary()? {
                        format!("{} = {}", self.var()?, self.expr(depth + 1)?)
                    } else {
                        self.expr(depth + 1)?
                    });
                }
                format!("{{{}}}", items.join(", "))
            }
            9 => format!("{}[{}]", self.var()?, self.expr(depth + 1)?),
            10 => {
                let f = *self.u.choose(&[
                    "tostring",
                    "tonumber",
                    "type",
                    "math.floor",
                    "math.abs",
                    "math.tointeger",
                    "string.len",
                    "string.upper",
                    "string.reverse",
                    "string.byte",
                    "table.concat",
                    "select",
                    "rawlen",
                    "math.max",
                    "math.min",
                    "string.format",
                    "string.rep",
                    "table.unpack",
                    "next",
                    "ipairs",
                    "string.sub",
                    "string.char",
                ])?;
                let n = self.u.int_in_range(1..=3)?;
                let args: Vec<String> = (0..n)
                    .map(|_| self.expr(depth + 1))
                    .collect::<Result<_>>()?;
                format!("{f}({})", args.join(", "))
            }
            11 => format!("pcall(f, {})", self.expr(depth + 1)?),
            12 => {
                let inner = self.sub_block(depth + 1, 3)?;
                format!(
                    "(function(a) {inner} return {} end)({})",
                    self.expr(depth + 1)?,
                    self.expr(depth + 1)?
                )
            }
            13 => format!("f({})", self.expr(depth + 1)?),
            14 => format!(
                "setmetatable({{}}, {{__index = function(t, k) return {} end}})[1]",
                self.expr(depth + 1)?
            ),
            _ => format!(
                "coroutine.wrap(function(x) coroutine.yield(x) return {} end)({})",
                self.expr(depth + 1)?,
                self.expr(depth + 1)?
            ),
        })
    }

    fn atom(&mut self) -> Result<String> {
        Ok(match self.u.choose_index(9)? {
            0 => self.var()?.to_string(),
            1 => format!("{}", self.u.int_in_range(-3i64..=300)?),
            2 => format!("{}", self.u.arbitrary::<i64>()?),
            3 => format!("{:?}", self.u.arbitrary::<f64>()?)
                .replace("inf", "1e999")
                .replace("NaN", "(0/0)"),
            4 => {
                let s: String = self.u.arbitrary::<String>()?.chars().take(12).collect();
                format!("{s:?}").replace("\\u{", "\\u{")
            }
            5 => "nil".into(),
            6 => "true".into(),
            7 => "false".into(),
            _ => "{}".into(),
        })
    }

    fn stmt(&mut self, depth: u32) -> Result<()> {
        let s = match self.u.choose_index(if depth > 3 { 4 } else { 10 })? {
            0 | 1 => format!("{} = {}\n", self.var()?, self.expr(depth)?),
            2 => format!(
                "{}[{}] = {}\n",
                self.var()?,
                self.expr(depth)?,
                self.expr(depth)?
            ),
            3 => format!(
                "if {} then error({}) end\n",
                self.expr(depth)?,
                self.expr(depth)?
            ),
            4 => {
                let cond = self.expr(depth)?;
                let body = self.sub_block(depth + 1, 3)?;
                format!(
                    "if {cond} then\n{}else\n{} = {}\nend\n",
                    body,
                    self.var()?,
                    self.expr(depth)?
                )
            }
            5 => {
                let (from, to) = (self.expr(depth)?, self.expr(depth)?);
                let body = self.sub_block(depth + 1, 3)?;
                format!("for i = {from}, {to} do\n{}end\n", body)
            }
            6 => {
                let cond = self.expr(depth)?;
                let body = self.sub_block(depth + 1, 3)?;
                format!("while {cond} do\n{}end\n", body)
            }
            7 => {
                let t = self.var()?;
                let body = self.sub_block(depth + 1, 2)?;
                format!(
                    "if type({t}) == 'table' then for k, v in pairs({t}) do\n{}end end\n",
                    body
                )
            }
            8 => format!(
                "t = {{{}, {}, {}}}\n",
                self.expr(depth)?,
                self.expr(depth)?,
                self.expr(depth)?
            ),
            _ => format!(
                "local ok, e = pcall(function() {} = {} end)\n",
                self.var()?,
                self.expr(depth)?
            ),
        };
        self.out.push_str(&s);
        Ok(())
    }

    /// A nested block of statements, as text.
    fn sub_block(&mut self, depth: u32, max: usize) -> Result<String> {
        let mut body = Gen {
            u: &mut *self.u,
            out: String::new(),
        };
        body.block(depth, max)?;
        Ok(body.out)
    }

    fn block(&mut self, depth: u32, max: usize) -> Result<()> {
        let n = self.u.int_in_range(1..=max)?;
        for _ in 0..n {
            self.stmt(depth)?;
        }
        Ok(())
    }
}

/// The program: globals, a helper `f`, a body, and two exported functions.
pub(crate) fn program(data: &[u8]) -> Option<String> {
    let mut u = Unstructured::new(data);
    let mut g = Gen {
        u: &mut u,
        out: String::new(),
    };
    let helper = g.expr(1).ok()?;
    g.block(0, 8).ok()?;
    let body = std::mem::take(&mut g.out);
    g.block(1, 4).ok()?;
    let run_body = g.out;
    Some(format!(
        "a, b, c, t = 1, 'x', 2.5, {{}}\nfunction f(x) return {helper} end\n{body}\nfunction go(n)\n{run_body}return {{a, b, c}}\nend\nfunction count(n) return #t end\n"
    ))
}

pub fn lua_ast(data: &[u8]) {
    let Some(source) = program(data) else { return };
    with_host(|host| {
        let first = run(host, &source).map(|(p, out)| (out, p.fuel_consumed()));
        let second = run(host, &source).map(|(p, out)| (out, p.fuel_consumed()));
        assert_eq!(
            first, second,
            "the same program gave different results or fuel:\n{source}"
        );
    });
}
