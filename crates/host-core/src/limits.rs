//! [`Limits`]: every budget a plugin runs under.

/// The budgets a plugin runs under. Exceeding one is an error of its own kind.
///
/// Defaults suit untrusted plugins in a browser tab: a call gets 100 M fuel (about 0.25 s of
/// wasmi natively, about 1 s inside V8), handed out in slices of 1 M (about 10 ms in V8) between
/// which the embedder may yield.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Total fuel one call may use (wasmi charges roughly one unit per instruction).
    pub fuel: u64,
    /// Fuel per slice: a call yields ([`Step::Yielded`](crate::Step::Yielded)) after this much.
    pub fuel_slice: u64,
    /// Fuel for instantiation (data segments, the start function, `_initialize`).
    pub instantiate_fuel: u64,
    /// Cap on a plugin's linear memory, in bytes.
    pub memory_bytes: usize,
    /// Cap on plugin→host→plugin nesting.
    pub max_reentrancy: u32,
    /// Largest module accepted, in bytes.
    pub max_module_bytes: usize,
    /// Largest encoded input to a call, in bytes.
    pub max_input_bytes: usize,
    /// Largest output a plugin may return (and largest host-function argument it may pass).
    pub max_output_bytes: usize,
    /// Bytes of stdout/stderr/log a single call may produce; the rest is dropped.
    pub max_log_bytes: usize,
    /// Wall-clock deadline per call, checked between fuel slices. Enforced natively only:
    /// on wasm32 (browsers, workerd, whose clocks may not advance) fuel is the budget.
    pub timeout_ms: Option<u64>,
    /// Live value ids a plugin may hold host-side at once (nvim ABI).
    pub max_handles: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel: 100_000_000,
            fuel_slice: 1_000_000,
            instantiate_fuel: 10_000_000,
            memory_bytes: 16 << 20,
            max_reentrancy: 8,
            max_module_bytes: 8 << 20,
            max_input_bytes: 16 << 20,
            max_output_bytes: 16 << 20,
            max_log_bytes: 1 << 20,
            timeout_ms: None,
            max_handles: 100_000,
        }
    }
}
