//! The one error type of the crate: [`Error`] with a [`ErrorKind`] saying what went wrong.

use std::fmt;

/// An error from loading or calling a plugin.
///
/// The kind is boxed so that `Result<T, Error>` stays one pointer wide on the hot path.
#[derive(Debug, Clone)]
pub struct Error {
    kind: Box<ErrorKind>,
}

/// What went wrong. Match on it; new kinds may be added.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The bytes are not a WebAssembly module this host accepts.
    InvalidModule { reason: String },
    /// The module is larger than [`Limits::max_module_bytes`](crate::Limits::max_module_bytes).
    ModuleTooLarge { len: usize, max: usize },
    /// A required export is absent, or present with the wrong kind (e.g. a global for a function).
    MissingExport { name: String },
    /// An export has the wrong WebAssembly signature for its ABI.
    SignatureMismatch {
        name: String,
        expected: String,
        found: String,
    },
    /// An import could not be satisfied (unknown, denied, ambiguous, or of the wrong type).
    LinkError {
        module: String,
        name: String,
        reason: String,
    },
    /// No plugin ABI fits the module, or more than one does.
    AbiDetection { reason: String },
    /// The plugin has no callable function of this name; `exports` lists the ones it has
    /// (empty where the engine found out first: [`Plugin`](crate::Plugin) fills it in).
    UnknownFunction { name: String, exports: Vec<String> },
    /// The call used up its whole fuel budget.
    OutOfFuel { budget: u64 },
    /// The plugin tried to grow its memory past the cap, or declares more than the cap.
    MemoryLimit { cap: usize },
    /// The plugin exhausted the interpreter's call stack.
    StackOverflow,
    /// The plugin trapped. `message` is the panic message a guest reported, if any.
    Trap {
        code: TrapCode,
        message: Option<String>,
    },
    /// The plugin broke the ABI contract (bad pointer, failed allocation, …).
    AbiViolation(AbiViolation),
    /// Bytes from the plugin (or given by the caller) do not decode as the expected type.
    Decode(DecodeError),
    /// A value could not be encoded as the expected type.
    Encode { reason: String },
    /// The input exceeds [`Limits::max_input_bytes`](crate::Limits::max_input_bytes).
    InputTooLarge { len: usize, max: usize },
    /// The plugin's output exceeds [`Limits::max_output_bytes`](crate::Limits::max_output_bytes).
    OutputTooLarge { len: u64, max: usize },
    /// A host function failed.
    HostFunction {
        namespace: String,
        name: String,
        reason: HostFunctionFailure,
    },
    /// Plugin→host→plugin nesting went deeper than [`Limits::max_reentrancy`](crate::Limits::max_reentrancy).
    ReentrancyLimit { depth: u32 },
    /// A call is already in flight on this plugin (e.g. suspended between fuel slices).
    Busy,
    /// `resume` was called with no call in flight, or with the wrong kind of step.
    NoCallInFlight,
    /// The guest exited through WASI `proc_exit` with a non-zero status.
    Exit { status: i32 },
    /// The plugin reported failure: an error message it set, or a non-zero return code
    /// (Extism kernel ABI).
    CallFailed { code: i32, message: Option<String> },
    /// The plugin asked for something it is not allowed (an HTTP host, vars over their limit).
    CapabilityDenied { what: String },
    /// An Extism manifest is malformed, or one of its modules cannot be had or fails its hash.
    Manifest { reason: String },
    /// The call ran past its wall-clock deadline ([`Limits::timeout_ms`](crate::Limits::timeout_ms)).
    Timeout { ms: u64 },
    /// A Lua source does not compile (or is rejected before compiling: too large, nested too
    /// deeply). `line` counts from 1.
    LuaSyntax {
        /// The plugin's name.
        plugin: String,
        file: String,
        line: Option<u32>,
        message: String,
    },
    /// A Lua plugin raised an error (the message is the error value, rendered without running
    /// metamethods).
    LuaError { plugin: String, message: String },
    /// The plugin's engine itself panicked (a piccolo bug reached by plugin code); the plugin's
    /// VM was dropped and is rebuilt before its next call.
    EnginePanic { message: String },
    /// An `interface.d.ts` file is outside the supported subset; `line` and `column` count
    /// from 1.
    Interface {
        line: u32,
        column: u32,
        message: String,
    },
    /// The plugin holds more host-side resources than its limits allow (nvim ABI values).
    ResourceLimit(ResourceLimit),
    /// A call from one plugin to another (or to the designated Lua VM) cannot be made: no such
    /// exposed plugin, or it is not of the kind the call needs.
    Peer { plugin: String, reason: String },
    /// The embedder cancelled the call (an `AbortSignal`, [`Plugin::cancel`](crate::Plugin::cancel)).
    Cancelled,
    /// The plugin (or its host) was closed; it takes no more calls.
    Closed { plugin: String },
    /// An option given to the host, a load or a call is unknown or has a value it cannot take.
    InvalidOption { option: String, reason: String },
    /// The runtime itself failed (the package's wasm instance aborted) and was rebuilt; the
    /// call in flight is lost, the plugins were reloaded.
    RuntimeCrashed { message: String },
}

/// Which host-side resource ran out.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ResourceLimit {
    /// Live value ids (nvim ABI) reached [`Limits::max_handles`](crate::Limits::max_handles).
    Handles { max: usize },
    /// The values a plugin holds host-side would exceed this many bytes (its memory cap).
    ValueBytes { max: usize },
}

/// Why a host function failed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum HostFunctionFailure {
    /// The function returned an error with this message.
    Failed(String),
    /// The function panicked; the panic was contained and this is its message.
    Panicked(String),
    /// The function is asynchronous and the caller can only drive synchronous calls.
    AsyncNotSupported,
}

/// How a plugin broke its ABI's contract.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AbiViolation {
    /// A pointer/length pair lies (partly) outside the plugin's memory.
    OutOfBounds {
        ptr: u64,
        len: u64,
        memory_size: u64,
    },
    /// A pointer/length pair wraps around the address space.
    Overflow { ptr: u64, len: u64 },
    /// The plugin's allocator returned a null or negative pointer.
    AllocFailed { requested: u64, returned: i64 },
    /// The plugin has no linear memory to exchange data through.
    NoMemory,
    /// Data the plugin passed to the host is malformed.
    Malformed { what: String },
    /// An id that names no value of this plugin: never issued, already consumed (stale),
    /// or another plugin's (nvim ABI).
    BadHandle { id: u32 },
    /// An id used for something its entry cannot do (nvim ABI: reading a value from an id
    /// that was reserved and never set).
    WrongType {
        id: u32,
        expected: &'static str,
        found: &'static str,
    },
}

/// Why bytes did not decode.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The data ended before the value did.
    UnexpectedEnd,
    /// A length prefix claims more than the data (or the size limit) holds.
    SizeLimit { claimed: u64, available: u64 },
    /// Values nest deeper than the depth limit.
    DepthLimit { max: u32 },
    /// Bytes are left over after the value.
    TrailingBytes { count: usize },
    /// A string is not valid UTF-8.
    InvalidUtf8,
    /// A tag (bool, option, enum variant, char) has a value the type does not allow.
    InvalidTag { what: &'static str, value: u64 },
    /// The value does not match the expected type.
    Mismatch { reason: String },
}

/// A WebAssembly trap, independent of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrapCode {
    Unreachable,
    MemoryOutOfBounds,
    TableOutOfBounds,
    IndirectCallToNull,
    IntegerDivisionByZero,
    IntegerOverflow,
    BadConversionToInteger,
    BadSignature,
    GrowthOperationLimited,
    Other,
}

impl Error {
    /// Creates an error of this kind.
    pub fn new(kind: ErrorKind) -> Self {
        Self {
            kind: Box::new(kind),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Consumes the error, returning its kind.
    pub fn into_kind(self) -> ErrorKind {
        *self.kind
    }

    /// `true` if the call ran out of its fuel budget.
    pub fn is_out_of_fuel(&self) -> bool {
        matches!(*self.kind, ErrorKind::OutOfFuel { .. })
    }

    /// `true` if the plugin hit its memory cap.
    pub fn is_memory_limit(&self) -> bool {
        matches!(*self.kind, ErrorKind::MemoryLimit { .. })
    }

    pub(crate) fn kind_mut(&mut self) -> &mut ErrorKind {
        &mut self.kind
    }

    /// Names the Lua plugin in a Lua error that does not name one yet.
    pub(crate) fn in_plugin(mut self, name: &str) -> Self {
        if let ErrorKind::LuaSyntax { plugin, .. } | ErrorKind::LuaError { plugin, .. } =
            self.kind_mut()
        {
            if plugin.is_empty() {
                *plugin = name.to_owned();
            }
        }
        self
    }

    /// A stable camelCase name for the kind, as the JS package reports it.
    pub fn kind_name(&self) -> &'static str {
        match &*self.kind {
            ErrorKind::InvalidModule { .. } => "invalidModule",
            ErrorKind::ModuleTooLarge { .. } => "moduleTooLarge",
            ErrorKind::MissingExport { .. } => "missingExport",
            ErrorKind::SignatureMismatch { .. } => "signatureMismatch",
            ErrorKind::LinkError { .. } => "linkError",
            ErrorKind::AbiDetection { .. } => "abiDetection",
            ErrorKind::UnknownFunction { .. } => "unknownFunction",
            ErrorKind::OutOfFuel { .. } => "outOfFuel",
            ErrorKind::MemoryLimit { .. } => "memoryLimit",
            ErrorKind::StackOverflow => "stackOverflow",
            ErrorKind::Trap { .. } => "trap",
            ErrorKind::AbiViolation(_) => "abiViolation",
            ErrorKind::Decode(_) => "decode",
            ErrorKind::Encode { .. } => "encode",
            ErrorKind::InputTooLarge { .. } => "inputTooLarge",
            ErrorKind::OutputTooLarge { .. } => "outputTooLarge",
            ErrorKind::HostFunction { .. } => "hostFunction",
            ErrorKind::ReentrancyLimit { .. } => "reentrancyLimit",
            ErrorKind::Busy => "busy",
            ErrorKind::NoCallInFlight => "noCallInFlight",
            ErrorKind::Exit { .. } => "exit",
            ErrorKind::CallFailed { .. } => "callFailed",
            ErrorKind::CapabilityDenied { .. } => "capabilityDenied",
            ErrorKind::Manifest { .. } => "manifest",
            ErrorKind::Timeout { .. } => "timeout",
            ErrorKind::Interface { .. } => "interface",
            ErrorKind::LuaSyntax { .. } => "luaSyntax",
            ErrorKind::LuaError { .. } => "luaError",
            ErrorKind::EnginePanic { .. } => "enginePanic",
            ErrorKind::ResourceLimit(_) => "resourceLimit",
            ErrorKind::Peer { .. } => "peer",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::RuntimeCrashed { .. } => "runtimeCrashed",
            ErrorKind::Closed { .. } => "closed",
            ErrorKind::InvalidOption { .. } => "invalidOption",
        }
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind)
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Self::new(ErrorKind::Decode(e))
    }
}

impl From<AbiViolation> for Error {
    fn from(e: AbiViolation) -> Self {
        Self::new(ErrorKind::AbiViolation(e))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl std::error::Error for Error {}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidModule { reason } => write!(f, "invalid module: {reason}"),
            Self::ModuleTooLarge { len, max } => {
                write!(f, "module is {len} bytes, over the limit of {max}")
            }
            Self::MissingExport { name } => write!(f, "plugin does not export `{name}`"),
            Self::SignatureMismatch {
                name,
                expected,
                found,
            } => {
                write!(f, "export `{name}` has type {found}, expected {expected}")
            }
            Self::LinkError {
                module,
                name,
                reason,
            } => {
                write!(f, "cannot link import `{module}.{name}`: {reason}")
            }
            Self::AbiDetection { reason } => write!(f, "cannot detect the plugin ABI: {reason}"),
            Self::UnknownFunction { name, exports } if exports.is_empty() => {
                write!(f, "plugin has no function `{name}`")
            }
            Self::UnknownFunction { name, exports } => {
                write!(f, "plugin has no function `{name}`; its functions: ")?;
                const SHOWN: usize = 32;
                for (i, e) in exports.iter().take(SHOWN).enumerate() {
                    write!(f, "{}{e}", if i == 0 { "" } else { ", " })?;
                }
                if exports.len() > SHOWN {
                    write!(f, " and {} more", exports.len() - SHOWN)?;
                }
                Ok(())
            }
            Self::OutOfFuel { budget } => write!(f, "out of fuel (budget {budget})"),
            Self::MemoryLimit { cap } => write!(f, "memory limit of {cap} bytes reached"),
            Self::StackOverflow => write!(f, "stack overflow"),
            Self::Trap {
                code,
                message: Some(m),
            } => write!(f, "plugin trapped ({code}): {m}"),
            Self::Trap {
                code,
                message: None,
            } => write!(f, "plugin trapped: {code}"),
            Self::AbiViolation(v) => write!(f, "abi violation: {v}"),
            Self::Decode(e) => write!(f, "decode error: {e}"),
            Self::Encode { reason } => write!(f, "encode error: {reason}"),
            Self::InputTooLarge { len, max } => {
                write!(f, "input is {len} bytes, over the limit of {max}")
            }
            Self::OutputTooLarge { len, max } => {
                write!(f, "output is {len} bytes, over the limit of {max}")
            }
            Self::HostFunction {
                namespace,
                name,
                reason,
            } => {
                write!(f, "host function `{namespace}.{name}` failed: {reason}")
            }
            Self::ReentrancyLimit { depth } => {
                write!(f, "re-entrancy depth {depth} exceeds the limit")
            }
            Self::Busy => write!(f, "plugin is busy with another call"),
            Self::NoCallInFlight => write!(f, "no call is in flight in the state this needs"),
            Self::Exit { status } => write!(f, "plugin exited with status {status}"),
            Self::CallFailed {
                code,
                message: Some(m),
            } => write!(f, "plugin failed (code {code}): {m}"),
            Self::CallFailed {
                code,
                message: None,
            } => write!(f, "plugin returned error code {code}"),
            Self::CapabilityDenied { what } => write!(f, "denied: {what}"),
            Self::Manifest { reason } => write!(f, "manifest: {reason}"),
            Self::Timeout { ms } => write!(f, "call exceeded its timeout of {ms} ms"),
            Self::LuaSyntax {
                plugin,
                file,
                line,
                message,
            } => {
                if !plugin.is_empty() {
                    write!(f, "plugin `{plugin}`: ")?;
                }
                match line {
                    Some(line) => write!(f, "{file}:{line}: {message}"),
                    None => write!(f, "{file}: {message}"),
                }
            }
            Self::LuaError { plugin, message } if plugin.is_empty() => {
                write!(f, "lua error: {message}")
            }
            Self::LuaError { plugin, message } => {
                write!(f, "lua error in plugin `{plugin}`: {message}")
            }
            Self::EnginePanic { message } => {
                write!(
                    f,
                    "the plugin's engine panicked (its VM was dropped): {message}"
                )
            }
            Self::Interface {
                line,
                column,
                message,
            } => write!(f, "interface.d.ts:{line}:{column}: {message}"),
            Self::ResourceLimit(r) => write!(f, "resource limit: {r}"),
            Self::Peer { plugin, reason } => write!(f, "cannot call plugin `{plugin}`: {reason}"),
            Self::Cancelled => write!(f, "the call was cancelled"),
            Self::RuntimeCrashed { message } => {
                write!(f, "the runtime crashed and was rebuilt: {message}")
            }
            Self::Closed { plugin } => write!(f, "plugin `{plugin}` was closed"),
            Self::InvalidOption { option, reason } => write!(f, "option `{option}`: {reason}"),
        }
    }
}

impl fmt::Display for ResourceLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Handles { max } => write!(f, "more than {max} live value ids"),
            Self::ValueBytes { max } => write!(f, "values held for the plugin exceed {max} bytes"),
        }
    }
}

impl From<ResourceLimit> for Error {
    fn from(e: ResourceLimit) -> Self {
        Self::new(ErrorKind::ResourceLimit(e))
    }
}

impl fmt::Display for HostFunctionFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed(m) => write!(f, "{m}"),
            Self::Panicked(m) => write!(f, "panicked: {m}"),
            Self::AsyncNotSupported => {
                write!(f, "asynchronous host function in a synchronous call")
            }
        }
    }
}

impl fmt::Display for AbiViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfBounds {
                ptr,
                len,
                memory_size,
            } => write!(
                f,
                "range {ptr}+{len} is outside the plugin memory of {memory_size} bytes"
            ),
            Self::Overflow { ptr, len } => write!(f, "range {ptr}+{len} wraps around"),
            Self::AllocFailed {
                requested,
                returned,
            } => {
                write!(f, "allocating {requested} bytes returned {returned}")
            }
            Self::NoMemory => write!(f, "plugin exports no memory"),
            Self::Malformed { what } => write!(f, "malformed {what}"),
            Self::BadHandle { id } => write!(f, "id {id} names no value of this plugin"),
            Self::WrongType {
                id,
                expected,
                found,
            } => write!(f, "id {id} is {found}, expected {expected}"),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedEnd => write!(f, "unexpected end of data"),
            Self::SizeLimit { claimed, available } => {
                write!(
                    f,
                    "length {claimed} exceeds the {available} bytes available"
                )
            }
            Self::DepthLimit { max } => write!(f, "values nest deeper than {max}"),
            Self::TrailingBytes { count } => write!(f, "{count} trailing bytes after the value"),
            Self::InvalidUtf8 => write!(f, "string is not valid utf-8"),
            Self::InvalidTag { what, value } => write!(f, "invalid {what} tag {value}"),
            Self::Mismatch { reason } => write!(f, "{reason}"),
        }
    }
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Self::Unreachable => "unreachable code reached",
            Self::MemoryOutOfBounds => "memory access out of bounds",
            Self::TableOutOfBounds => "table access out of bounds",
            Self::IndirectCallToNull => "indirect call to null",
            Self::IntegerDivisionByZero => "integer division by zero",
            Self::IntegerOverflow => "integer overflow",
            Self::BadConversionToInteger => "invalid conversion to integer",
            Self::BadSignature => "indirect call signature mismatch",
            Self::GrowthOperationLimited => "growth operation limited",
            Self::Other => "trap",
        };
        f.write_str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_one_pointer_wide() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn error_is_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Error>();
    }

    #[test]
    fn display_is_lowercase_without_period() {
        let e = Error::new(ErrorKind::OutOfFuel { budget: 7 });
        let s = e.to_string();
        assert_eq!(s, "out of fuel (budget 7)");
        assert!(!s.ends_with('.'));
    }
}
