//! `plugboard-lua-testes`: PUC-Rio's Lua 5.4 test suite (the "testes", read from
//! `../shared/lua-testes/testes` beside the repository, never copied into it) through
//! plugboard's Lua engine and through PUC Lua 5.4 (`lua5.4`), on the same texts: every file
//! whole, and every top-level chunk of it on its own. `assert` counts instead of raising.
//!
//! ```text
//! plugboard-lua-testes [--testes DIR] [--files a.lua,b.lua] [--write COMPATIBILITY.md]
//!                      [--check FLOORS] [--update-floors FLOORS]
//!                      [--export FILE --export-files a.lua,b.lua]
//! ```
//! `--write` puts the table between the file's `testes` markers; `--check` fails (exit 1) when a
//! file's ratio drops below its floor; `--update-floors` writes the measured ratios as floors;
//! `--export FILE --export-files a.lua,b.lua` writes those files' whole texts and our counts as
//! JSON, for the npm package's Node test (`tests/node/testes.test.mjs`) to run in the package
//! and compare.

// A command-line tool: its report is its standard output.
#![allow(clippy::print_stdout)]

mod ours;
mod prepare;
mod puc;
mod report;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Files PUC's own driver runs that need what no sandbox has (the C API test library, the
/// compiler's internals, huge or long runs) or are drivers themselves.
/// `bwcoercion.lua` and `tracegc.lua` are modules other files load, not tests ([`MODULES`]).
const SKIPPED: [&str; 8] = [
    "all.lua",
    "main.lua",
    "api.lua",
    "code.lua",
    "big.lua",
    "heavy.lua",
    "bwcoercion.lua",
    "tracegc.lua",
];

/// The testes' helper modules, given to plugboard as files of the plugin so that `require`
/// finds them, as PUC finds them in the testes folder.
const MODULES: [&str; 2] = ["bwcoercion.lua", "tracegc.lua"];

/// What one run of a text gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// `ok`, `error`, `compile` (did not compile), or an error kind of ours.
    pub(crate) status: String,
    pub(crate) passed: u64,
    pub(crate) failed: u64,
    /// Our error's text, if the run ended in one.
    pub(crate) message: Option<String>,
}

impl Outcome {
    fn same_as(&self, puc: &Outcome) -> bool {
        let norm = |s: &str| if s == "ok" { "ok" } else { "failed" };
        self.passed == puc.passed
            && self.failed == puc.failed
            && norm(&self.status) == norm(&puc.status)
    }
}

/// One file's results.
#[derive(Debug, Default)]
pub(crate) struct FileResult {
    pub(crate) file: String,
    pub(crate) puc_whole: Outcome,
    pub(crate) ours_whole: Outcome,
    pub(crate) chunks: usize,
    pub(crate) chunks_alike: usize,
    pub(crate) puc_chunk_passed: u64,
    pub(crate) ours_chunk_passed: u64,
    pub(crate) panics: usize,
}

impl FileResult {
    pub(crate) fn whole_ratio(&self) -> f64 {
        ratio(self.ours_whole.passed, self.puc_whole.passed)
    }

    pub(crate) fn chunk_ratio(&self) -> f64 {
        ratio(self.ours_chunk_passed, self.puc_chunk_passed)
    }
}

/// Ours over PUC's, at most 1 (passing an assert PUC fails is not credit); 1 when PUC passes
/// none.
pub(crate) fn ratio(ours: u64, puc: u64) -> f64 {
    if puc == 0 {
        return 1.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let r = ours as f64 / puc as f64;
    r.min(1.0)
}

struct Args {
    testes: PathBuf,
    files: Option<Vec<String>>,
    write: Option<PathBuf>,
    check: Option<PathBuf>,
    update_floors: Option<PathBuf>,
    /// Where to write the whole-file texts and our counts of `export_files`, for the npm
    /// package's Node test to run the same texts and compare.
    export: Option<PathBuf>,
    export_files: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        testes: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/lua-testes/testes"),
        files: None,
        write: None,
        check: None,
        update_floors: None,
        export: None,
        export_files: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--testes" => args.testes = value()?.into(),
            "--files" => args.files = Some(value()?.split(',').map(str::to_owned).collect()),
            "--write" => args.write = Some(value()?.into()),
            "--check" => args.check = Some(value()?.into()),
            "--update-floors" => args.update_floors = Some(value()?.into()),
            "--export" => args.export = Some(value()?.into()),
            "--export-files" => {
                args.export_files = value()?.split(',').map(str::to_owned).collect();
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn run() -> Result<bool, String> {
    let args = parse_args()?;
    puc::check_installed()?;
    let mut files: Vec<String> = std::fs::read_dir(&args.testes)
        .map_err(|e| format!("{}: {e}", args.testes.display()))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".lua") && !SKIPPED.contains(&n.as_str()))
        .collect();
    files.sort();
    if let Some(only) = &args.files {
        files.retain(|f| only.contains(f));
    }
    let work = std::env::temp_dir().join(format!("plugboard-testes-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let verbose = std::env::var_os("TESTES_VERBOSE").is_some();
    let mut exported = Vec::new();
    let modules: Vec<(String, Vec<u8>)> = MODULES
        .iter()
        .filter_map(|m| Some(((*m).to_owned(), std::fs::read(args.testes.join(m)).ok()?)))
        .collect();
    let mut results = Vec::new();
    for file in &files {
        let path = args.testes.join(file);
        let source = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let started = std::time::Instant::now();
        let mut r = FileResult {
            file: file.clone(),
            ..FileResult::default()
        };
        let whole = prepare::text(&source, 1);
        r.puc_whole = puc::run(&args.testes, &work, file, &whole)?;
        r.ours_whole = ours::run(&whole, ours::WHOLE_TIMEOUT_MS, &modules);
        r.panics += usize::from(r.ours_whole.status == "enginePanic");
        if args.export_files.contains(file) {
            exported.push(report::export_entry(file, &whole, &r.ours_whole));
        }
        if verbose && r.ours_whole.status != "ok" {
            eprintln!(
                "  {file} (whole): {}",
                r.ours_whole
                    .message
                    .as_deref()
                    .unwrap_or(&r.ours_whole.status)
            );
        }
        for (first, chunk) in puc::split(&path, &source)? {
            let text = prepare::text(&chunk, first);
            let puc = puc::run(&args.testes, &work, file, &text)?;
            let ours = ours::run(&text, ours::CHUNK_TIMEOUT_MS, &modules);
            if verbose && puc.status == "ok" && ours.status != "ok" {
                eprintln!(
                    "  {file}:{first}: {}",
                    ours.message.as_deref().unwrap_or(&ours.status)
                );
            }
            r.chunks += 1;
            r.chunks_alike += usize::from(ours.same_as(&puc));
            r.puc_chunk_passed += puc.passed;
            r.ours_chunk_passed += ours.passed.min(puc.passed);
            r.panics += usize::from(ours.status == "enginePanic");
        }
        eprintln!(
            "{file}: whole {}/{} ({}), chunks alike {}/{}, chunk asserts {}/{}, {:.1}s",
            r.ours_whole.passed,
            r.puc_whole.passed,
            r.ours_whole.status,
            r.chunks_alike,
            r.chunks,
            r.ours_chunk_passed,
            r.puc_chunk_passed,
            started.elapsed().as_secs_f64()
        );
        results.push(r);
    }
    let _ = std::fs::remove_dir_all(&work);
    let table = report::table(&results);
    println!("{table}");
    if let Some(doc) = &args.write {
        report::write_between_markers(doc, &table)?;
    }
    if let Some(path) = &args.export {
        report::write_export(path, &exported, &modules)?;
    }
    if let Some(floors) = &args.update_floors {
        report::write_floors(floors, &results)?;
    }
    let mut ok = true;
    if let Some(floors) = &args.check {
        let failures = report::check_floors(floors, &results)?;
        for f in &failures {
            println!("below floor: {f}");
        }
        let below = results
            .iter()
            .filter(|r| {
                failures
                    .iter()
                    .any(|f| f.starts_with(&format!("{}:", r.file)))
            })
            .count();
        println!("{} passed, {below} failed", results.len() - below);
        ok = failures.is_empty();
    }
    Ok(ok)
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("plugboard-lua-testes: {e}");
            ExitCode::from(2)
        }
    }
}
