//! What piccolo 0.3.3's compiler gets wrong or dangerous, lowered on its own syntax tree: the
//! source is parsed by piccolo's parser exactly as written (bytes, every statement Lua 5.4
//! has that piccolo parses), then these nodes are replaced by calls of our functions before
//! piccolo compiles the tree. Nothing is done to the text, so nothing can change what parses,
//! and line numbers are the source's.
//!
//! - `a .. b` → `__pb_concat(a, b)`: piccolo concatenates with no size limit and no fuel per
//!   byte, so `s = s .. s` forty times asks for a terabyte in one VM step, between two memory
//!   checks (RELIABILITY.md LUA-R6). Ours checks the size against the memory cap first.
//! - `a // b` → `__pb_idiv(a, b)`: piccolo truncates integer division (`-7 // 2` is -3; Lua
//!   says -4).
//! - `a % b` → `__pb_mod(a, b)`: piccolo panics on `math.mininteger % -1` (LUA-05).
//! - `a << b`, `a >> b` → `__pb_shl`, `__pb_shr`: piccolo panics (debug) or wraps the count
//!   (release) on shifts of 64 or more (LUA-07).
//! - `a & b`, `a | b`, `a ~ b`, `~a` → `__pb_band`, `__pb_bor`, `__pb_bxor`, `__pb_bnot`:
//!   piccolo converts a string operand with an out-of-bounds index when it is `""`, `"-"`,
//!   `"0"` or `"-0"` (a panic in the compiler's constant folding and in the VM).
//! - `t1[k1], x = e1, e2` → `do local t, k, v1, v2 = t1, k1, e1, e2; x = v2; t[k] = v1 end`:
//!   piccolo assigns the targets one after the other, so a swap gives `2, 2`; Lua evaluates
//!   the targets' tables and keys, then every value, and only then assigns (right to left, as
//!   PUC Lua does).
//! - `(f())` and `(...)` as the last of a list → `__pb_first(f())`: piccolo's compiler keeps
//!   every value of a parenthesised call or vararg; Lua keeps the first.
//!
//! - `obj:m(a, b)` → `__pb_method(obj, "m", a, b)`: piccolo indexes only tables and userdata,
//!   so strings had no methods (`s:upper()`); ours looks the method up as Lua does
//!   ([`super::method`]).
//! - `local x <close> = e; rest` (the parser's marker after the local, [`super::parse`]) →
//!   `local x = e; do local t = __pb_closing(x, "x", function(...) rest end, ...) … end`: the
//!   rest of the block runs as a function, and `__pb_closing` ([`super::close`]) calls `x`'s
//!   `__close` however it ends (normally, by `return`, by `break`, by an error); a `return` in
//!   the rest returns from the enclosing function and a `break` leaves the enclosing loop, as
//!   the function reports how it ended, and so does a `goto` to a label outside the rest.
//!
//! The `__pb_*` names are locals of a wrapper around the chunk ([`lower`]), not globals.

use piccolo::compiler::parser::{
    AssignmentStatement, AssignmentTarget, BinaryOperator, Block, CallSuffix, Chunk,
    ConstructorField, Expression, FieldSuffix, ForStatement, FunctionDefinition, GotoStatement,
    HeadExpression, IfStatement, LineAnnotated, LocalStatement, PrimaryExpression, RecordKey,
    ReturnStatement, SimpleExpression, Statement, SuffixPart, SuffixedExpression, UnaryOperator,
};
use piccolo::compiler::{LineNumber, StringInterner};

/// The functions the lowered tree calls (locals of the chunk's wrapper).
pub(crate) const CONCAT: &str = "__pb_concat";
pub(crate) const IDIV: &str = "__pb_idiv";
pub(crate) const MOD: &str = "__pb_mod";
pub(crate) const SHL: &str = "__pb_shl";
pub(crate) const SHR: &str = "__pb_shr";
pub(crate) const BAND: &str = "__pb_band";
pub(crate) const BOR: &str = "__pb_bor";
pub(crate) const BXOR: &str = "__pb_bxor";
pub(crate) const BNOT: &str = "__pb_bnot";
pub(crate) const FIRST: &str = "__pb_first";
pub(crate) const METHOD: &str = "__pb_method";
pub(crate) const CLOSING: &str = "__pb_closing";
pub(crate) const UNPACK: &str = "__pb_unpack";
/// The local a lowered to-be-closed scope keeps its outcome in.
const OUTCOME: &str = "__pb_t";
/// How a to-be-closed scope's function ends ([`super::close`]): it ran to its end, it
/// returned values, it broke out of the loop around the scope, or it went to a label outside.
pub(crate) const ENDED: i64 = 0;
pub(crate) const RETURNED: i64 = 1;
pub(crate) const BROKE: i64 = 2;
pub(crate) const WENT: i64 = 3;
/// Every function the lowered tree calls, in the order [`lower`] declares them as locals of the
/// chunk's wrapper (the local `HELPERS[i]` is register `i`).
pub(crate) const HELPERS: [&str; 13] = [
    CONCAT, IDIV, MOD, SHL, SHR, BAND, BOR, BXOR, BNOT, FIRST, METHOD, CLOSING, UNPACK,
];
/// Locals of a lowered multiple assignment: `__pb_1`, `__pb_2`, … (scoped to its `do` block).
const TEMP: &str = "__pb_";

/// The function a binary operator becomes, if it is one we take over.
fn replacement(op: BinaryOperator) -> Option<&'static str> {
    Some(match op {
        BinaryOperator::Concat => CONCAT,
        BinaryOperator::IDiv => IDIV,
        BinaryOperator::Mod => MOD,
        BinaryOperator::ShiftLeft => SHL,
        BinaryOperator::ShiftRight => SHR,
        BinaryOperator::BitAnd => BAND,
        BinaryOperator::BitOr => BOR,
        BinaryOperator::BitXor => BXOR,
        _ => return None,
    })
}

/// Lowers a parsed chunk in place; `interner` makes the names the new nodes use.
///
/// The chunk becomes `local <HELPERS> return function(...) <chunk> end`: the functions the
/// lowered nodes call are locals of a wrapper, never globals, so a plugin can neither see nor
/// replace them and a chunk with its own `_ENV` still concatenates. The wrapper itself never
/// runs: [`super::compile::Compiled::closure`] makes the inner function's closure directly,
/// with the helpers as its upvalues.
pub(crate) fn lower<I: StringInterner>(chunk: &mut Chunk<I::String>, interner: &mut I) {
    Lower {
        interner: &mut *interner,
        varargs: vec![true],
    }
    .block(&mut chunk.block);
    let closed_on = chunk.block.closed_on;
    let body = std::mem::replace(
        &mut chunk.block,
        Block {
            statements: Vec::new(),
            return_statement: None,
            closed_on,
        },
    );
    let start = LineNumber(0);
    let names = HELPERS
        .iter()
        .map(|h| interner.intern(h.as_bytes()))
        .collect();
    chunk.block.statements.push(LineAnnotated::new(
        start,
        Statement::LocalStatement(LocalStatement {
            names,
            values: Vec::new(),
        }),
    ));
    chunk.block.return_statement = Some(LineAnnotated::new(
        start,
        ReturnStatement {
            returns: vec![simple(SimpleExpression::Function(FunctionDefinition {
                parameters: Vec::new(),
                has_varargs: true,
                body,
            }))],
        },
    ));
}

struct Lower<'a, I> {
    interner: &'a mut I,
    /// Whether each enclosing function takes `...` (the innermost last).
    varargs: Vec<bool>,
}

fn name_expression<S>(name: S) -> SuffixedExpression<S> {
    SuffixedExpression {
        primary: PrimaryExpression::Name(name),
        suffixes: Vec::new(),
    }
}

fn simple<S>(s: SimpleExpression<S>) -> Expression<S> {
    Expression {
        head: Box::new(HeadExpression::Simple(s)),
        tail: Vec::new(),
    }
}

/// How a to-be-closed scope's function may leave it, found by [`escapes`].
struct Escaped<S> {
    /// A `break` of the loop around the scope.
    broke: bool,
    /// `goto`s to labels outside the scope (each label once).
    gotos: Vec<S>,
}

/// The labels a block defines, in it or its nested blocks (not in nested functions).
fn labels_in<S: AsRef<[u8]>>(block: &Block<S>, out: &mut Vec<Vec<u8>>) {
    for s in &block.statements {
        match &s.inner {
            Statement::Label(l) => out.push(l.name.as_ref().to_vec()),
            Statement::If(i) => {
                labels_in(&i.if_part.1, out);
                for (_, b) in &i.else_if_parts {
                    labels_in(b, out);
                }
                if let Some(b) = &i.else_part {
                    labels_in(b, out);
                }
            }
            Statement::Do(b) => labels_in(b, out),
            Statement::While(w) => labels_in(&w.block, out),
            Statement::Repeat(r) => labels_in(&r.body, out),
            Statement::For(ForStatement::Numeric { body, .. })
            | Statement::For(ForStatement::Generic { body, .. }) => labels_in(body, out),
            _ => {}
        }
    }
}

/// `outcome[i] == value`.
fn outcome_is<S: Clone>(outcome: &S, i: i64, value: SimpleExpression<S>) -> Expression<S> {
    let mut e = simple(SimpleExpression::Suffixed(SuffixedExpression {
        primary: PrimaryExpression::Name(outcome.clone()),
        suffixes: vec![SuffixPart::Field(FieldSuffix::Indexed(simple(
            SimpleExpression::Integer(i),
        )))],
    }));
    e.tail.push((BinaryOperator::Equal, simple(value)));
    e
}

/// `if condition then <then> end`, on `line`.
fn when<S>(
    line: LineNumber,
    condition: Expression<S>,
    then: Block<S>,
) -> LineAnnotated<Statement<S>> {
    LineAnnotated::new(
        line,
        Statement::If(IfStatement {
            if_part: (condition, then),
            else_if_parts: Vec::new(),
            else_part: None,
        }),
    )
}

/// A block of one statement.
fn only<S>(line: LineNumber, statement: Statement<S>) -> Block<S> {
    Block {
        statements: vec![LineAnnotated::new(line, statement)],
        return_statement: None,
        closed_on: line,
    }
}

/// A block that only returns `values`.
fn returning<S>(line: LineNumber, values: Vec<Expression<S>>) -> Statement<S> {
    Statement::Do(Block {
        statements: Vec::new(),
        return_statement: Some(LineAnnotated::new(
            line,
            ReturnStatement { returns: values },
        )),
        closed_on: line,
    })
}

/// Rewrites how a to-be-closed scope's function may end: `return e…` → `return 1, e…`, a
/// `break` that would leave the scope (`in_loop` false) → `return 2`, a `goto` to a label
/// outside it (not in `labels`) → `return 3, "label"`. Nested functions are left alone.
fn escapes<S: Clone + AsRef<[u8]>>(
    block: &mut Block<S>,
    in_loop: bool,
    labels: &[Vec<u8>],
    out: &mut Escaped<S>,
) {
    for s in &mut block.statements {
        let line = s.line_number;
        match &mut s.inner {
            Statement::Break if !in_loop => {
                out.broke = true;
                s.inner = returning(line, vec![simple(SimpleExpression::Integer(BROKE))]);
            }
            Statement::Goto(g) if !labels.iter().any(|l| l.as_slice() == g.name.as_ref()) => {
                let name = g.name.clone();
                if !out.gotos.iter().any(|n| n.as_ref() == name.as_ref()) {
                    out.gotos.push(name.clone());
                }
                s.inner = returning(
                    line,
                    vec![
                        simple(SimpleExpression::Integer(WENT)),
                        simple(SimpleExpression::String(name)),
                    ],
                );
            }
            Statement::If(i) => {
                escapes(&mut i.if_part.1, in_loop, labels, out);
                for (_, b) in &mut i.else_if_parts {
                    escapes(b, in_loop, labels, out);
                }
                if let Some(b) = &mut i.else_part {
                    escapes(b, in_loop, labels, out);
                }
            }
            Statement::Do(b) => escapes(b, in_loop, labels, out),
            Statement::While(w) => escapes(&mut w.block, true, labels, out),
            Statement::Repeat(r) => escapes(&mut r.body, true, labels, out),
            Statement::For(ForStatement::Numeric { body, .. })
            | Statement::For(ForStatement::Generic { body, .. }) => {
                escapes(body, true, labels, out)
            }
            _ => {}
        }
    }
    if let Some(r) = &mut block.return_statement {
        r.inner
            .returns
            .insert(0, simple(SimpleExpression::Integer(RETURNED)));
    }
}

/// The variable a `<close>` marker statement (`__pb_close(x)`) names.
fn close_marker<S: Clone + AsRef<[u8]>>(s: &Statement<S>, close: &S) -> Option<S> {
    let Statement::FunctionCall(call) = s else {
        return None;
    };
    let is_marker = call.head.suffixes.is_empty()
        && matches!(&call.head.primary, PrimaryExpression::Name(n) if n.as_ref() == close.as_ref());
    let CallSuffix::Function(args) = &call.call else {
        return None;
    };
    match (is_marker, args.as_slice()) {
        (true, [arg]) if arg.tail.is_empty() => match &*arg.head {
            HeadExpression::Simple(SimpleExpression::Suffixed(SuffixedExpression {
                primary: PrimaryExpression::Name(v),
                suffixes,
            })) if suffixes.is_empty() => Some(v.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// `__pb_method`'s arguments: the receiver, the method's name, the call's arguments.
fn method_arguments<S>(
    receiver: SuffixedExpression<S>,
    name: S,
    args: Vec<Expression<S>>,
) -> Vec<Expression<S>> {
    let mut all = Vec::with_capacity(args.len() + 2);
    all.push(simple(SimpleExpression::Suffixed(receiver)));
    all.push(simple(SimpleExpression::String(name)));
    all.extend(args);
    all
}

/// Whether an expression may stand for several values: a call or `...`, alone, possibly in
/// parentheses.
fn is_multi<S>(e: &Expression<S>) -> bool {
    if !e.tail.is_empty() {
        return false;
    }
    match &*e.head {
        HeadExpression::Simple(SimpleExpression::VarArgs) => true,
        HeadExpression::Simple(SimpleExpression::Suffixed(s)) => match s.suffixes.last() {
            Some(SuffixPart::Call(_)) => true,
            Some(SuffixPart::Field(_)) => false,
            None => match &s.primary {
                PrimaryExpression::GroupedExpression(inner) => is_multi(inner),
                PrimaryExpression::Name(_) => false,
            },
        },
        _ => false,
    }
}

/// A parenthesised call or vararg, alone: `(f())`, `((...))`.
fn is_grouped_multi<S>(e: &Expression<S>) -> bool {
    if !e.tail.is_empty() {
        return false;
    }
    matches!(
        &*e.head,
        HeadExpression::Simple(SimpleExpression::Suffixed(SuffixedExpression {
            primary: PrimaryExpression::GroupedExpression(inner),
            suffixes,
        })) if suffixes.is_empty() && is_multi(inner)
    )
}

impl<I: StringInterner> Lower<'_, I> {
    fn name(&mut self, name: &str) -> I::String {
        self.interner.intern(name.as_bytes())
    }

    fn call(&mut self, f: &str, args: Vec<Expression<I::String>>) -> Expression<I::String> {
        let f = self.name(f);
        simple(SimpleExpression::Suffixed(SuffixedExpression {
            primary: PrimaryExpression::Name(f),
            suffixes: vec![SuffixPart::Call(CallSuffix::Function(args))],
        }))
    }

    fn block(&mut self, block: &mut Block<I::String>) {
        self.close_scope(block);
        let statements = std::mem::take(&mut block.statements);
        block.statements = statements
            .into_iter()
            .map(|s| {
                let line = s.line_number;
                LineAnnotated::new(line, self.statement(s.inner, line))
            })
            .collect();
        if let Some(r) = &mut block.return_statement {
            self.list(&mut r.inner.returns);
        }
    }

    fn statement(
        &mut self,
        statement: Statement<I::String>,
        line: LineNumber,
    ) -> Statement<I::String> {
        let mut statement = statement;
        match &mut statement {
            Statement::If(s) => {
                self.expression(&mut s.if_part.0);
                self.block(&mut s.if_part.1);
                for (c, b) in &mut s.else_if_parts {
                    self.expression(c);
                    self.block(b);
                }
                if let Some(b) = &mut s.else_part {
                    self.block(b);
                }
            }
            Statement::While(s) => {
                self.expression(&mut s.condition);
                self.block(&mut s.block);
            }
            Statement::Do(b) => self.block(b),
            Statement::For(ForStatement::Numeric {
                initial,
                limit,
                step,
                body,
                ..
            }) => {
                self.expression(initial);
                self.expression(limit);
                if let Some(step) = step {
                    self.expression(step);
                }
                self.block(body);
            }
            Statement::For(ForStatement::Generic {
                arguments, body, ..
            }) => {
                self.list(arguments);
                self.block(body);
            }
            Statement::Repeat(s) => {
                self.block(&mut s.body);
                self.expression(&mut s.until);
            }
            Statement::Function(s) => self.function(&mut s.definition),
            Statement::LocalFunction(s) => self.function(&mut s.definition),
            Statement::LocalStatement(s) => self.list(&mut s.values),
            Statement::Label(_) | Statement::Break | Statement::Goto(_) => {}
            Statement::FunctionCall(s) => {
                self.suffixed(&mut s.head);
                self.call_suffix(&mut s.call);
                if let CallSuffix::Method(name, args) = &mut s.call {
                    let (name, args) = (name.clone(), std::mem::take(args));
                    let method = self.name(METHOD);
                    let receiver = std::mem::replace(&mut s.head, name_expression(method));
                    s.call = CallSuffix::Function(method_arguments(receiver, name, args));
                }
            }
            Statement::Assignment(s) => {
                for t in &mut s.targets {
                    if let AssignmentTarget::Field(prefix, field) = t {
                        self.suffixed(prefix);
                        if let FieldSuffix::Indexed(k) = field {
                            self.expression(k);
                        }
                    }
                }
                self.list(&mut s.values);
                if s.targets.len() > 1 {
                    return self.multiple_assignment(
                        std::mem::replace(
                            s,
                            AssignmentStatement {
                                targets: Vec::new(),
                                values: Vec::new(),
                            },
                        ),
                        line,
                    );
                }
            }
        }
        statement
    }

    /// `t[k], x = a, b` → `do local 1, 2, 3, 4 = t, k, a, b; x = 4; 1[2] = 3 end`.
    fn multiple_assignment(
        &mut self,
        s: AssignmentStatement<I::String>,
        line: LineNumber,
    ) -> Statement<I::String> {
        let mut names = Vec::new();
        let mut values = Vec::new();
        let mut next = 0usize;
        let mut temp = |this: &mut Self| {
            next += 1;
            this.name(&format!("{TEMP}{next}"))
        };
        // Each target's table and key, evaluated first, left to right.
        let mut targets = Vec::with_capacity(s.targets.len());
        for t in s.targets {
            targets.push(match t {
                AssignmentTarget::Name(n) => AssignmentTarget::Name(n),
                AssignmentTarget::Field(prefix, field) => {
                    let table = temp(self);
                    names.push(table.clone());
                    values.push(simple(SimpleExpression::Suffixed(prefix)));
                    let field = match field {
                        FieldSuffix::Named(n) => FieldSuffix::Named(n),
                        FieldSuffix::Indexed(k) => {
                            let key = temp(self);
                            names.push(key.clone());
                            values.push(k);
                            FieldSuffix::Indexed(simple(SimpleExpression::Suffixed(
                                name_expression(key),
                            )))
                        }
                    };
                    AssignmentTarget::Field(name_expression(table), field)
                }
            });
        }
        // Then the values, one local per target (missing ones nil, extra ones evaluated and
        // dropped, as the local statement does).
        let value_names: Vec<I::String> = targets.iter().map(|_| temp(self)).collect();
        names.extend(value_names.iter().cloned());
        values.extend(s.values);
        let mut statements = vec![LineAnnotated::new(
            line,
            Statement::LocalStatement(LocalStatement { names, values }),
        )];
        for (target, v) in targets.into_iter().zip(value_names).rev() {
            statements.push(LineAnnotated::new(
                line,
                Statement::Assignment(AssignmentStatement {
                    targets: vec![target],
                    values: vec![simple(SimpleExpression::Suffixed(name_expression(v)))],
                }),
            ));
        }
        Statement::Do(Block {
            statements,
            return_statement: None,
            closed_on: line,
        })
    }

    fn function(&mut self, f: &mut FunctionDefinition<I::String>) {
        self.varargs.push(f.has_varargs);
        self.block(&mut f.body);
        self.varargs.pop();
    }

    /// The first `<close>` marker of a block: the statements after it become the scope's
    /// function (see the module's documentation); later markers are in that function's body.
    fn close_scope(&mut self, block: &mut Block<I::String>) {
        let close = self.name(super::parse::CLOSE_MARKER);
        let Some((at, variable)) = block
            .statements
            .iter()
            .enumerate()
            .find_map(|(i, s)| close_marker(&s.inner, &close).map(|v| (i, v)))
        else {
            return;
        };
        let line = block.statements[at].line_number;
        let mut body = Block {
            statements: block.statements.split_off(at + 1),
            return_statement: block.return_statement.take(),
            closed_on: block.closed_on,
        };
        block.statements.truncate(at);
        let mut labels = Vec::new();
        labels_in(&body, &mut labels);
        let mut escaped = Escaped {
            broke: false,
            gotos: Vec::new(),
        };
        escapes(&mut body, false, &labels, &mut escaped);
        if body.return_statement.is_none() {
            body.return_statement = Some(LineAnnotated::new(
                block.closed_on,
                ReturnStatement {
                    returns: vec![simple(SimpleExpression::Integer(ENDED))],
                },
            ));
        }
        let vararg = self.varargs.last().copied().unwrap_or(true);
        let name_string = variable.clone();
        let mut args = vec![
            simple(SimpleExpression::Suffixed(name_expression(variable))),
            simple(SimpleExpression::String(name_string)),
            simple(SimpleExpression::Function(FunctionDefinition {
                parameters: Vec::new(),
                has_varargs: vararg,
                body,
            })),
        ];
        if vararg {
            args.push(simple(SimpleExpression::VarArgs));
        }
        let outcome = self.name(OUTCOME);
        let call = self.call(CLOSING, args);
        let unpacked = self.call(
            UNPACK,
            vec![simple(SimpleExpression::Suffixed(name_expression(
                outcome.clone(),
            )))],
        );
        let returned = Block {
            statements: Vec::new(),
            return_statement: Some(LineAnnotated::new(
                line,
                ReturnStatement {
                    returns: vec![unpacked],
                },
            )),
            closed_on: line,
        };
        let mut scope = vec![
            LineAnnotated::new(
                line,
                Statement::LocalStatement(LocalStatement {
                    names: vec![outcome.clone()],
                    values: vec![call],
                }),
            ),
            when(
                line,
                outcome_is(&outcome, 1, SimpleExpression::Integer(RETURNED)),
                returned,
            ),
        ];
        for label in escaped.gotos {
            let mut went = outcome_is(&outcome, 1, SimpleExpression::Integer(WENT));
            let to = outcome_is(&outcome, 2, SimpleExpression::String(label.clone()));
            went.tail.push((BinaryOperator::And, to));
            let jump = Statement::Goto(GotoStatement { name: label });
            scope.push(when(line, went, only(line, jump)));
        }
        if escaped.broke {
            let broke = outcome_is(&outcome, 1, SimpleExpression::Integer(BROKE));
            scope.push(when(line, broke, only(line, Statement::Break)));
        }
        block.statements.push(LineAnnotated::new(
            line,
            Statement::Do(Block {
                statements: scope,
                return_statement: None,
                closed_on: line,
            }),
        ));
    }

    /// An expression list whose last element may give several values.
    fn list(&mut self, list: &mut [Expression<I::String>]) {
        for e in list.iter_mut() {
            self.expression(e);
        }
        if let Some(last) = list.last_mut() {
            if is_grouped_multi(last) {
                let inner = std::mem::replace(last, simple(SimpleExpression::Nil));
                *last = self.call(FIRST, vec![inner]);
            }
        }
    }

    fn call_suffix(&mut self, call: &mut CallSuffix<I::String>) {
        match call {
            CallSuffix::Method(_, args) | CallSuffix::Function(args) => self.list(args),
        }
    }

    fn suffixed(&mut self, s: &mut SuffixedExpression<I::String>) {
        if let PrimaryExpression::GroupedExpression(e) = &mut s.primary {
            self.expression(e);
        }
        for part in &mut s.suffixes {
            match part {
                SuffixPart::Field(FieldSuffix::Indexed(e)) => self.expression(e),
                SuffixPart::Field(FieldSuffix::Named(_)) => {}
                SuffixPart::Call(c) => self.call_suffix(c),
            }
        }
        if !s
            .suffixes
            .iter()
            .any(|p| matches!(p, SuffixPart::Call(CallSuffix::Method(..))))
        {
            return;
        }
        // `a.b:m(x).c:n()` → `__pb_method(__pb_method(a.b, "m", x).c, "n")`, left to right.
        let method = self.name(METHOD);
        let suffixes = std::mem::take(&mut s.suffixes);
        let mut acc = std::mem::replace(s, name_expression(method.clone()));
        for part in suffixes {
            match part {
                SuffixPart::Call(CallSuffix::Method(name, args)) => {
                    let receiver = std::mem::replace(&mut acc, name_expression(method.clone()));
                    acc.suffixes
                        .push(SuffixPart::Call(CallSuffix::Function(method_arguments(
                            receiver, name, args,
                        ))));
                }
                other => acc.suffixes.push(other),
            }
        }
        *s = acc;
    }

    fn simple(&mut self, s: &mut SimpleExpression<I::String>) {
        match s {
            SimpleExpression::TableConstructor(t) => {
                for field in &mut t.fields {
                    match field {
                        ConstructorField::Array(e) => self.expression(e),
                        ConstructorField::Record(RecordKey::Indexed(k), v) => {
                            self.expression(k);
                            self.expression(v);
                        }
                        ConstructorField::Record(RecordKey::Named(_), v) => self.expression(v),
                    }
                }
                // `{f(), (g())}`: the last positional field keeps all of a bare call's values,
                // one of a parenthesised one.
                if let Some(ConstructorField::Array(last)) = t.fields.last_mut() {
                    if is_grouped_multi(last) {
                        let inner = std::mem::replace(last, simple(SimpleExpression::Nil));
                        *last = self.call(FIRST, vec![inner]);
                    }
                }
            }
            SimpleExpression::Function(f) => self.function(f),
            SimpleExpression::Suffixed(s) => self.suffixed(s),
            SimpleExpression::Float(_)
            | SimpleExpression::Integer(_)
            | SimpleExpression::String(_)
            | SimpleExpression::Nil
            | SimpleExpression::True
            | SimpleExpression::False
            | SimpleExpression::VarArgs => {}
        }
    }

    fn expression(&mut self, e: &mut Expression<I::String>) {
        match &mut *e.head {
            HeadExpression::Simple(s) => self.simple(s),
            HeadExpression::UnaryOperator(op, operand) => {
                self.expression(operand);
                if *op == UnaryOperator::BitNot {
                    let operand = std::mem::replace(operand, simple(SimpleExpression::Nil));
                    let call = self.call(BNOT, vec![operand]);
                    e.head = call.head;
                }
            }
        }
        for (_, rhs) in &mut e.tail {
            self.expression(rhs);
        }
        if !e.tail.iter().any(|(op, _)| replacement(*op).is_some()) {
            return;
        }
        // The tail is evaluated left to right, `((head op1 e1) op2 e2) …`: fold it, turning
        // each operator we take over into a call of everything to its left and its operand.
        let tail = std::mem::take(&mut e.tail);
        let head = std::mem::replace(
            &mut e.head,
            Box::new(HeadExpression::Simple(SimpleExpression::Nil)),
        );
        let mut acc = Expression {
            head,
            tail: Vec::new(),
        };
        for (op, rhs) in tail {
            match replacement(op) {
                Some(f) => acc = self.call(f, vec![acc, rhs]),
                None => acc.tail.push((op, rhs)),
            }
        }
        *e = acc;
    }
}
