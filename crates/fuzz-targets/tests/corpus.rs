//! Every fuzz target over its corpus (`fuzz/corpus/<target>/`, minimised by `cargo fuzz cmin`
//! and committed) and its regressions (`fuzz/regressions/<target>/`: each input a fuzzer once
//! crashed on), on stable. A failure names the file.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn corpora_and_regressions_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    // Every regressions folder belongs to a target, and the folders are there: a renamed or
    // lost folder fails here instead of being skipped.
    let regression_dirs: Vec<String> = std::fs::read_dir(root.join("regressions"))
        .expect("fuzz/regressions is missing")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for dir in &regression_dirs {
        assert!(
            plugboard_fuzz_targets::TARGETS
                .iter()
                .any(|(n, _)| n == dir),
            "fuzz/regressions/{dir} names no fuzz target"
        );
        assert!(
            !files(&root.join("regressions").join(dir)).is_empty(),
            "fuzz/regressions/{dir} is empty"
        );
    }
    assert!(
        regression_dirs.len() >= 4,
        "fuzz/regressions has {regression_dirs:?}"
    );
    let mut total = 0;
    for (name, target) in plugboard_fuzz_targets::TARGETS {
        let mut inputs = files(&root.join("corpus").join(name));
        let corpus = inputs.len();
        inputs.extend(files(&root.join("regressions").join(name)));
        assert!(corpus > 0, "fuzz/corpus/{name} is empty");
        for path in &inputs {
            if std::env::var_os("FUZZ_CORPUS_VERBOSE").is_some() {
                eprintln!("{name}: {}", path.display());
            }
            // A fuzzer running on the same corpus may have just removed the file.
            let Ok(data) = std::fs::read(path) else {
                continue;
            };
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(
                outcome.is_ok(),
                "{name}: {} fails its oracle",
                path.display()
            );
        }
        println!("{name}: {} inputs ({corpus} corpus)", inputs.len());
        total += inputs.len();
    }
    println!("{total} inputs in all");
}

/// `fuzz/` (cargo-fuzz, nightly, libFuzzer's C++) is not compiled by the tests: each of its
/// targets must be exactly the one-line wrapper of the body of the same name here, which these
/// tests compile and run, and `fuzz/Cargo.toml` must declare each.
#[test]
fn fuzz_wrappers_are_the_bodies_tested_here() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let wrappers = files(&root.join("fuzz_targets"));
    assert_eq!(
        wrappers.len(),
        plugboard_fuzz_targets::TARGETS.len(),
        "{wrappers:?}"
    );
    for (name, _) in plugboard_fuzz_targets::TARGETS {
        let path = root.join("fuzz_targets").join(format!("{name}.rs"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            text,
            format!("#![no_main]\nlibfuzzer_sys::fuzz_target!(|data: &[u8]| plugboard_fuzz_targets::{name}(data));\n"),
            "{}",
            path.display()
        );
        assert!(
            manifest.contains(&format!(
                "name = \"{name}\"\npath = \"fuzz_targets/{name}.rs\""
            )),
            "fuzz/Cargo.toml declares no [[bin]] {name}"
        );
    }
}
