//! The call state machine shared by every engine.
//!
//! A call starts with [`Plugin::start_call`](crate::Plugin::start_call) and advances one fuel
//! slice per [`Plugin::resume`](crate::Plugin::resume), which returns a [`Step`]:
//!
//! ```text
//!   start_call ──► resume ──► Done(output)
//!                    │  ▲
//!        Yielded ◄───┤  │  (slice of fuel used up, budget left: the embedder may yield to
//!                    │  │   its event loop, then resumes)
//!        Pending ◄───┘  │  (an async host function is not ready: the embedder awaits the
//!           │           │   PendingHostCall and hands its result to `complete`)
//!           └─ complete ┘
//! ```
//!
//! Any error ends the call. [`Plugin::call`](crate::Plugin::call) drives the machine to the end
//! synchronously, [`Plugin::call_async`](crate::Plugin::call_async) awaits pending host calls.

use crate::error::{Error, ErrorKind};
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};

pub(crate) type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// One step of a call.
#[derive(Debug)]
pub enum Step {
    /// The call finished with this output (the ABI's encoded result).
    Done(Vec<u8>),
    /// A fuel slice ran out with budget left; call [`resume`](crate::Plugin::resume) again.
    Yielded,
    /// An async host function was called. Await this, pass the result to
    /// [`complete`](crate::Plugin::complete), then `resume`.
    Pending(PendingHostCall),
}

/// An async host function's reply, produced by awaiting a [`PendingHostCall`].
#[derive(Debug)]
pub struct HostCompletion(pub(crate) Vec<u8>);

/// A host function call the plugin is waiting on.
pub struct PendingHostCall {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) future: LocalBoxFuture<Result<Vec<u8>, Error>>,
}

impl PendingHostCall {
    /// The namespace of the host function.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The name of the host function.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for PendingHostCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingHostCall")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Future for PendingHostCall {
    type Output = Result<HostCompletion, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = self.future.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Ready(r)) => Poll::Ready(r.map(HostCompletion)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(ErrorKind::HostFunction {
                namespace: self.namespace.clone(),
                name: self.name.clone(),
                reason: crate::error::HostFunctionFailure::Panicked(crate::host::panic_message(
                    &panic,
                )),
            }
            .into())),
        }
    }
}

/// Runs a future to completion on this thread (used by synchronous calls natively).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

/// On wasm32 a thread cannot block: a future that is not ready at once needs the event loop,
/// so a synchronous call fails with `AsyncNotSupported` instead (use `call_async`).
#[cfg(target_arch = "wasm32")]
pub(crate) fn block_on_pending(mut p: PendingHostCall) -> Result<HostCompletion, Error> {
    struct Noop;
    impl Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    let waker = Waker::from(std::sync::Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    match Pin::new(&mut p).poll(&mut cx) {
        Poll::Ready(r) => r,
        Poll::Pending => Err(ErrorKind::HostFunction {
            namespace: p.namespace.clone(),
            name: p.name.clone(),
            reason: crate::error::HostFunctionFailure::AsyncNotSupported,
        }
        .into()),
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn block_on_pending(p: PendingHostCall) -> Result<HostCompletion, Error> {
    block_on(p)
}

/// Something that runs a started call slice by slice: a plugin of either engine.
pub(crate) trait Resumable {
    fn resume(&mut self) -> Result<Step, Error>;
    fn complete(&mut self, reply: Result<HostCompletion, Error>) -> Result<(), Error>;
}

/// Drives a started call to its end, blocking on host calls that are not ready (natively; on
/// wasm32 only ready futures complete, see [`block_on_pending`]).
pub(crate) fn run_blocking(call: &mut impl Resumable) -> Result<Vec<u8>, Error> {
    loop {
        match call.resume()? {
            Step::Done(out) => return Ok(out),
            Step::Yielded => {}
            Step::Pending(p) => {
                let r = block_on_pending(p);
                call.complete(r)?;
            }
        }
    }
}

thread_local! {
    /// How many plugin calls are running on this thread, nested inside each other through host
    /// functions (plugin A → host → plugin B → …). Global, so cycles across plugins count too.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Holds one level of call depth while plugin code runs.
pub(crate) struct DepthGuard(());

impl DepthGuard {
    pub(crate) fn enter(max: u32) -> Result<Self, Error> {
        DEPTH.with(|d| {
            let depth = d.get().saturating_add(1);
            if depth > max.saturating_add(1) {
                return Err(ErrorKind::ReentrancyLimit { depth: depth - 1 }.into());
            }
            d.set(depth);
            Ok(DepthGuard(()))
        })
    }
}

impl Drop for DepthGuard {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}
