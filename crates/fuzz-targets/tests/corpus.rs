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
