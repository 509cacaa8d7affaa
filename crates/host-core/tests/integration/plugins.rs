//! Every plugin under plugins/ has a test here: `foreach_plugin!` fails to compile otherwise.

use plugboard_host_core::{Abi, Host, Type, Value};

macro_rules! plugin_test {
    ($name:ident) => {
        #[test]
        fn $name() {
            crate::plugins::checks::$name();
        }
    };
}

mod each {
    plugboard_fixtures::foreach_plugin!(plugin_test);
}

pub mod checks {
    use super::*;

    pub fn conformance() {
        // The full table is in `conformance.rs`; here: the ABI and embedded signatures.
        let h = crate::conformance::host(Default::default());
        let p = h.load_wasm(plugboard_fixtures::CONFORMANCE).unwrap();
        assert_eq!(p.abi(), Abi::Buffer);
        assert_eq!(p.exports().len(), 11);
        assert_eq!(
            p.signature("swap").unwrap().to_string(),
            "(u32, u32) -> (u32, u32)"
        );
        let imports: Vec<_> = p
            .imports()
            .iter()
            .filter(|i| i.module == "env")
            .map(|i| i.name.as_str())
            .collect();
        assert!(
            imports.contains(&"__mystery_number") && imports.contains(&"__command_async"),
            "{imports:?}"
        );
        let half = p
            .imports()
            .iter()
            .find(|i| i.name == "__import_half")
            .unwrap();
        assert_eq!(half.signature.as_ref().unwrap().to_string(), "(u32) -> u32");
    }

    pub fn double() {
        let h = Host::builder().build();
        let mut p = h.load_wasm(plugboard_fixtures::DOUBLE).unwrap();
        let v = p
            .call_value("double", vec![Value::from_json("[1.5, 2.5]").unwrap()])
            .unwrap();
        assert_eq!(v.to_json(), "[3.0,5.0]");
        assert_eq!(
            p.call_value("greet", vec!["Ada".into()]).unwrap(),
            Value::String("Hello, Ada!".into())
        );
        let stats = p
            .call_value("stats", vec![Value::from_json("[1, 2, 6]").unwrap()])
            .unwrap();
        assert_eq!(stats.to_json(), "[1.0,6.0,3.0]");
        assert_eq!(
            p.call_value("stats", vec![Value::List(vec![])]).unwrap(),
            Value::Null
        );
        // Values that do not fit the signature are encode errors, before the plugin runs.
        assert!(p.call_value("double", vec!["nope".into()]).is_err());
        assert!(p.call_value("double", vec![]).is_err());
        assert_eq!(
            p.signature("double").unwrap().params,
            vec![Type::List(Box::new(Type::F64))]
        );
    }

    pub fn perf() {
        let h = Host::builder().build();
        let mut p = h.load_wasm(plugboard_fixtures::PERF).unwrap();
        assert_eq!(
            p.call::<u64, u64>("sum", &3_000_000).unwrap(),
            4_500_001_500_000
        );
        assert_eq!(p.call::<u32, u32>("count_primes", &1000).unwrap(), 168);
        assert_eq!(
            p.call::<(i32, i32), i32>("add", &(i32::MAX, 1)).unwrap(),
            i32::MIN
        );
        assert_eq!(p.call::<str, String>("echo", "héllo").unwrap(), "héllo");
    }

    pub fn extism_kitchen() {
        // Its behaviour is tested in `kernel.rs`; here: detection and the callable exports.
        let p = crate::kernel::kitchen(Default::default());
        assert_eq!(p.abi(), Abi::Kernel);
        let names: Vec<_> = p.exports().iter().map(|e| e.name.as_str()).collect();
        for n in [
            "count_vowels",
            "call_host",
            "fetch",
            "fail",
            "code",
            "spin",
            "logs",
            "echo",
        ] {
            assert!(names.contains(&n), "{n} missing from {names:?}");
        }
    }

    pub fn fixed_demo() {
        // Its behaviour is tested in `fixed.rs`; here: detection.
        let p = Host::builder()
            .build()
            .load_wasm(plugboard_fixtures::FIXED_DEMO)
            .unwrap();
        assert_eq!(p.abi(), Abi::Fixed);
    }

    pub fn idl_core() {
        // Its behaviour is tested in `idl.rs`; here: the ABI and the exports of its interface.
        let h = Host::builder()
            .func("env", "add", |(a, b): (i32, i32)| a + b)
            .func("env", "scale", |(x, f): (f64, f32)| x * f64::from(f))
            .func("env", "shout", |s: String| s)
            .func("env", "tick", |()| ())
            .build();
        let p = crate::idl::idl_core(&h);
        assert_eq!(p.abi(), Abi::Idl);
        assert_eq!(p.exports().len(), 4);
    }

    pub fn extism_wasi() {
        let h = Host::builder().build();
        let e = h.load_wasm(plugboard_fixtures::EXTISM_WASI).unwrap_err();
        assert!(e.to_string().contains("WASI is not enabled"), "{e}");
    }

    pub fn zig_nvim_examples() {
        // Its behaviour is tested in `nvim.rs`; here: the ABI and what `functionality` lists.
        let h = Host::builder()
            .func("host", "add", |(a, b): (i64, i64)| a + b)
            .build();
        let p = h.load_wasm(plugboard_fixtures::ZIG_NVIM_EXAMPLES).unwrap();
        assert_eq!(p.abi(), Abi::Nvim);
        assert_eq!(p.exports().len(), 6);
    }

    pub fn zig_perf() {
        let h = Host::builder().build();
        let mut p = h.load_wasm(plugboard_fixtures::ZIG_PERF).unwrap();
        assert_eq!(p.abi(), Abi::Nvim);
        assert_eq!(
            p.call_value("for_loop", vec![Value::Int(3_000_000)])
                .unwrap(),
            Value::Int(4_500_001_500_000)
        );
    }

    pub fn wasi_probe() {
        let h = Host::builder().build();
        let p = h.load_wasm(plugboard_fixtures::WASI_PROBE).unwrap();
        assert!(p
            .imports()
            .iter()
            .any(|i| i.module == "wasi_snapshot_preview1"));
        assert!(p.exports().iter().any(|e| e.name == "write_file"));
    }

    /// RES-03, RES-05 and CON-01 from a compiled plugin (the JS targets run the same plugin:
    /// tests/node/stress.test.mjs, tests/browser/cases.js, tests/edge).
    pub fn stress() {
        use plugboard_host_core::{ErrorKind, Limits};
        use std::cell::RefCell;
        use std::rc::Rc;
        let pool: Rc<RefCell<Vec<plugboard_host_core::Plugin>>> = Rc::default();
        let take = pool.clone();
        let h = Host::builder()
            .limits(Limits {
                memory_bytes: 4 << 20,
                ..Limits::default()
            })
            .try_func("env", "again", move |depth: u32| -> Result<u32, String> {
                let mut next = take.borrow_mut().pop().ok_or("no instance left")?;
                next.call::<u32, u32>("reenter", &depth)
                    .map_err(|e| e.to_string())
            })
            .build();
        let mut p = h.load_wasm(plugboard_fixtures::STRESS).unwrap();
        assert_eq!(p.abi(), Abi::Buffer);

        let e = p.call::<u32, u32>("recurse", &0).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::StackOverflow), "{e:?}");
        assert_eq!(p.call::<(), u32>("ping", &()).unwrap(), 7);

        let before = p.call::<(), u32>("pages", &()).unwrap();
        let grown = p.call::<(), u32>("grow_until_refused", &()).unwrap();
        assert_eq!(before + grown, 64, "4 MiB is 64 pages");
        assert!(p.memory_bytes() <= 4 << 20);
        assert_eq!(p.call::<(), u32>("ping", &()).unwrap(), 7);

        for _ in 0..20 {
            pool.borrow_mut()
                .push(h.load_wasm(plugboard_fixtures::STRESS).unwrap());
        }
        let e = p.call::<u32, u32>("reenter", &0).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::HostFunction { .. }), "{e:?}");
        assert!(e.to_string().contains("re-entrancy depth"), "{e}");
        assert_eq!(p.call::<(), u32>("ping", &()).unwrap(), 7);
        pool.borrow_mut().clear();
        crate::common::canary(&h);
    }
}
