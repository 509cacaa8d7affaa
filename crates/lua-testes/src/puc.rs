//! PUC Lua 5.4 (`lua5.4`, Debian's package) as the reference: it splits a file into top-level
//! chunks (`lua/split.lua`) and runs every prepared text (`lua/run.lua`), one process each, in
//! the testes folder as PUC's own driver does.

use crate::Outcome;
use std::path::Path;
use std::process::Command;

const LUA: &str = "lua5.4";
/// Seconds one PUC run may take.
const TIMEOUT_S: &str = "120";

fn script(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("lua").join(name)
}

pub(crate) fn check_installed() -> Result<(), String> {
    match Command::new(LUA).arg("-v").output() {
        Ok(o) if o.status.success() => Ok(()),
        _ => Err(format!(
            "{LUA} not found: install PUC Lua 5.4 (Debian: apt-get install lua5.4; scripts/install.sh does)"
        )),
    }
}

/// The file's top-level chunks: (first line, text).
pub(crate) fn split(path: &Path, source: &[u8]) -> Result<Vec<(usize, Vec<u8>)>, String> {
    let out = Command::new(LUA)
        .arg(script("split.lua"))
        .arg(path)
        .output()
        .map_err(|e| format!("{LUA}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "split.lua {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let lines: Vec<&[u8]> = source.split_inclusive(|&b| b == b'\n').collect();
    let mut chunks = Vec::new();
    for row in String::from_utf8_lossy(&out.stdout).lines() {
        let mut it = row
            .split_whitespace()
            .filter_map(|n| n.parse::<usize>().ok());
        let (Some(first), Some(last)) = (it.next(), it.next()) else {
            return Err(format!("split.lua printed {row:?}"));
        };
        let text = lines
            .get(first.saturating_sub(1)..last.min(lines.len()))
            .unwrap_or_default()
            .concat();
        chunks.push((first, text));
    }
    Ok(chunks)
}

/// Runs one prepared text; `name` is the chunk name errors carry.
pub(crate) fn run(testes: &Path, work: &Path, name: &str, text: &[u8]) -> Result<Outcome, String> {
    let file = work.join("text.lua");
    std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
    let out = Command::new("timeout")
        .args([TIMEOUT_S, LUA])
        .arg(script("run.lua"))
        .arg(&file)
        .arg(name)
        .current_dir(testes)
        .output()
        .map_err(|e| format!("{LUA}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("@@testes "));
    let Some(last) = last else {
        // It exited (os.exit) or was killed before reporting.
        return Ok(Outcome {
            status: "exit".into(),
            passed: 0,
            failed: 0,
            message: None,
        });
    };
    let mut parts = last.split_whitespace();
    let status = parts.next().unwrap_or("exit").to_owned();
    let mut num = || parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    Ok(Outcome {
        status,
        passed: num(),
        failed: num(),
        message: None,
    })
}
