//! Our Lua 5.4 parser: source bytes → piccolo 0.3.3's syntax tree, which our lowering pass
//! rewrites and piccolo's compiler compiles.
//!
//! Our own because piccolo's parser refuses valid Lua 5.4 (attributes, `\u{…}` escapes beyond
//! Unicode, source bytes that are not UTF-8: see [`super::lex`]).
//!
//! The tree is the one piccolo's `parse_chunk` builds for the same source, since piccolo's
//! compiler expects that shape: statements annotated with the line (from 0) of their first
//! token, a block's `closed_on` the line of the token after it, `;` leaving no statement, a
//! binary expression a `head` and a left-to-right `tail` of operators at one precedence level
//! (precedence climbing, as Lua's `subexpr` does), a call statement or an assignment target
//! the suffixed expression with its last suffix split off. Where the trees differ:
//!
//! - `~=` has Lua's priority, that of `==`; piccolo gives it the priority of `+`, so that
//!   `a ~= b + 1` was `(a ~= b) + 1` there.
//! - Numbers and strings are Lua 5.4's ([`super::lex`]): `0xffffffffffffffff` is the
//!   integer -1 (a float in piccolo).
//! - `local x <const> = e` is a plain `LocalStatement`. Assigning to such a local (or to a
//!   `<close>` one), directly or as an upvalue, is an error here, as in Lua's compiler:
//!   "attempt to assign to const variable 'x'".
//! - `local x <close> = e` is its `LocalStatement`, then, as the next statement of the same
//!   block and on the same line, the marker call `__pb_close(x)` ([`CLOSE_MARKER`]). The
//!   lowering pass makes the rest of the block the variable's to-be-closed scope; a block
//!   never holds the marker otherwise (unless the source calls a global of that name).
//!
//! Checked here as PUC Lua's parser checks them, where piccolo's compiler checks less or words
//! it less well: `break` outside a loop, `...` outside a vararg function, a label defined
//! again where the first one is visible, more than [`MAX_DEPTH`] nested levels. Left to
//! piccolo's compiler: a `goto` with no visible label, a jump into the scope of a local,
//! the counts of locals and upvalues. Error messages are PUC Lua 5.4's ("unexpected symbol
//! near '='"), with 1-based lines in the message and the 0-based [`LineNumber`] of the error
//! beside it (for a stray `break`, its own line: PUC Lua reports it where the function ends).
//!
//! Each level costs about 6 KiB of stack unoptimized and under 3 KiB optimized (measured), so
//! [`MAX_DEPTH`] levels fit a 2 MiB thread. That is why the functions every level goes through
//! dispatch to smaller ones with one `?`: unoptimized, each temporary has its own stack slot.

use super::lex::{Lexeme, Lexer, Sym, Token};
use piccolo::compiler::parser::{
    AssignmentStatement, AssignmentTarget, BinaryOperator, Block, CallSuffix, Chunk,
    ConstructorField, Expression, FieldSuffix, ForStatement, FunctionCallStatement,
    FunctionDefinition, FunctionStatement, GotoStatement, HeadExpression, IfStatement,
    LabelStatement, LineAnnotated, LocalFunctionStatement, LocalStatement, PrimaryExpression,
    RecordKey, RepeatStatement, ReturnStatement, SimpleExpression, Statement, SuffixPart,
    SuffixedExpression, TableConstructor, UnaryOperator, WhileStatement,
};
use piccolo::compiler::{LineNumber, StringInterner};
use std::collections::HashMap;
use std::fmt::Display;

/// The function a `<close>` local's marker statement calls.
pub(crate) const CLOSE_MARKER: &str = "__pb_close";
/// The most nested levels (statements in blocks, subexpressions) a source may have: Lua's
/// `LUAI_MAXCCALLS`. It bounds our recursion, and so the tree's depth.
const MAX_DEPTH: u32 = 200;
/// The priority of unary operators: between `..` and `^`, so `-2^2` is `-(2^2)`.
const UNARY_PRIORITY: u8 = 12;

/// A source Lua would not load: the message (PUC Lua's words) and its line, from 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) line: LineNumber,
    pub(crate) message: String,
}

type Parsed<T> = Result<T, SyntaxError>;
/// A condition and the block it guards (`if`, `elseif`).
type Branch<S> = (Expression<S>, Block<S>);

/// Parses a Lua 5.4 chunk into piccolo's syntax tree (see the module's documentation).
pub(crate) fn parse_chunk<I: StringInterner>(
    source: &[u8],
    interner: &mut I,
) -> Result<Chunk<I::String>, SyntaxError> {
    let mut parser = Parser::new(Lexer::new(source, interner))?;
    let block = parser.statements()?;
    if !matches!(parser.current.token, Token::Eof) {
        return Err(parser.error_near("<eof> expected"));
    }
    parser.check_breaks()?;
    Ok(Chunk { block })
}

/// A local's attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attribute {
    Regular,
    Const,
    Close,
}

/// What the parser tracks of the function it is in.
struct Function {
    /// How many functions enclose it (labels are visible in one function only).
    nesting: usize,
    vararg: bool,
    /// How many loops enclose the current statement in this function.
    loops: u32,
    /// The first `break` outside a loop: PUC Lua reports it when the function ends.
    stray_break: Option<LineNumber>,
}

impl Function {
    fn new(nesting: usize, vararg: bool) -> Self {
        Function {
            nesting,
            vararg,
            loops: 0,
            stray_break: None,
        }
    }
}

/// A label in scope.
#[derive(Clone, Copy)]
struct Label {
    function: usize,
    line: LineNumber,
}

/// Names declared in the blocks being parsed, each with what we track of it; a name's latest
/// declaration is the one in scope. Hashed by name, so a lookup costs the same however many
/// names are in scope; a block's declarations are dropped when it ends.
struct Scoped<T> {
    by_name: HashMap<Box<[u8]>, Vec<T>>,
    order: Vec<Box<[u8]>>,
}

impl<T> Scoped<T> {
    fn new() -> Self {
        Scoped {
            by_name: HashMap::new(),
            order: Vec::new(),
        }
    }

    fn declare(&mut self, name: &[u8], value: T) {
        match self.by_name.get_mut(name) {
            Some(values) => values.push(value),
            None => {
                self.by_name.insert(name.into(), vec![value]);
            }
        }
        self.order.push(name.into());
    }

    fn innermost(&self, name: &[u8]) -> Option<&T> {
        self.by_name.get(name)?.last()
    }

    /// Where the current block's declarations will start.
    fn mark(&self) -> usize {
        self.order.len()
    }

    /// Drops the declarations made since `mark`.
    fn release(&mut self, mark: usize) {
        while self.order.len() > mark {
            let Some(name) = self.order.pop() else {
                return;
            };
            if let Some(values) = self.by_name.get_mut(&name) {
                values.pop();
                if values.is_empty() {
                    self.by_name.remove(&name);
                }
            }
        }
    }
}

struct Parser<'a, I: StringInterner> {
    lexer: Lexer<'a, I>,
    current: Lexeme<I::String>,
    /// The token after `current`, when it had to be looked at (`{name = …}`).
    ahead: Option<Lexeme<I::String>>,
    depth: u32,
    function: Function,
    /// Locals in scope: whether each is read-only (`<const>`, `<close>`).
    locals: Scoped<bool>,
    labels: Scoped<Label>,
}

impl<'a, I: StringInterner> Parser<'a, I> {
    fn new(mut lexer: Lexer<'a, I>) -> Parsed<Self> {
        let current = lexer.next()?;
        Ok(Parser {
            lexer,
            current,
            ahead: None,
            depth: 0,
            // The main chunk is a vararg function.
            function: Function::new(0, true),
            locals: Scoped::new(),
            labels: Scoped::new(),
        })
    }

    fn advance(&mut self) -> Parsed<()> {
        self.current = match self.ahead.take() {
            Some(next) => next,
            None => self.lexer.next()?,
        };
        Ok(())
    }

    /// Whether the token after the current one is `sym`.
    fn peek_is(&mut self, sym: Sym) -> Parsed<bool> {
        let next = match self.ahead.take() {
            Some(next) => next,
            None => self.lexer.next()?,
        };
        let is = matches!(next.token, Token::Sym(s) if s == sym);
        self.ahead = Some(next);
        Ok(is)
    }

    fn check(&self, sym: Sym) -> bool {
        matches!(self.current.token, Token::Sym(s) if s == sym)
    }

    /// Skips the current token if it is `sym`.
    fn test(&mut self, sym: Sym) -> Parsed<bool> {
        let found = self.check(sym);
        if found {
            self.advance()?;
        }
        Ok(found)
    }

    fn expect(&mut self, sym: Sym) -> Parsed<()> {
        if self.test(sym)? {
            return Ok(());
        }
        Err(self.error_near(format_args!("'{}' expected", sym.text())))
    }

    /// The `what` closing the `who` opened on `line` (`end` of `function`, `)` of `(`): PUC
    /// Lua names the opening in the error when it is on another line.
    fn close(&mut self, what: Sym, who: Sym, line: LineNumber) -> Parsed<()> {
        if line == self.current.line {
            return self.expect(what);
        }
        if self.test(what)? {
            return Ok(());
        }
        let (what, who, line) = (what.text(), who.text(), line.0.saturating_add(1));
        Err(self.error_near(format_args!(
            "'{what}' expected (to close '{who}' at line {line})"
        )))
    }

    fn name(&mut self) -> Parsed<I::String> {
        let Token::Name(name) = &self.current.token else {
            return Err(self.error_near("<name> expected"));
        };
        let name = name.clone();
        self.advance()?;
        Ok(name)
    }

    /// A syntax error at the current token, which PUC Lua quotes.
    fn error_near(&self, message: impl Display) -> SyntaxError {
        let near = self.lexer.near(&self.current);
        SyntaxError {
            line: self.current.line,
            message: format!("{message} near {near}"),
        }
    }

    /// An error PUC Lua reports without a token (a "semantic" error).
    fn error_here(&self, message: String) -> SyntaxError {
        SyntaxError {
            line: self.current.line,
            message,
        }
    }

    /// One level deeper, failing beyond [`MAX_DEPTH`] levels. An error ends the parse, so
    /// only a level that succeeds steps back out ([`leave`](Self::leave)).
    fn enter(&mut self) -> Parsed<()> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error_here("chunk has too many syntax levels".to_owned()));
        }
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Runs `parse` in a new block: the locals and labels it declares go out of scope after.
    fn scoped<T>(&mut self, parse: impl FnOnce(&mut Self) -> Parsed<T>) -> Parsed<T> {
        let (locals, labels) = (self.locals.mark(), self.labels.mark());
        let result = parse(self);
        self.locals.release(locals);
        self.labels.release(labels);
        result
    }

    fn in_loop<T>(&mut self, parse: impl FnOnce(&mut Self) -> Parsed<T>) -> Parsed<T> {
        self.function.loops += 1;
        let result = parse(self);
        self.function.loops -= 1;
        result
    }

    fn in_function<T>(&mut self, parse: impl FnOnce(&mut Self) -> Parsed<T>) -> Parsed<T> {
        let inner = Function::new(self.function.nesting + 1, false);
        let outer = std::mem::replace(&mut self.function, inner);
        let result = self.scoped(parse);
        self.function = outer;
        result
    }

    /// At the end of a function: its first `break` outside a loop, if any, is an error.
    fn check_breaks(&self) -> Parsed<()> {
        match self.function.stray_break {
            Some(line) => Err(SyntaxError {
                line,
                message: format!("break outside loop at line {}", line.0.saturating_add(1)),
            }),
            None => Ok(()),
        }
    }

    fn declare(&mut self, name: &I::String, readonly: bool) {
        self.locals.declare(name.as_ref(), readonly);
    }

    /// Lua's compiler refuses to assign to a `<const>` or `<close>` local.
    fn check_assignable(&self, name: &I::String, line: LineNumber) -> Parsed<()> {
        if self.locals.innermost(name.as_ref()) == Some(&true) {
            let name = String::from_utf8_lossy(name.as_ref());
            return Err(SyntaxError {
                line,
                message: format!("attempt to assign to const variable '{name}'"),
            });
        }
        Ok(())
    }

    /// Whether the current token ends a block.
    fn block_ends(&self) -> bool {
        matches!(
            self.current.token,
            Token::Sym(Sym::Else | Sym::ElseIf | Sym::End | Sym::Until) | Token::Eof
        )
    }

    /// The statements of a block, in the current scope, up to the token that ends it.
    fn statements(&mut self) -> Parsed<Block<I::String>> {
        let mut statements = Vec::new();
        let mut return_statement = None;
        while !self.block_ends() {
            let line = self.current.line;
            if self.test(Sym::SemiColon)? {
                continue;
            }
            if self.check(Sym::Return) {
                let statement = self.return_statement()?;
                return_statement = Some(LineAnnotated::new(line, statement));
                break;
            }
            self.enter()?;
            self.statement(line, &mut statements)?;
            self.leave();
        }
        Ok(Block {
            statements,
            return_statement,
            closed_on: self.current.line,
        })
    }

    fn block(&mut self) -> Parsed<Block<I::String>> {
        self.scoped(Self::statements)
    }

    /// A loop's body, with the loop's `variables` in scope.
    fn loop_block(&mut self, variables: &[I::String]) -> Parsed<Block<I::String>> {
        self.scoped(|p| {
            for variable in variables {
                p.declare(variable, false);
            }
            p.in_loop(Self::statements)
        })
    }

    /// One statement, on `line`, pushed on `out` (with its marker after a `<close>` local).
    fn statement(
        &mut self,
        line: LineNumber,
        out: &mut Vec<LineAnnotated<Statement<I::String>>>,
    ) -> Parsed<()> {
        // One `?` for all kinds: unoptimized, each would take its own stack slots, and this
        // function is on the path of every nested block.
        let statement = match self.current.token {
            Token::Sym(Sym::If) => self.if_statement(line),
            Token::Sym(Sym::While) => self.while_statement(line),
            Token::Sym(Sym::Do) => self.do_statement(line),
            Token::Sym(Sym::For) => self.for_statement(line),
            Token::Sym(Sym::Repeat) => self.repeat_statement(line),
            Token::Sym(Sym::Function) => self.function_statement(line),
            Token::Sym(Sym::Local) => return self.local(line, out),
            Token::Sym(Sym::DoubleColon) => self.label_statement(line),
            Token::Sym(Sym::Break) => self.break_statement(line),
            Token::Sym(Sym::Goto) => self.goto_statement(),
            _ => self.expression_statement(),
        }?;
        out.push(LineAnnotated::new(line, statement));
        Ok(())
    }

    /// `local function …` or `local a <const>, b = …`.
    fn local(
        &mut self,
        line: LineNumber,
        out: &mut Vec<LineAnnotated<Statement<I::String>>>,
    ) -> Parsed<()> {
        self.advance()?;
        if !self.test(Sym::Function)? {
            return self.local_statement(line, out);
        }
        let statement = self.local_function()?;
        out.push(LineAnnotated::new(line, statement));
        Ok(())
    }

    fn goto_statement(&mut self) -> Parsed<Statement<I::String>> {
        self.advance()?;
        Ok(Statement::Goto(GotoStatement { name: self.name()? }))
    }

    fn return_statement(&mut self) -> Parsed<ReturnStatement<I::String>> {
        self.advance()?;
        let returns = if self.block_ends() || self.check(Sym::SemiColon) {
            Vec::new()
        } else {
            self.expression_list()?
        };
        self.test(Sym::SemiColon)?;
        Ok(ReturnStatement { returns })
    }

    fn if_statement(&mut self, line: LineNumber) -> Parsed<Statement<I::String>> {
        let if_part = self.condition_and_block()?;
        let mut else_if_parts = Vec::new();
        while self.check(Sym::ElseIf) {
            let part = self.condition_and_block()?;
            else_if_parts.push(part);
        }
        let else_part = self.else_part()?;
        self.close(Sym::End, Sym::If, line)?;
        Ok(Statement::If(IfStatement {
            if_part,
            else_if_parts,
            else_part,
        }))
    }

    fn else_part(&mut self) -> Parsed<Option<Block<I::String>>> {
        if !self.test(Sym::Else)? {
            return Ok(None);
        }
        self.block().map(Some)
    }

    /// `if` or `elseif`, the condition, `then` and the block.
    fn condition_and_block(&mut self) -> Parsed<Branch<I::String>> {
        self.advance()?;
        let condition = self.expression()?;
        self.expect(Sym::Then)?;
        Ok((condition, self.block()?))
    }

    fn while_statement(&mut self, line: LineNumber) -> Parsed<Statement<I::String>> {
        self.advance()?;
        let condition = self.expression()?;
        self.expect(Sym::Do)?;
        let block = self.loop_block(&[])?;
        self.close(Sym::End, Sym::While, line)?;
        Ok(Statement::While(WhileStatement { condition, block }))
    }

    fn do_statement(&mut self, line: LineNumber) -> Parsed<Statement<I::String>> {
        self.advance()?;
        let block = self.block()?;
        self.close(Sym::End, Sym::Do, line)?;
        Ok(Statement::Do(block))
    }

    fn for_statement(&mut self, line: LineNumber) -> Parsed<Statement<I::String>> {
        self.advance()?;
        let name = self.name()?;
        let statement = match self.current.token {
            Token::Sym(Sym::Assign) => self.numeric_for(name)?,
            Token::Sym(Sym::Comma | Sym::In) => self.generic_for(name)?,
            _ => return Err(self.error_near("'=' or 'in' expected")),
        };
        self.close(Sym::End, Sym::For, line)?;
        Ok(Statement::For(statement))
    }

    fn numeric_for(&mut self, name: I::String) -> Parsed<ForStatement<I::String>> {
        self.advance()?;
        let initial = self.expression()?;
        self.expect(Sym::Comma)?;
        let limit = self.expression()?;
        let step = if self.test(Sym::Comma)? {
            Some(self.expression()?)
        } else {
            None
        };
        self.expect(Sym::Do)?;
        let body = self.loop_block(std::slice::from_ref(&name))?;
        Ok(ForStatement::Numeric {
            name,
            initial,
            limit,
            step,
            body,
        })
    }

    fn generic_for(&mut self, first: I::String) -> Parsed<ForStatement<I::String>> {
        let mut names = vec![first];
        while self.test(Sym::Comma)? {
            names.push(self.name()?);
        }
        self.expect(Sym::In)?;
        let arguments = self.expression_list()?;
        self.expect(Sym::Do)?;
        let body = self.loop_block(&names)?;
        Ok(ForStatement::Generic {
            names,
            arguments,
            body,
        })
    }

    fn repeat_statement(&mut self, line: LineNumber) -> Parsed<Statement<I::String>> {
        self.advance()?;
        // The condition is in the body's scope: it sees the body's locals.
        let (body, until) = self.scoped(|p| {
            let body = p.in_loop(Self::statements)?;
            p.close(Sym::Until, Sym::Repeat, line)?;
            Ok((body, p.expression()?))
        })?;
        Ok(Statement::Repeat(RepeatStatement { body, until }))
    }

    /// `function a.b.c:m() … end`; `function a() … end` assigns to `a`.
    fn function_statement(&mut self, line: LineNumber) -> Parsed<Statement<I::String>> {
        self.advance()?;
        let name = self.name()?;
        let mut fields = Vec::new();
        while self.test(Sym::Dot)? {
            fields.push(self.name()?);
        }
        let method = if self.test(Sym::Colon)? {
            Some(self.name()?)
        } else {
            None
        };
        let definition = self.function_body(line, method.is_some())?;
        if fields.is_empty() && method.is_none() {
            self.check_assignable(&name, line)?;
        }
        Ok(Statement::Function(FunctionStatement {
            name,
            fields,
            method,
            definition,
        }))
    }

    /// `local function f() … end`, after `function`: `f` is in scope in its own body.
    fn local_function(&mut self) -> Parsed<Statement<I::String>> {
        let name = self.name()?;
        self.declare(&name, false);
        let line = self.current.line;
        let definition = self.function_body(line, false)?;
        Ok(Statement::LocalFunction(LocalFunctionStatement {
            name,
            definition,
        }))
    }

    /// `local a <const>, b = …`, after `local`; the names are in scope after the values.
    fn local_statement(
        &mut self,
        line: LineNumber,
        out: &mut Vec<LineAnnotated<Statement<I::String>>>,
    ) -> Parsed<()> {
        let mut names = Vec::new();
        let mut readonly = Vec::new();
        let mut to_close = None;
        loop {
            let name = self.name()?;
            let attribute = self.attribute()?;
            if attribute == Attribute::Close {
                if to_close.is_some() {
                    let message = "multiple to-be-closed variables in local list";
                    return Err(self.error_here(message.to_owned()));
                }
                to_close = Some(name.clone());
            }
            readonly.push(attribute != Attribute::Regular);
            names.push(name);
            if !self.test(Sym::Comma)? {
                break;
            }
        }
        let values = if self.test(Sym::Assign)? {
            self.expression_list()?
        } else {
            Vec::new()
        };
        for (name, &readonly) in names.iter().zip(&readonly) {
            self.declare(name, readonly);
        }
        let local = Statement::LocalStatement(LocalStatement { names, values });
        out.push(LineAnnotated::new(line, local));
        if let Some(variable) = to_close {
            let marker = self.close_marker(variable);
            out.push(LineAnnotated::new(line, marker));
        }
        Ok(())
    }

    /// `<const>`, `<close>` or nothing, after a local's name.
    fn attribute(&mut self) -> Parsed<Attribute> {
        if !self.test(Sym::Less)? {
            return Ok(Attribute::Regular);
        }
        let name = self.name()?;
        self.expect(Sym::Greater)?;
        match name.as_ref() {
            b"const" => Ok(Attribute::Const),
            b"close" => Ok(Attribute::Close),
            other => {
                let other = String::from_utf8_lossy(other);
                Err(self.error_here(format!("unknown attribute '{other}'")))
            }
        }
    }

    /// The statement `__pb_close(variable)`.
    fn close_marker(&mut self, variable: I::String) -> Statement<I::String> {
        let marker = self.lexer.intern(CLOSE_MARKER.as_bytes());
        let argument = SuffixedExpression {
            primary: PrimaryExpression::Name(variable),
            suffixes: Vec::new(),
        };
        Statement::FunctionCall(FunctionCallStatement {
            head: SuffixedExpression {
                primary: PrimaryExpression::Name(marker),
                suffixes: Vec::new(),
            },
            call: CallSuffix::Function(vec![simple(SimpleExpression::Suffixed(argument))]),
        })
    }

    fn label_statement(&mut self, line: LineNumber) -> Parsed<Statement<I::String>> {
        self.advance()?;
        let name = self.name()?;
        let function = self.function.nesting;
        let visible = self.labels.innermost(name.as_ref());
        if let Some(label) = visible.filter(|label| label.function == function) {
            let name = String::from_utf8_lossy(name.as_ref());
            let first = label.line.0.saturating_add(1);
            let message = format!("label '{name}' already defined on line {first}");
            return Err(self.error_here(message));
        }
        self.expect(Sym::DoubleColon)?;
        self.labels.declare(name.as_ref(), Label { function, line });
        Ok(Statement::Label(LabelStatement { name }))
    }

    fn break_statement(&mut self, line: LineNumber) -> Parsed<Statement<I::String>> {
        if self.function.loops == 0 && self.function.stray_break.is_none() {
            self.function.stray_break = Some(line);
        }
        self.advance()?;
        Ok(Statement::Break)
    }

    /// A call or an assignment.
    fn expression_statement(&mut self) -> Parsed<Statement<I::String>> {
        let first = self.suffixed_expression()?;
        if !self.check(Sym::Assign) && !self.check(Sym::Comma) {
            return self.call_statement(first);
        }
        let mut targets = vec![self.target(first)?];
        while self.test(Sym::Comma)? {
            let next = self.suffixed_expression()?;
            targets.push(self.target(next)?);
        }
        self.expect(Sym::Assign)?;
        let values = self.expression_list()?;
        Ok(Statement::Assignment(AssignmentStatement {
            targets,
            values,
        }))
    }

    fn call_statement(
        &self,
        mut expression: SuffixedExpression<I::String>,
    ) -> Parsed<Statement<I::String>> {
        match expression.suffixes.pop() {
            Some(SuffixPart::Call(call)) => Ok(Statement::FunctionCall(FunctionCallStatement {
                head: expression,
                call,
            })),
            _ => Err(self.error_near("syntax error")),
        }
    }

    /// What an assignment assigns to: a name or a field, not a call or `(…)`.
    fn target(
        &self,
        mut expression: SuffixedExpression<I::String>,
    ) -> Parsed<AssignmentTarget<I::String>> {
        match expression.suffixes.pop() {
            Some(SuffixPart::Field(field)) => Ok(AssignmentTarget::Field(expression, field)),
            Some(SuffixPart::Call(_)) => Err(self.error_near("syntax error")),
            None => match expression.primary {
                PrimaryExpression::Name(name) => {
                    self.check_assignable(&name, self.current.line)?;
                    Ok(AssignmentTarget::Name(name))
                }
                PrimaryExpression::GroupedExpression(_) => Err(self.error_near("syntax error")),
            },
        }
    }

    fn expression(&mut self) -> Parsed<Expression<I::String>> {
        self.sub_expression(0)
    }

    fn expression_list(&mut self) -> Parsed<Vec<Expression<I::String>>> {
        let mut list = vec![self.expression()?];
        while self.test(Sym::Comma)? {
            list.push(self.expression()?);
        }
        Ok(list)
    }

    /// An operand and the operators after it that bind tighter than `limit`, each with its
    /// right operand (itself taking the operators binding tighter than the operator's right
    /// priority): precedence climbing, as Lua's `subexpr` does.
    fn sub_expression(&mut self, limit: u8) -> Parsed<Expression<I::String>> {
        self.enter()?;
        let head = Box::new(self.head_expression()?);
        let tail = self.operators(limit)?;
        self.leave();
        Ok(Expression { head, tail })
    }

    /// The operators binding tighter than `limit`, each with its right operand.
    fn operators(&mut self, limit: u8) -> Parsed<Vec<(BinaryOperator, Expression<I::String>)>> {
        let mut tail = Vec::new();
        while let Some(op) = binary_operator(&self.current.token) {
            let (left, right) = priority(op);
            if left <= limit {
                break;
            }
            self.advance()?;
            let operand = self.sub_expression(right)?;
            tail.push((op, operand));
        }
        Ok(tail)
    }

    /// A unary operator and its operand, or an operand.
    fn head_expression(&mut self) -> Parsed<HeadExpression<I::String>> {
        let Some(op) = unary_operator(&self.current.token) else {
            return self.simple_expression().map(HeadExpression::Simple);
        };
        self.advance()?;
        let operand = self.sub_expression(UNARY_PRIORITY)?;
        Ok(HeadExpression::UnaryOperator(op, operand))
    }

    fn simple_expression(&mut self) -> Parsed<SimpleExpression<I::String>> {
        match self.current.token {
            Token::Name(_) | Token::Sym(Sym::LeftParen) => {
                self.suffixed_expression().map(SimpleExpression::Suffixed)
            }
            Token::Sym(Sym::LeftBrace) => self.table().map(SimpleExpression::TableConstructor),
            Token::Sym(Sym::Function) => self.function_expression(),
            _ => self.literal(),
        }
    }

    /// A number, a string, `nil`, `true`, `false` or `...`.
    fn literal(&mut self) -> Parsed<SimpleExpression<I::String>> {
        let literal = match &self.current.token {
            Token::Integer(i) => SimpleExpression::Integer(*i),
            Token::Float(f) => SimpleExpression::Float(*f),
            Token::String(s) => SimpleExpression::String(s.clone()),
            Token::Sym(Sym::Nil) => SimpleExpression::Nil,
            Token::Sym(Sym::True) => SimpleExpression::True,
            Token::Sym(Sym::False) => SimpleExpression::False,
            Token::Sym(Sym::Dots) if self.function.vararg => SimpleExpression::VarArgs,
            Token::Sym(Sym::Dots) => {
                return Err(self.error_near("cannot use '...' outside a vararg function"))
            }
            _ => return Err(self.error_near("unexpected symbol")),
        };
        self.advance()?;
        Ok(literal)
    }

    /// `function (…) … end` as a value.
    fn function_expression(&mut self) -> Parsed<SimpleExpression<I::String>> {
        self.advance()?;
        let line = self.current.line;
        self.function_body(line, false)
            .map(SimpleExpression::Function)
    }

    /// A name or `(expression)`, then any fields, indexes, calls and method calls.
    fn suffixed_expression(&mut self) -> Parsed<SuffixedExpression<I::String>> {
        let line = self.current.line;
        let primary = self.primary_expression()?;
        let mut suffixes = Vec::new();
        loop {
            let suffix = match self.current.token {
                Token::Sym(Sym::Dot) => self.named_field(),
                Token::Sym(Sym::LeftBracket) => self
                    .index()
                    .map(|key| SuffixPart::Field(FieldSuffix::Indexed(key))),
                Token::Sym(Sym::Colon) => self.method_call(line),
                Token::Sym(Sym::LeftParen | Sym::LeftBrace) | Token::String(_) => self
                    .arguments(line)
                    .map(|arguments| SuffixPart::Call(CallSuffix::Function(arguments))),
                _ => return Ok(SuffixedExpression { primary, suffixes }),
            }?;
            suffixes.push(suffix);
        }
    }

    /// `.name`.
    fn named_field(&mut self) -> Parsed<SuffixPart<I::String>> {
        self.advance()?;
        Ok(SuffixPart::Field(FieldSuffix::Named(self.name()?)))
    }

    /// `:name(…)`; `line` is where the called expression starts.
    fn method_call(&mut self, line: LineNumber) -> Parsed<SuffixPart<I::String>> {
        self.advance()?;
        let name = self.name()?;
        let arguments = self.arguments(line)?;
        Ok(SuffixPart::Call(CallSuffix::Method(name, arguments)))
    }

    fn primary_expression(&mut self) -> Parsed<PrimaryExpression<I::String>> {
        match self.current.token {
            Token::Name(_) => self.name().map(PrimaryExpression::Name),
            Token::Sym(Sym::LeftParen) => self.grouped_expression(),
            _ => Err(self.error_near("unexpected symbol")),
        }
    }

    fn grouped_expression(&mut self) -> Parsed<PrimaryExpression<I::String>> {
        let line = self.current.line;
        self.advance()?;
        let inner = self.expression()?;
        self.close(Sym::RightParen, Sym::LeftParen, line)?;
        Ok(PrimaryExpression::GroupedExpression(inner))
    }

    /// `[expression]`, an index or a table's key.
    fn index(&mut self) -> Parsed<Expression<I::String>> {
        self.advance()?;
        let key = self.expression()?;
        self.expect(Sym::RightBracket)?;
        Ok(key)
    }

    /// A call's arguments: `(…)`, a table or a string. `line` is where the called expression
    /// starts (PUC Lua's "to close '(' at line").
    fn arguments(&mut self, line: LineNumber) -> Parsed<Vec<Expression<I::String>>> {
        match &self.current.token {
            Token::Sym(Sym::LeftParen) => {
                self.advance()?;
                let arguments = if self.check(Sym::RightParen) {
                    Vec::new()
                } else {
                    self.expression_list()?
                };
                self.close(Sym::RightParen, Sym::LeftParen, line)?;
                Ok(arguments)
            }
            Token::Sym(Sym::LeftBrace) => {
                let table = self.table()?;
                Ok(vec![simple(SimpleExpression::TableConstructor(table))])
            }
            Token::String(s) => {
                let s = s.clone();
                self.advance()?;
                Ok(vec![simple(SimpleExpression::String(s))])
            }
            _ => Err(self.error_near("function arguments expected")),
        }
    }

    /// `{…}`: fields separated by `,` or `;`, with an optional one after the last.
    fn table(&mut self) -> Parsed<TableConstructor<I::String>> {
        let line = self.current.line;
        self.advance()?;
        let mut fields = Vec::new();
        while !self.check(Sym::RightBrace) {
            fields.push(self.field()?);
            if !self.test(Sym::Comma)? && !self.test(Sym::SemiColon)? {
                break;
            }
        }
        self.close(Sym::RightBrace, Sym::LeftBrace, line)?;
        Ok(TableConstructor { fields })
    }

    fn field(&mut self) -> Parsed<ConstructorField<I::String>> {
        if self.check(Sym::LeftBracket) {
            return self.indexed_field();
        }
        if matches!(self.current.token, Token::Name(_)) && self.peek_is(Sym::Assign)? {
            return self.named_record_field();
        }
        self.expression().map(ConstructorField::Array)
    }

    /// `[key] = value` in a table.
    fn indexed_field(&mut self) -> Parsed<ConstructorField<I::String>> {
        let key = self.index()?;
        self.expect(Sym::Assign)?;
        let value = self.expression()?;
        Ok(ConstructorField::Record(RecordKey::Indexed(key), value))
    }

    /// `name = value` in a table.
    fn named_record_field(&mut self) -> Parsed<ConstructorField<I::String>> {
        let key = self.name()?;
        self.advance()?;
        let value = self.expression()?;
        Ok(ConstructorField::Record(RecordKey::Named(key), value))
    }

    /// A function's parameters and body, after `function` (and its name); `line` is what
    /// PUC Lua's "to close 'function' at line" names. A method has `self` in scope.
    fn function_body(
        &mut self,
        line: LineNumber,
        method: bool,
    ) -> Parsed<FunctionDefinition<I::String>> {
        self.in_function(|p| {
            let (parameters, has_varargs) = p.parameter_list(method)?;
            let body = p.statements()?;
            p.close(Sym::End, Sym::Function, line)?;
            p.check_breaks()?;
            Ok(FunctionDefinition {
                parameters,
                has_varargs,
                body,
            })
        })
    }

    /// `(parameters)`, each in scope in the body, after `self` for a method.
    fn parameter_list(&mut self, method: bool) -> Parsed<(Vec<I::String>, bool)> {
        if method {
            self.locals.declare(b"self", false);
        }
        self.expect(Sym::LeftParen)?;
        let (parameters, has_varargs) = self.parameters()?;
        self.expect(Sym::RightParen)?;
        self.function.vararg = has_varargs;
        Ok((parameters, has_varargs))
    }

    /// Names, then maybe `...`, separated by `,`; each name in scope in the body.
    fn parameters(&mut self) -> Parsed<(Vec<I::String>, bool)> {
        let mut names = Vec::new();
        if self.check(Sym::RightParen) {
            return Ok((names, false));
        }
        loop {
            match self.current.token {
                Token::Name(_) => {
                    let name = self.name()?;
                    self.declare(&name, false);
                    names.push(name);
                }
                Token::Sym(Sym::Dots) => {
                    self.advance()?;
                    return Ok((names, true));
                }
                _ => return Err(self.error_near("<name> or '...' expected")),
            }
            if !self.test(Sym::Comma)? {
                return Ok((names, false));
            }
        }
    }
}

/// An expression of one operand and no operator.
fn simple<S>(operand: SimpleExpression<S>) -> Expression<S> {
    Expression {
        head: Box::new(HeadExpression::Simple(operand)),
        tail: Vec::new(),
    }
}

fn unary_operator<S>(token: &Token<S>) -> Option<UnaryOperator> {
    match token {
        Token::Sym(Sym::Not) => Some(UnaryOperator::Not),
        Token::Sym(Sym::Minus) => Some(UnaryOperator::Minus),
        Token::Sym(Sym::Hash) => Some(UnaryOperator::Len),
        Token::Sym(Sym::Tilde) => Some(UnaryOperator::BitNot),
        _ => None,
    }
}

fn binary_operator<S>(token: &Token<S>) -> Option<BinaryOperator> {
    let Token::Sym(sym) = token else {
        return None;
    };
    Some(match sym {
        Sym::Plus => BinaryOperator::Add,
        Sym::Minus => BinaryOperator::Sub,
        Sym::Star => BinaryOperator::Mul,
        Sym::Slash => BinaryOperator::Div,
        Sym::DoubleSlash => BinaryOperator::IDiv,
        Sym::Percent => BinaryOperator::Mod,
        Sym::Caret => BinaryOperator::Pow,
        Sym::Amp => BinaryOperator::BitAnd,
        Sym::Pipe => BinaryOperator::BitOr,
        Sym::Tilde => BinaryOperator::BitXor,
        Sym::ShiftLeft => BinaryOperator::ShiftLeft,
        Sym::ShiftRight => BinaryOperator::ShiftRight,
        Sym::Concat => BinaryOperator::Concat,
        Sym::Equal => BinaryOperator::Equal,
        Sym::NotEqual => BinaryOperator::NotEqual,
        Sym::Less => BinaryOperator::LessThan,
        Sym::LessEqual => BinaryOperator::LessEqual,
        Sym::Greater => BinaryOperator::GreaterThan,
        Sym::GreaterEqual => BinaryOperator::GreaterEqual,
        Sym::And => BinaryOperator::And,
        Sym::Or => BinaryOperator::Or,
        _ => return None,
    })
}

/// An operator's left and right priorities, Lua 5.4's: a right priority below the left makes
/// it right-associative (`..`, `^`).
fn priority(op: BinaryOperator) -> (u8, u8) {
    use BinaryOperator as B;
    match op {
        B::Or => (1, 1),
        B::And => (2, 2),
        B::Equal | B::NotEqual | B::LessThan | B::LessEqual | B::GreaterThan | B::GreaterEqual => {
            (3, 3)
        }
        B::BitOr => (4, 4),
        B::BitXor => (5, 5),
        B::BitAnd => (6, 6),
        B::ShiftLeft | B::ShiftRight => (7, 7),
        B::Concat => (9, 8),
        B::Add | B::Sub => (10, 10),
        B::Mul | B::Div | B::IDiv | B::Mod => (11, 11),
        B::Pow => (14, 13),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lua::lex::tests::{Bytes, Interner};

    fn ours(source: &str) -> Result<String, SyntaxError> {
        parse_chunk(source.as_bytes(), &mut Interner).map(|chunk| format!("{chunk:?}"))
    }

    fn piccolos(source: &str) -> Option<String> {
        let chunk = piccolo::compiler::parse_chunk(source.as_bytes(), &mut Interner);
        chunk.ok().map(|chunk| format!("{chunk:?}"))
    }

    fn error(source: &str) -> (String, u64) {
        let e = parse_chunk(source.as_bytes(), &mut Interner).unwrap_err();
        (e.message, e.line.0)
    }

    /// Every statement and expression form, all accepted by piccolo's own parser.
    const CORPUS: &[&str] = &[
        "",
        "-- only a comment\n\n",
        "local a = 1",
        "local a, b, c = 1, 2\nlocal d",
        "a = 1; b, c = 2, 3;;",
        "a.b.c = 1\na[b][c] = d\na.b[c].d, e = f, g",
        "f() f(1, 2) f'str' f[[long]] f{1, 2} f.x:y(1) a:b'x' f()() f().x = 1",
        "f\n(1)\nt = {f\n(2)}",
        "do local x end do end",
        "while x do x = x - 1 end",
        "repeat local y = 1 until y == 1",
        "if a then b() elseif c then d() elseif e then f() else g() end\nif x then end",
        "for i = 1, 10 do end\nfor i = 10, 1, -1 do print(i) end",
        "for k, v in pairs(t) do print(k, v) end\nfor k in next, t, nil do end",
        "function f(a, b, ...) return ... end",
        "function a.b.c:m(x) return self, x end\nfunction a:m() end\nfunction a.b() end",
        "local function g(n) if n > 0 then return g(n - 1) end end",
        "local f = function(...) local a, b = ... return a, b end",
        "for i = 1, 3 do\n  if i == 2 then goto continue end\n  print(i)\n  ::continue::\nend",
        "::top:: x = x + 1 if x < 10 then goto top end",
        "while true do break end\nrepeat break until false",
        "return",
        "return;",
        "x = 1 return 1, 2;",
        "do return end",
        "x = 1 + 2 * 3 - 4 / 5 % 6 // 7",
        "x = 2 ^ 3 ^ 4 y = -2 ^ 2 z = 2 ^ -3 w = -x ^ -y ^ z",
        "x = a .. b .. c .. d y = a .. b + c .. d",
        "x = not a == b y = not not a z = - - a w = ~ ~ a v = #t + 1 u = -#t",
        "x = a and b or c and d or not e",
        "x = a < b and b <= c or c > d and d >= e or a == b",
        "x = a & b | c ~ d << e >> f y = ~a & b | ~c",
        "x = 1 .. 2 == '12' y = a < b == c",
        "x = a ~= b z = a ~= b and c ~= d or e",
        "x = (a) y = (f()) z = ((1 + 2) * 3) w = (a).b.c (f)(1)",
        "x = a.b.c.d.e y = a['b']['c'] z = a[b[c[d]]]",
        "t = {} u = {1, 2, 3,} v = {1; 2; 3;}",
        "t = {a = 1; b = 2, [3] = 4, 5; f(), ...}",
        "t = {[1] = {2}, x = {y = {}}, {{}}, f = function() end, g = function(...) return ... end}",
        "s = 'a\\tb\\n\\\\\\\"' .. \"x\\'y\" .. [==[ ]] ]==]",
        "s = '\\65\\066\\x43\\u{44}\\z   \n  E' t = 'a\\\nb'",
        "n = 0x10 + 1e3 + .5 + 3. + 0x1p4 + 0xA.8p0 + 0x.8 + 9007199254740993 + 9223372036854775808",
        "--[[ long\ncomment ]] x = 1 -- short\n--[==[\n]]\n]==] y = 2",
        "x = 1\r\ny = 2\n\rz = [[\nline\nline]]\rw = 4\n\n\n",
        "local a, b = ...\nt = {...}\nf(...)\nreturn select('#', ...)",
        "x = ('x'):rep(3) y = #'abc' z = ({}).x",
        "local t = setmetatable({}, {__index = function(t, k) return k end})",
        "a, b.c, d[1] = f()",
        "if x then return end",
        "while a do if b then break end end",
        "local function f() local function g() return function() return f, g end end end",
        "x = function() end y = function(a) end z = function(a, ...) end",
        "f(function() return 1 end, function() end)",
        "local x = 1\n\nfunction\nf\n(\na\n)\nreturn\na\nend\n",
        "x = a + b + c - d + e * f * g / h + i ^ j ^ k",
        "x = {a = {b = {c = {d = {e = 1}}}}}",
        "x = f(g(h(i(j(k())))))",
        "local _ENV = {} x = 1",
        "x = a.b:c(d):e{f}:g'h'.i[j]",
        "if a then elseif b then else end",
        "for i = 1, 2 do for j = 1, 2 do while true do repeat do break end until true end end end",
    ];

    #[test]
    fn tree_equals_piccolos() {
        assert!(CORPUS.len() >= 40);
        for source in CORPUS {
            let theirs = piccolos(source).unwrap_or_else(|| panic!("piccolo refuses {source:?}"));
            assert_eq!(ours(source).unwrap(), theirs, "{source:?}");
        }
        // Deep but allowed nesting (piccolo allows fewer levels: 60 of each).
        for (open, close) in [("(", ")"), ("{", "}"), ("f(", ")"), ("- ", "")] {
            let source = format!("x = {}1{}", open.repeat(60), close.repeat(60));
            assert_eq!(ours(&source).unwrap(), piccolos(&source).unwrap(), "{open}");
        }
        let source = format!("{}x = 1{}", "do ".repeat(60), " end".repeat(60));
        assert_eq!(ours(&source).unwrap(), piccolos(&source).unwrap());
    }

    #[test]
    fn piccolos_compiler_takes_our_trees() {
        let attributes = [
            "local a <const>, b, c <close> = 1, 2, f() return a + b",
            "do local f <close> = g() end local x <const> = 'x' print(x)",
            "for i = 1, 2 do local c <close> = i goto next ::next:: end",
        ];
        for source in CORPUS.iter().chain(&attributes) {
            let chunk = parse_chunk(source.as_bytes(), &mut Interner).unwrap();
            let compiled = piccolo::compiler::compile_chunk(&chunk, &mut Interner);
            assert!(compiled.is_ok(), "{source:?}: {:?}", compiled.err());
        }
    }

    #[test]
    fn not_equal_has_luas_priority() {
        // piccolo gives `~=` the priority of `+`; ours is that of `==`.
        for source in ["x = a ~= b + 1", "x = a .. b ~= c", "x = a ~= b | c"] {
            let equal = piccolos(&source.replace("~=", "==")).unwrap();
            assert_eq!(ours(source).unwrap(), equal.replace("Equal", "NotEqual"));
            assert_ne!(Some(ours(source).unwrap()), piccolos(source));
        }
    }

    #[test]
    fn hex_integers_wrap() {
        let tree = ours("x = 0xffffffffffffffff").unwrap();
        assert!(tree.contains("Integer(-1)"), "{tree}");
    }

    #[test]
    fn attributes() {
        // `<const>`: a plain local.
        assert_eq!(
            ours("local a <const>, b, c <const> = 1, 2, 3").unwrap(),
            piccolos("local a, b, c = 1, 2, 3").unwrap()
        );
        // `<close>`: the local, then the marker, on the same line.
        let tree = ours("\nlocal a, f <close> = 1, g()\nreturn a").unwrap();
        let expected = piccolos("\nlocal a, f = 1, g() __pb_close(f)\nreturn a").unwrap();
        assert_eq!(tree, expected);
        let block = parse_chunk(b"do local x <close> = v end", &mut Interner).unwrap();
        let Statement::Do(inner) = &block.block.statements[0].inner else {
            panic!("{block:?}")
        };
        assert_eq!(inner.statements.len(), 2);
        assert_eq!(inner.statements[1].line_number, LineNumber(0));
        let Statement::FunctionCall(call) = &inner.statements[1].inner else {
            panic!("{inner:?}")
        };
        assert!(
            matches!(&call.head.primary, PrimaryExpression::Name(n) if n.0 == CLOSE_MARKER.as_bytes())
        );
        assert!(call.head.suffixes.is_empty());
        let CallSuffix::Function(arguments) = &call.call else {
            panic!("{call:?}")
        };
        assert_eq!(
            format!("{arguments:?}"),
            format!(
                "{:?}",
                [simple(SimpleExpression::Suffixed(SuffixedExpression {
                    primary: PrimaryExpression::Name(Bytes(b"x".to_vec())),
                    suffixes: Vec::new(),
                }))]
            )
        );
    }

    #[test]
    fn attribute_errors() {
        let cases = [
            ("local x <foo> = 1", "unknown attribute 'foo'", 0),
            (
                "local a <close>, b <close> = 1, 2",
                "multiple to-be-closed variables in local list",
                0,
            ),
            (
                "local x <const> = 1\nx = 2",
                "attempt to assign to const variable 'x'",
                1,
            ),
            (
                "local x <close> = nil\nx = 2",
                "attempt to assign to const variable 'x'",
                1,
            ),
            (
                "local x <const> = 1\nlocal function f()\n  return function() y, x = 1, 2 end\nend",
                "attempt to assign to const variable 'x'",
                2,
            ),
            (
                "local x <const> = 1\nfunction x() end",
                "attempt to assign to const variable 'x'",
                1,
            ),
            (
                "local x <const> = 1 do local y = 1 x = 2 end",
                "attempt to assign to const variable 'x'",
                0,
            ),
            (
                "repeat local x <const> = 1 until (function() x = 1 end)()",
                "attempt to assign to const variable 'x'",
                0,
            ),
            ("local x <", "<name> expected near <eof>", 0),
            ("local x <const = 1", "'>' expected near '='", 0),
            ("local x<const>= 1", "'>' expected near '>='", 0),
        ];
        for (source, message, line) in cases {
            assert_eq!(error(source), (message.to_owned(), line), "{source}");
        }
        // Shadowing ends const-ness; fields of a const are not the const.
        for source in [
            "local x <const> = 1 local x = 2 x = 3",
            "local x <const> = 1 local function x() end x = 3",
            "local x <const> = 1 for x = 1, 2 do x = 3 end",
            "local x <const> = 1 for x in f do x = 3 end",
            "local x <const> = 1 function f(x) x = 3 end",
            "local self <const> = 1 function t:m() self = 3 end",
            "local x <const> = {} x.y = 1 x[1] = 2 function x.f() end function x:m() end",
            "do local x <const> = 1 end x = 2",
            "local x = 1 local y <const> = x x = 2",
            "local _ENV <const> = {} y = 1",
        ] {
            assert!(ours(source).is_ok(), "{source}: {:?}", ours(source));
        }
        // The value is not in the new local's scope: `x` here is the outer const.
        assert!(ours("local x <const> = 1 local x = function() x = 2 end").is_err());
    }

    #[test]
    fn syntax_errors() {
        let cases = [
            ("x = = 1", "unexpected symbol near '='", 0),
            ("local function f()\n  x\nend", "syntax error near 'end'", 2),
            ("for x 1", "'=' or 'in' expected near '1'", 0),
            ("x y", "syntax error near 'y'", 0),
            ("f() = 1", "syntax error near '='", 0),
            ("(a) = 1", "syntax error near '='", 0),
            ("a.b", "syntax error near <eof>", 0),
            ("a, b", "'=' expected near <eof>", 0),
            ("a, f() = 1, 2", "syntax error near '='", 0),
            ("x = 1 +", "unexpected symbol near <eof>", 0),
            (
                "\n\nfunction f()\n  return 1\n",
                "'end' expected (to close 'function' at line 3) near <eof>",
                4,
            ),
            (
                "if x then\ny()",
                "'end' expected (to close 'if' at line 1) near <eof>",
                1,
            ),
            ("if x then y() else", "'end' expected near <eof>", 0),
            ("if x y", "'then' expected near 'y'", 0),
            ("while x y", "'do' expected near 'y'", 0),
            (
                "repeat\nx = 1",
                "'until' expected (to close 'repeat' at line 1) near <eof>",
                1,
            ),
            ("local 1", "<name> expected near '1'", 0),
            ("local function 1", "<name> expected near '1'", 0),
            ("function f(1) end", "<name> or '...' expected near '1'", 0),
            ("function f(a, ...,) end", "')' expected near ','", 0),
            ("x = (1", "')' expected near <eof>", 0),
            (
                "x = f(\n1",
                "')' expected (to close '(' at line 1) near <eof>",
                1,
            ),
            ("x = {1, 2", "'}' expected near <eof>", 0),
            (
                "x = {\n1",
                "'}' expected (to close '{' at line 1) near <eof>",
                1,
            ),
            ("x = a[1", "']' expected near <eof>", 0),
            ("x = {[1] 2}", "'=' expected near '2'", 0),
            ("x = a:b", "function arguments expected near <eof>", 0),
            ("return 1 x = 2", "<eof> expected near 'x'", 0),
            ("end", "<eof> expected near 'end'", 0),
            ("x = 1 until", "<eof> expected near 'until'", 0),
            ("goto 1", "<name> expected near '1'", 0),
            ("::a x = 1", "'::' expected near 'x'", 0),
            ("x = @", "unexpected symbol near '@'", 0),
            ("x = 1 \x01", "unexpected symbol near '<\\1>'", 0),
            ("x = '\u{e9}' \u{e9}", "unexpected symbol near '<\\195>'", 0),
            ("x = 3x", "malformed number near '3x'", 0),
            ("x = 'abc", "unfinished string near <eof>", 0),
            (
                "f(x 'a' \"b\" ~ 1 [[c]] {})",
                "')' expected near '[[c]]'",
                0,
            ),
            (
                "local x = function() return ... end",
                "cannot use '...' outside a vararg function near '...'",
                0,
            ),
            (
                "function f(a) local t = {...} end",
                "cannot use '...' outside a vararg function near '...'",
                0,
            ),
            ("x = 1\nbreak\n", "break outside loop at line 2", 1),
            (
                "while x do local f = function() break end end",
                "break outside loop at line 1",
                0,
            ),
            ("::a:: ::a::", "label 'a' already defined on line 1", 0),
            (
                "::a::\ndo ::a:: end",
                "label 'a' already defined on line 1",
                1,
            ),
            ("x = 1 -- ok\n\n  y = = 2", "unexpected symbol near '='", 2),
        ];
        for (source, message, line) in cases {
            assert_eq!(error(source), (message.to_owned(), line), "{source}");
        }
        // Labels in other blocks or functions do not clash; a later syntax error comes first.
        for source in [
            "do ::a:: end ::a::",
            "::a:: function f() ::a:: end",
            "while x do ::a:: end while y do ::a:: end",
            "f(...)",
        ] {
            assert!(ours(source).is_ok(), "{source}: {:?}", ours(source));
        }
        assert_eq!(error("break x = = 1").0, "unexpected symbol near '='");
    }

    #[test]
    fn statements_carry_their_first_line() {
        let chunk = parse_chunk(
            b"\n\nx = 1\n;\nf(\n)\nif a then\n  y = 2\n\nend\nreturn\n1",
            &mut Interner,
        )
        .unwrap();
        let lines: Vec<u64> = chunk
            .block
            .statements
            .iter()
            .map(|s| s.line_number.0)
            .collect();
        assert_eq!(lines, [2, 4, 6]);
        assert_eq!(
            chunk.block.return_statement.map(|r| r.line_number.0),
            Some(10)
        );
        assert_eq!(chunk.block.closed_on, LineNumber(11));
    }

    #[test]
    fn hostile_inputs_fail_without_overflow() {
        const DEEP: usize = 100_000;
        let too_deep = "chunk has too many syntax levels";
        for (open, close) in [
            ("(", ")"),
            ("{", "}"),
            ("f(", ")"),
            ("- ", ""),
            ("not ", ""),
            ("a[", "]"),
            ("{{", "}}"),
            ("'x' .. ", ""),
            ("2 ^ ", ""),
            ("function() return ", " end"),
        ] {
            let source = format!("x = {}1{}", open.repeat(DEEP), close.repeat(DEEP));
            assert_eq!(error(&source).0, too_deep, "{open}");
        }
        for (open, close) in [
            ("do ", " end"),
            ("while x do ", " end"),
            ("if x then ", " end"),
            ("function f() ", " end"),
            ("repeat ", " until x"),
            ("for i = 1, 2 do ", " end"),
        ] {
            let source = format!("{}x = 1{}", open.repeat(DEEP), close.repeat(DEEP));
            assert_eq!(error(&source).0, too_deep, "{open}");
        }
        // At the limit, unoptimized, on a thread of a test's default stack (2 MiB): about
        // 6 KiB per level at most unoptimized, under 3 KiB optimized (measured).
        let at_limit = std::thread::Builder::new().stack_size(2 << 20).spawn(|| {
            for (open, close) in [
                ("(", ")"),
                ("{", "}"),
                ("{[", "] = 1}"),
                ("f(", ")"),
                ("a:b(", ")"),
                ("- ", ""),
                ("function() return ", " end"),
            ] {
                let source = format!("x = {}1{}", open.repeat(195), close.repeat(195));
                assert!(ours(&source).is_ok(), "{open}");
            }
            // Two levels each: a statement and an expression.
            let source = format!(
                "{}x = 1{}",
                "local x = function() ".repeat(99),
                " end".repeat(99)
            );
            assert!(ours(&source).is_ok(), "{:?}", ours(&source));
            for (open, close) in [
                ("do ", " end"),
                ("while x do ", " end"),
                ("if x then ", " end"),
                ("if x then elseif y then ", " end"),
                ("function f() ", " end"),
                ("for i = 1, 2 do ", " end"),
                ("repeat ", " until x"),
            ] {
                // 198 blocks, the statement in them and its expression: 200 levels.
                let source = format!("{}x = 1{}", open.repeat(198), close.repeat(198));
                assert!(ours(&source).is_ok(), "{open}");
                let source = format!("{}x = 1{}", open.repeat(199), close.repeat(199));
                assert_eq!(
                    error(&source).0,
                    "chunk has too many syntax levels",
                    "{open}"
                );
            }
        });
        assert!(at_limit.unwrap().join().is_ok());
        // Long flat chains are not nesting.
        let chain = format!("x = 1{}", " + 1".repeat(DEEP));
        assert!(ours(&chain).is_ok());
        let suffixes = format!("x = a{}", ".b[1](2):c'd'".repeat(DEEP / 10));
        assert!(ours(&suffixes).is_ok());
        // Many names in scope: looked up by hash, not one by one.
        let mut many: String = (0..DEEP / 10)
            .map(|i| {
                format!("local a{i} <const> = 1 local a{i} = 2 a{i} = 3 ::l{i}:: do ::m:: end\n")
            })
            .collect();
        many.push_str("a0 = 1 ::l0::");
        assert_eq!(
            error(&many),
            ("label 'l0' already defined on line 1".to_owned(), 10_000)
        );
        let statements = "local a = 1 a = a + 1 f(a, {a}) do end\n".repeat(DEEP / 5);
        assert!(ours(&statements).is_ok());
        // Unfinished things, huge numbers, extreme escapes.
        for source in [
            format!("x = [[{}", "a".repeat(DEEP)),
            format!("--[==[{}]=]", "\n".repeat(DEEP)),
            format!("x = '{}", "\\z".repeat(DEEP)),
            format!("x = {}", "(".repeat(DEEP)),
            format!("x = {}", "{".repeat(DEEP)),
            format!("x = {}", "- ".repeat(DEEP)),
        ] {
            assert!(parse_chunk(source.as_bytes(), &mut Interner).is_err());
        }
        for source in [
            format!("x = {}", "9".repeat(DEEP)),
            format!("x = 0x{}", "f".repeat(DEEP)),
            "x = '\\u{7FFFFFFF}'".to_owned(),
            "x = 1e999999".to_owned(),
        ] {
            assert!(ours(&source).is_ok(), "{source:.40}");
        }
        assert!(ours("x = '\\u{80000000}'").is_err());
    }

    /// Random token soup: errors or trees, never a panic.
    #[test]
    fn random_inputs_never_panic() {
        const PIECES: &[&[u8]] = &[
            b"local ",
            b"function ",
            b"end ",
            b"(",
            b")",
            b"{",
            b"}",
            b"[",
            b"]",
            b"=",
            b",",
            b";",
            b":",
            b"::",
            b".",
            b"..",
            b"...",
            b"x ",
            b"y ",
            b"1 ",
            b"0x ",
            b"'s'",
            b"\"",
            b"[[",
            b"]]",
            b"--",
            b"\n",
            b"+",
            b"-",
            b"^",
            b"not ",
            b"<const>",
            b"<close>",
            b"if ",
            b"then ",
            b"else ",
            b"while ",
            b"do ",
            b"for ",
            b"in ",
            b"return ",
            b"break ",
            b"goto ",
            b"repeat ",
            b"until ",
            b"\\",
            b"\xff",
            b"#",
            b"~",
            b"~=",
            b"<",
            b">>",
            b"//",
            b"e",
            b"3.",
            b"\\u{",
            b"<",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            let mut source = Vec::new();
            for _ in 0..(seed % 24) {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                source.extend_from_slice(PIECES[(seed >> 33) as usize % PIECES.len()]);
            }
            seed = seed.wrapping_add(1);
            let _ = parse_chunk(&source, &mut Interner);
        }
    }

    /// PUC Lua's own test suite, where it is available: every file parses.
    #[test]
    fn puc_testes_parse() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/lua-testes/testes");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("skipped: {} is not there", dir.display());
            return;
        };
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "lua"))
            .collect();
        files.sort();
        assert!(!files.is_empty());
        let failures: Vec<String> = files
            .iter()
            .filter_map(|path| {
                let source = std::fs::read(path).unwrap();
                let e = parse_chunk(&source, &mut Interner).err()?;
                Some(format!(
                    "{}:{}: {}",
                    path.display(),
                    e.line.0 + 1,
                    e.message
                ))
            })
            .collect();
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
