//! The buffer ABI's conformance table (docs/abis.md §1), all 11 rows, through a plugin built from
//! source with our SDK, including WASI stdout/stderr capture and two async host functions.

use plugboard_host_core::{Host, LogRecord, LogStream};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// A future that is not ready the first time it is polled: proves the call really suspends.
struct Later<T>(Option<T>, bool);
impl<T: Unpin> Future for Later<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if self.1 {
            Poll::Ready(self.0.take().expect("polled after completion"))
        } else {
            self.1 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

pub fn host(log: Rc<RefCell<Vec<LogRecord>>>) -> Host {
    builder(log).build()
}

/// The host functions the conformance plugin imports, logging into `log`.
pub fn builder(log: Rc<RefCell<Vec<LogRecord>>>) -> plugboard_host_core::HostBuilder {
    Host::builder()
        .func("env", "mystery_number", |x: u32| x + 7)
        .func("env", "import_noop", |(): ()| ())
        .func("env", "import_identity", |x: u32| x)
        .func("env", "import_swap", |(a, b): (u32, u32)| (b, a))
        .func_async("env", "import_half", |a: u32| async move {
            Ok::<u32, String>(Later(Some(a / 2), false).await)
        })
        .func_async("env", "command_async", |cmd: String| async move {
            // The original ran `echo`; here the embedder's function plays it.
            Ok::<Option<Vec<u8>>, String>(
                Later(Some(Some(format!("{cmd}\n").into_bytes())), false).await,
            )
        })
        .on_log(move |r| log.borrow_mut().push(r.clone()))
}

#[test]
fn conformance_table() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let host = host(log.clone());
    let mut p = host.load_wasm(plugboard_fixtures::CONFORMANCE).unwrap();

    p.call::<(), ()>("noop", &()).unwrap();
    assert_eq!(p.call::<(), u32>("constant", &()).unwrap(), 27);
    assert_eq!(p.call::<u32, u32>("identity", &58).unwrap(), 58);
    assert_eq!(p.call::<(u32, u32), u32>("add", &(3, 4)).unwrap(), 7);
    assert_eq!(
        p.call::<(u32, u32), (u32, u32)>("swap", &(1, 2)).unwrap(),
        (2, 1)
    );
    assert_eq!(
        p.call::<Vec<u32>, Vec<u32>>("sort", &vec![1, 3, 4, 2, 5])
            .unwrap(),
        vec![1, 2, 3, 4, 5]
    );

    p.call::<str, ()>("print", "Hi!").unwrap();
    let log = log.borrow();
    let stdout: String = log
        .iter()
        .filter(|r| r.stream == LogStream::Stdout)
        .map(|r| r.message.as_str())
        .collect();
    let stderr: String = log
        .iter()
        .filter(|r| r.stream == LogStream::Stderr)
        .map(|r| r.message.as_str())
        .collect();
    assert_eq!(stdout, "to stdout: Hi!\n");
    assert_eq!(stderr, "to stderr: Hi!\n");

    assert_eq!(p.call::<u32, u32>("and_back", &1).unwrap(), 8);
    assert_eq!(p.call::<u32, u32>("imports", &1).unwrap(), 8);
    assert_eq!(p.call::<u32, u32>("half_async", &4).unwrap(), 2);
    assert_eq!(p.call::<str, String>("echo_async", "eko").unwrap(), "eko\n");
}

#[test]
fn async_rows_through_call_async() {
    let host = host(Rc::default());
    let mut p = host.load_wasm(plugboard_fixtures::CONFORMANCE).unwrap();
    let fut = async {
        let half: u32 = p.call_async("half_async", &4u32).await.unwrap();
        let echo: String = p.call_async("echo_async", "eko").await.unwrap();
        (half, echo)
    };
    assert_eq!(block_on(fut), (2, "eko\n".to_owned()));
}

#[test]
fn conformance_bytes_match_the_reference_encoding() {
    // The plugin encodes with the real bincode 1.3 crate; our host decodes with its own codec.
    let host = host(Rc::default());
    let mut p = host.load_wasm(plugboard_fixtures::CONFORMANCE).unwrap();
    let out = p
        .call_bytes("swap", bincode::serialize(&(1u32, 2u32)).unwrap())
        .unwrap();
    assert_eq!(out, bincode::serialize(&(2u32, 1u32)).unwrap());
}

pub fn block_on<F: Future>(fut: F) -> F::Output {
    use std::task::{Wake, Waker};
    struct W;
    impl Wake for W {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    let waker = Waker::from(std::sync::Arc::new(W));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
