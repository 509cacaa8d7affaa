//! `plugboard`: call a plugin's function with JSON arguments, inspect a plugin, run a folder of
//! Lua plugins, or check an Extism JS-PDK `interface.d.ts`.
//!
//! Exit codes, the same for every subcommand (see [`EXIT_CODES`]): 0 success; 1 the call failed
//! (trap, limit, ABI violation, host function, plugin error); 2 usage error (bad arguments, JSON
//! that does not fit the signature, no such function); 3 a plugin could not be loaded (invalid
//! module, link error, unknown ABI, Lua syntax error, bad manifest, interface or `--host` file);
//! 4 a file could not be read.

#![allow(clippy::print_stdout)]

use clap::{Parser, Subcommand};
mod host_lua;

use host_lua::{LuaHost, LuaHostError};
use plugboard_host_core::{
    Abi, Declarations, Error, ErrorKind, Host, HostBuilder, HttpRequest, HttpResponse, ImportInfo,
    Interface, KernelConfig, Limits, LogLevel, LogStream, LuaManager, Manifest, Plugin, PluginInfo,
    PluginOptions, Signature, Value, WasiConfig,
};
use std::io::Read;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// The exit codes of every subcommand, as `--help` shows them.
const EXIT_CODES: &str = "\
Exit codes (every subcommand):
  0  success
  1  the call failed: trap, fuel/memory/time limit, ABI violation, host function error, the
     plugin's own error (`lua`: an init/update/destroy call failed); the kind is in brackets
  2  usage error: bad arguments or flags, JSON that does not fit the signature, a malformed
     --sig or --types, no such function, a Lua plugins folder with no plugin
  3  a plugin could not be loaded: invalid module, link error, unknown ABI, Lua syntax error,
     bad manifest or interface.d.ts, a --host or --lua-vm plugin (`lua`: any plugin of the
     folder; the others still run)
  4  a file could not be read";

#[derive(Parser)]
#[command(
    name = "plugboard",
    version,
    about = "Run WebAssembly plugins under fuel and memory limits",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of `Call`'s flags does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Call FUNCTION of a plugin and print its result as JSON.
    ///
    /// ARGS is JSON: the argument itself for a one-parameter function, an array of arguments
    /// for several, nothing for none. Types come from the plugin's embedded signatures.
    #[command(after_help = EXIT_CODES)]
    Call {
        /// The plugin: a .wasm file, an Extism manifest (.json), a Lua plugin folder or a .lua
        /// file.
        plugin: PathBuf,
        /// The function to call.
        function: String,
        /// The arguments as JSON (buffer ABI; Lua: an array is spread into the arguments); for
        /// Extism plugins, the raw input.
        args: Option<String>,
        /// Extism plugins: the raw input (same as ARGS).
        #[arg(long)]
        input: Option<String>,
        /// Extism plugins: a config entry KEY=VALUE (repeatable).
        #[arg(long = "config", value_parser = parse_kv)]
        config: Vec<(String, String)>,
        /// Extism plugins: allow HTTP requests to hosts matching this glob (repeatable); the
        /// CLI makes them (http and https). Without it every request is denied.
        #[arg(long = "allow-host")]
        allow_host: Vec<String>,
        /// The interface.d.ts of an Extism JS-PDK core module.
        #[arg(long)]
        interface: Option<PathBuf>,
        /// Bincode plugins (buffer, fixed ABI) without embedded signatures: the function's
        /// types, e.g. "(u32, String) -> Vec<u8>", after any struct and enum declarations
        /// ("struct Doc { id: u64, tags: Vec<String> } (Doc) -> u64"; docs/signatures.md).
        #[arg(long)]
        sig: Option<String>,
        /// A file of struct and enum declarations (repeatable) naming the types of --sig and
        /// of the plugin's embedded signatures: `struct Doc { id: u64 }`, `enum Shape {
        /// Circle(f64), Empty }`. A struct's value is a JSON object by field name; an enum's
        /// a unit variant's name ("Empty") or {"Variant": payload}.
        #[arg(long = "types", value_name = "FILE")]
        types: Vec<PathBuf>,
        /// Extism plugins: link WASI (as `wasi: true` in a manifest).
        #[arg(long)]
        wasi: bool,
        /// nvim plugins: the Lua plugin (folder or .lua file) whose VM runs their
        /// `lua_exec`/`lua_eval`; it is also callable as `plugins.<name>` from Lua.
        #[arg(long = "lua-vm")]
        lua_vm: Option<PathBuf>,
        /// Host functions written in Lua (repeatable): each global function of the file is
        /// the host function `env.<name>`, each global table of functions a namespace
        /// (`<table>.<name>`). Buffer-ABI callers' arguments are decoded by the import's
        /// embedded signature; Extism callers' inputs arrive as Lua strings holding their
        /// bytes; nvim and Lua callers' JSON arrives as values (an array spread into the
        /// arguments).
        #[arg(long = "host", value_name = "FILE.lua")]
        host: Vec<PathBuf>,
        /// Extism plugins: the lowest log level shown (trace, debug, info, warn, error, off).
        #[arg(long, value_parser = parse_level, default_value = "info")]
        log_level: LevelArg,
        /// Fuel budget for the call.
        #[arg(long, default_value_t = Limits::default().fuel)]
        fuel: u64,
        /// Memory cap in bytes (suffixes K, M, G for KiB, MiB, GiB).
        #[arg(long, value_parser = parse_size)]
        memory: Option<usize>,
        /// Print time and fuel used to stderr (after a failed call too).
        #[arg(long)]
        time: bool,
        /// Call this many times (with --time: reports the fastest run).
        #[arg(long, default_value_t = 1)]
        repeat: u32,
    },
    /// Show a plugin's ABI, exports with signatures, and imports.
    #[command(after_help = EXIT_CODES)]
    Inspect {
        /// The plugin (.wasm).
        plugin: PathBuf,
        /// The interface.d.ts of an Extism JS-PDK core module.
        #[arg(long)]
        interface: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run a folder of Lua plugins the plugin_lua way: `init()` in each, rounds of `update()`
    /// until each returns false (or `sys.exit()`), then `destroy()`. Plugins see `math.add`,
    /// `sys.print` (arguments concatenated), `sys.exit`, `host.send`; output is prefixed with
    /// the plugin's name.
    #[command(after_help = EXIT_CODES)]
    Lua {
        /// The folder holding one folder per plugin, each with a main.lua.
        dir: PathBuf,
        /// The most rounds of update().
        #[arg(long, default_value_t = 1000)]
        rounds: u64,
        /// Fuel budget per call.
        #[arg(long, default_value_t = Limits::default().fuel)]
        fuel: u64,
        /// Memory cap per plugin (suffixes K, M, G).
        #[arg(long, value_parser = parse_size)]
        memory: Option<usize>,
    },
    /// Check an Extism JS-PDK interface.d.ts and list what it declares, or print TypeScript
    /// declarations for JS callers (--ts).
    #[command(after_help = EXIT_CODES)]
    Idl {
        /// The interface file.
        file: PathBuf,
        /// Print TypeScript declarations instead of the summary.
        #[arg(long)]
        ts: bool,
    },
}

#[derive(Clone, Copy, Debug)]
struct LevelArg(Option<LogLevel>);

fn parse_level(s: &str) -> Result<LevelArg, String> {
    Ok(LevelArg(match s.to_ascii_lowercase().as_str() {
        "trace" => Some(LogLevel::Trace),
        "debug" => Some(LogLevel::Debug),
        "info" => Some(LogLevel::Info),
        "warn" => Some(LogLevel::Warn),
        "error" => Some(LogLevel::Error),
        "off" => None,
        _ => {
            return Err(format!(
                "`{s}` is not a log level (trace, debug, info, warn, error, off)"
            ))
        }
    }))
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE"))
}

fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let (num, mult) = match s.chars().last() {
        Some('K' | 'k') => (&s[..s.len() - 1], 1 << 10),
        Some('M' | 'm') => (&s[..s.len() - 1], 1 << 20),
        Some('G' | 'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("`{s}` is not a size (e.g. 16M)"))
}

enum Failure {
    /// Already reported on stderr; only the exit code is left.
    Quiet(u8),
    Usage(String),
    Load(Error),
    /// A plugin other than the one called could not be loaded (`--host`, `--lua-vm`).
    LoadOf(String, Error),
    Call(Error),
    Io(PathBuf, std::io::Error),
}

/// The exit codes ([`EXIT_CODES`] describes them).
const EXIT_CALL: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_LOAD: u8 = 3;
const EXIT_IO: u8 = 4;

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Failure::Quiet(code) => *code,
            Failure::Call(_) => EXIT_CALL,
            Failure::Usage(_) => EXIT_USAGE,
            Failure::Load(_) | Failure::LoadOf(..) => EXIT_LOAD,
            Failure::Io(..) => EXIT_IO,
        }
    }
}

fn main() -> ExitCode {
    // A panic inside a plugin's engine is contained and reported as an error of its own kind
    // (`enginePanic`); the default hook would also print it, with a backtrace, to stderr.
    std::panic::set_hook(Box::new(|_| {}));
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            let msg = match &f {
                Failure::Quiet(_) => return ExitCode::from(f.exit_code()),
                Failure::Usage(m) => format!("error: {m}"),
                Failure::Load(e) => {
                    format!("error: cannot load the plugin [{}]: {e}", e.kind_name())
                }
                Failure::LoadOf(what, e) => {
                    format!("error: cannot load {what} [{}]: {e}", e.kind_name())
                }
                Failure::Call(e) => format!("error: the call failed [{}]: {e}", e.kind_name()),
                Failure::Io(p, e) => format!("error: cannot read {}: {e}", p.display()),
            };
            eprintln!("{msg}");
            ExitCode::from(f.exit_code())
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::Io(path.to_owned(), e))
}

/// What the CLI's flags ask of an Extism plugin.
struct KernelFlags {
    config: Vec<(String, String)>,
    allow_host: Vec<String>,
    wasi: bool,
    log_level: Option<LogLevel>,
    interface: Option<Interface>,
}

fn read_interface(path: Option<&Path>) -> Result<Option<Interface>, Failure> {
    let Some(path) = path else {
        return Ok(None);
    };
    let text = read(path)?;
    Interface::parse(&String::from_utf8_lossy(&text))
        .map(Some)
        .map_err(Failure::Load)
}

/// The largest HTTP response body the CLI reads (the kernel applies the plugin's own limit).
const MAX_HTTP_BODY: u64 = 64 << 20;

/// Makes an HTTP request for a plugin (only reached for hosts the plugin is allowed).
fn fetch(req: &HttpRequest) -> Result<HttpResponse, String> {
    let agent = ureq::AgentBuilder::new()
        .timeout(std::time::Duration::from_secs(30))
        .redirects(0)
        .build();
    let mut r = agent.request(&req.method, &req.url);
    for (k, v) in &req.headers {
        r = r.set(k, v);
    }
    let result = match &req.body {
        Some(body) => r.send_bytes(body),
        None => r.call(),
    };
    let response = match result {
        Ok(res) | Err(ureq::Error::Status(_, res)) => res,
        Err(ureq::Error::Transport(t)) => return Err(format!("{} failed: {t}", req.url)),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .filter_map(|name| {
            let value = response.header(&name)?.to_owned();
            Some((name, value))
        })
        .collect();
    let mut body = Vec::new();
    response
        .into_reader()
        .take(MAX_HTTP_BODY)
        .read_to_end(&mut body)
        .map_err(|e| format!("reading the response of {} failed: {e}", req.url))?;
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// The CLI's host, short of `build()`: limits, HTTP and logs to stderr.
fn host(limits: Limits) -> HostBuilder {
    Host::builder()
        .limits(limits)
        .http(|req: HttpRequest| async move { fetch(&req) })
        .on_log(|r| {
            // Plugin output goes to stderr so stdout stays the result.
            let mut err = std::io::stderr().lock();
            let _ = match r.stream {
                LogStream::Log(level) => writeln!(err, "[{}] {level:?}: {}", r.plugin, r.message),
                _ => err.write_all(r.message.as_bytes()),
            };
        })
}

/// Loads the `--host` files (each a Lua plugin on a host of its own).
fn load_lua_hosts(limits: &Limits, paths: &[PathBuf]) -> Result<Vec<LuaHost>, Failure> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let own = host(limits.clone()).build();
    paths
        .iter()
        .map(|path| {
            LuaHost::load(&own, path).map_err(|e| match e {
                LuaHostError::Io(e) => Failure::Io(path.clone(), e),
                LuaHostError::Load(e) => Failure::LoadOf(format!("--host {}", path.display()), e),
                LuaHostError::Invalid(why) => {
                    Failure::Usage(format!("--host {}: {why}", path.display()))
                }
            })
        })
        .collect()
}

/// The imports a plugin file declares, with their embedded signatures (none for Lua plugins,
/// manifests, or modules that do not parse: loading reports those).
fn declared_imports(path: &Path, flags: &KernelFlags) -> Vec<ImportInfo> {
    if path.is_dir() || path.extension().is_some_and(|e| e == "lua") {
        return Vec::new();
    }
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    if is_manifest(&bytes) {
        return Vec::new();
    }
    let mut options = PluginOptions::default();
    if let Some(i) = &flags.interface {
        options = options.with_interface(i.clone());
    }
    Host::builder()
        .build()
        .describe_wasm_with(&bytes, &options)
        .map(|info| info.imports)
        .unwrap_or_default()
}

/// Runs `f` `repeat` times (at least once), keeping the fastest time in `best`; stops at the
/// first error, whose run's time is kept too (so `--time` can report it).
fn timed<T>(
    repeat: u32,
    best: &mut f64,
    mut f: impl FnMut() -> Result<T, Error>,
) -> Result<T, Error> {
    let mut out = None;
    for _ in 0..repeat.max(1) {
        let start = Instant::now();
        let r = f();
        *best = best.min(start.elapsed().as_secs_f64());
        out = Some(r?);
    }
    out.ok_or_else(|| ErrorKind::NoCallInFlight.into())
}

fn is_manifest(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

fn load(host: &Host, path: &Path, flags: &KernelFlags) -> Result<Plugin, Failure> {
    // Lua: a plugin folder, or one .lua file.
    if path.is_dir() {
        return host
            .load_lua_dir(path, PluginOptions::default())
            .map_err(Failure::Load);
    }
    if path.extension().is_some_and(|e| e == "lua") {
        let source = read(path)?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        return host
            .load_lua_files([("main.lua", source)], PluginOptions::named(&name))
            .map_err(Failure::Load);
    }
    let bytes = read(path)?;
    if is_manifest(&bytes) {
        let text = String::from_utf8_lossy(&bytes);
        let mut manifest = Manifest::parse(&text).map_err(Failure::Load)?;
        manifest.config.extend(flags.config.iter().cloned());
        if !flags.allow_host.is_empty() {
            manifest
                .allowed_hosts
                .get_or_insert_with(Vec::new)
                .extend(flags.allow_host.iter().cloned());
        }
        manifest.wasi |= flags.wasi;
        manifest.stub_missing_imports = true;
        return host.load_from_manifest(&manifest).map_err(Failure::Load);
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut kernel = KernelConfig {
        log_level: flags.log_level,
        ..KernelConfig::default()
    };
    kernel.config.extend(flags.config.iter().cloned());
    if !flags.allow_host.is_empty() {
        kernel.allowed_hosts = Some(flags.allow_host.clone());
    }
    let mut options = PluginOptions::named(&name)
        .with_kernel(kernel)
        .stub_missing_imports();
    if let Some(interface) = &flags.interface {
        options = options.with_interface(interface.clone());
    }
    if flags.wasi {
        options = options.with_wasi(WasiConfig::new());
    }
    host.load_wasm_with(&bytes, options).map_err(Failure::Load)
}

fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Call {
            plugin,
            function,
            args,
            input,
            config,
            allow_host,
            interface,
            sig,
            types,
            wasi,
            lua_vm,
            host: host_files,
            log_level,
            fuel,
            memory,
            time,
            repeat,
        } => {
            let mut limits = Limits {
                fuel,
                ..Limits::default()
            };
            if let Some(m) = memory {
                limits.memory_bytes = m;
            }
            let flags = KernelFlags {
                config,
                allow_host,
                wasi,
                log_level: log_level.0,
                interface: read_interface(interface.as_deref())?,
            };
            // Parsed before anything loads: a malformed --sig or --types is a usage error
            // whatever else is wrong.
            let mut types_text = String::new();
            for path in &types {
                let text = read(path)?;
                types_text.push_str(&String::from_utf8_lossy(&text));
                types_text.push('\n');
            }
            let declarations = Declarations::parse(&types_text)
                .map_err(|e| Failure::Usage(format!("--types: {e}")))?;
            // The declarations come first, so --sig may use them (and declare more).
            let given = sig
                .as_deref()
                .map(|sig| Signature::parse(&format!("{types_text}{sig}")))
                .transpose()
                .map_err(|e| Failure::Usage(format!("--sig: {e}")))?;
            let lua_hosts = load_lua_hosts(&limits, &host_files)?;
            let mut builder = host(limits);
            if !lua_hosts.is_empty() {
                let imports = declared_imports(&plugin, &flags);
                builder = host_lua::register(builder, &lua_hosts, &imports);
            }
            let host = builder.build();
            let mut p = load(&host, &plugin, &flags)?;
            // Kept alive for the call: the host holds the VM only weakly.
            let _vm = match lua_vm {
                Some(path) => {
                    let what = format!("--lua-vm {}", path.display());
                    let vm = load(&host, &path, &flags).map_err(|f| match f {
                        Failure::Load(e) => Failure::LoadOf(what.clone(), e),
                        other => other,
                    })?;
                    if vm.abi() != Abi::Lua {
                        return Err(Failure::Usage(format!(
                            "{what} is not a Lua plugin (a folder with main.lua or a .lua file)"
                        )));
                    }
                    let vm = host
                        .expose(vm)
                        .map_err(|e| Failure::LoadOf(what.clone(), e))?;
                    host.set_lua_vm(&vm)
                        .map_err(|e| Failure::LoadOf(what.clone(), e))?;
                    Some(vm)
                }
                None => None,
            };
            if !p.exports().iter().any(|e| e.name == function) {
                let known = p
                    .exports()
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(Failure::Usage(format!(
                    "the plugin has no function `{function}` (exports: {known})"
                )));
            }
            let call_failed = |e: Error| match e.kind() {
                ErrorKind::Encode { .. } => Failure::Usage(e.to_string()),
                _ => Failure::Call(e),
            };
            let mut best = f64::INFINITY;
            // The call (or calls, with --repeat), its output as it is printed.
            let outcome: Result<Vec<u8>, Error> = if matches!(p.abi(), Abi::Kernel | Abi::Idl) {
                // Extism plugins take and return bytes.
                if input.is_some() && args.is_some() {
                    return Err(Failure::Usage(
                        "give the input either as ARGS or with --input, not both".into(),
                    ));
                }
                let bytes = input.or(args).unwrap_or_default().into_bytes();
                timed(repeat, &mut best, || p.call_bytes(&function, bytes.clone()))
            } else if matches!(p.abi(), Abi::Lua | Abi::Nvim) {
                // Lua: ARGS is JSON; an array is spread into the arguments. nvim: ARGS is the
                // one JSON value the function takes.
                let text = input.or(args).unwrap_or_default();
                if !text.trim().is_empty() {
                    Value::from_json(&text).map_err(|e| Failure::Usage(format!("ARGS: {e}")))?;
                }
                timed(repeat, &mut best, || {
                    p.call_bytes(&function, text.clone().into_bytes())
                })
            } else {
                if input.is_some() {
                    return Err(Failure::Usage(
                        "--input is for Extism plugins; pass JSON arguments as ARGS".into(),
                    ));
                }
                let embedded = p
                    .signature(&function)
                    .map(|s| declarations.resolve_signature(s))
                    .transpose()
                    .map_err(|e| Failure::Usage(format!("--types: {e}")))?;
                let sig = given.or(embedded).ok_or_else(|| {
                    Failure::Usage(format!("`{function}` has no embedded signature, so its arguments cannot be encoded from JSON: give its types with --sig \"(T) -> R\""))
                })?;
                let values = json_args(&sig, args.as_deref())?;
                timed(repeat, &mut best, || {
                    p.call_with_signature(&function, &sig, values.clone())
                })
                .map(|result| result.to_json().into_bytes())
            };
            // Values that do not fit the signature never reached the plugin: nothing to time.
            let ran = !matches!(&outcome, Err(e) if matches!(e.kind(), ErrorKind::Encode { .. }));
            if time && ran {
                eprintln!("time: {:.3} ms, fuel: {}", best * 1e3, p.fuel_consumed());
            }
            let out = outcome.map_err(call_failed)?;
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(&out);
            let _ = stdout.write_all(b"\n");
            Ok(())
        }
        Command::Inspect {
            plugin,
            interface,
            json,
        } => {
            let bytes = read(&plugin)?;
            if is_manifest(&bytes) {
                return Err(Failure::Usage(
                    "inspect takes a .wasm file; for a manifest, inspect its modules".into(),
                ));
            }
            let mut options = PluginOptions::default();
            if let Some(i) = read_interface(interface.as_deref())? {
                options = options.with_interface(i);
            }
            let p = Host::builder()
                .build()
                .describe_wasm_with(&bytes, &options)
                .map_err(Failure::Load)?;
            if json {
                println!("{}", inspect_json(&p));
            } else {
                print!("{}", inspect_text(&p));
            }
            Ok(())
        }
        Command::Lua {
            dir,
            rounds,
            fuel,
            memory,
        } => run_lua(&dir, rounds, fuel, memory),
        Command::Idl { file, ts } => {
            let Some(i) = read_interface(Some(&file))? else {
                return Ok(());
            };
            if ts {
                print!("{}", i.typescript());
            } else {
                println!("exports (in __invoke order):");
                for (n, e) in i.exports().iter().enumerate() {
                    println!("  {n}: {e}() -> I32");
                }
                println!("host functions (extism:host/user, in __invokeHostFunc order):");
                for (n, f) in i.imports().iter().enumerate() {
                    let params: Vec<String> =
                        f.params.iter().map(|(p, t)| format!("{p}: {t}")).collect();
                    let result = f.result.map_or("void".to_owned(), |t| t.to_string());
                    println!("  {n}: {}({}) -> {result}", f.name, params.join(", "));
                }
            }
            Ok(())
        }
    }
}

/// Text of plugin_lua's `sys.print`: the arguments concatenated, strings as they are.
fn concat_text(args: &[Value]) -> String {
    args.iter()
        .map(|a| match a {
            Value::String(s) => s.clone(),
            Value::Null => "nil".to_owned(),
            v => v.to_json(),
        })
        .collect()
}

fn run_lua(dir: &Path, rounds: u64, fuel: u64, memory: Option<usize>) -> Result<(), Failure> {
    let mut limits = Limits {
        fuel,
        ..Limits::default()
    };
    if let Some(m) = memory {
        limits.memory_bytes = m;
    }
    let host = Host::builder()
        .limits(limits.clone())
        .func("math", "add", |(a, b): (f64, f64)| {
            // Integers stay integers (10, not 10.0), as plugin_lua's example prints them.
            let sum = a + b;
            if sum.fract() == 0.0 && sum.abs() < 9.0e15 {
                Value::Int(sum as i64)
            } else {
                Value::Float(sum)
            }
        })
        .on_log(|r| {
            let mut out = std::io::stdout().lock();
            for line in r.message.lines() {
                let _ = writeln!(out, "[{}] {line}", r.plugin);
            }
        })
        .build();
    let mut manager = LuaManager::new(&host).with_limits(limits);
    manager.handle("sys", "print", |plugin, args| {
        println!("[{plugin}] {}", concat_text(&args));
        Ok(Value::Null)
    });
    let stop = manager.stopper();
    manager.handle("sys", "exit", move |_, _| {
        stop.stop();
        Ok(Value::Null)
    });
    let messages = manager.messages();
    // An unreadable folder is a file that cannot be read (4), as everywhere else.
    std::fs::read_dir(dir).map_err(|e| Failure::Io(dir.to_owned(), e))?;
    let failures = manager.load_dir(dir).map_err(Failure::Load)?;
    for (name, e) in &failures {
        eprintln!(
            "error: plugin `{name}` did not load [{}]: {e}",
            e.kind_name()
        );
    }
    if manager.names().is_empty() {
        if !failures.is_empty() {
            // Every plugin failed to load (each reported above): a load error, as `call`'s.
            return Err(Failure::Quiet(EXIT_LOAD));
        }
        return Err(Failure::Usage(format!(
            "no Lua plugin in {} (each plugin is a folder with a main.lua)",
            dir.display()
        )));
    }
    let report = manager.run(rounds);
    if let Some(rx) = messages {
        for m in rx.try_iter() {
            println!("[{}] message: {}", m.plugin, m.value.to_json());
        }
    }
    for e in &report.errors {
        eprintln!(
            "error: {}() of `{}` failed [{}]: {}",
            e.function,
            e.plugin,
            e.error.kind_name(),
            e.error
        );
    }
    // A plugin that did not load outranks a call that failed: both were reported above.
    if !failures.is_empty() {
        Err(Failure::Quiet(EXIT_LOAD))
    } else if !report.errors.is_empty() {
        Err(Failure::Quiet(EXIT_CALL))
    } else {
        Ok(())
    }
}

/// The JSON arguments as one value per parameter.
fn json_args(sig: &Signature, args: Option<&str>) -> Result<Vec<Value>, Failure> {
    let value = match args {
        None => Value::Null,
        Some(text) => Value::from_json(text).map_err(|e| Failure::Usage(format!("ARGS: {e}")))?,
    };
    match (sig.params.len(), value) {
        (0, Value::Null) => Ok(Vec::new()),
        (0, Value::List(l)) if l.is_empty() => Ok(Vec::new()),
        (0, _) => Err(Failure::Usage("the function takes no arguments".into())),
        (1, v) => Ok(vec![v]),
        (n, Value::List(items)) if items.len() == n => Ok(items),
        (n, _) => Err(Failure::Usage(format!(
            "the function takes {n} arguments: pass a JSON array of {n} values ({sig})"
        ))),
    }
}

fn inspect_text(p: &PluginInfo) -> String {
    let mut out = format!("abi: {} ({})\nexports:\n", p.abi, p.abi_reason);
    for e in &p.exports {
        match &e.signature {
            Some(s) => out.push_str(&format!("  {}{}\n", e.name, s)),
            None if matches!(p.abi, Abi::Kernel | Abi::Idl) => {
                out.push_str(&format!("  {}(bytes) -> bytes\n", e.name))
            }
            None => out.push_str(&format!("  {} (no signature)\n", e.name)),
        }
    }
    out.push_str("imports:\n");
    for i in &p.imports {
        let sig = i
            .signature
            .as_ref()
            .map(|s| format!("  {s}"))
            .unwrap_or_default();
        let note = if i.unresolved.is_some() {
            "  (host-provided: not available in the CLI)"
        } else {
            ""
        };
        out.push_str(&format!(
            "  {}.{} {}{}{}\n",
            i.module, i.name, i.wasm_type, sig, note
        ));
    }
    out
}

fn inspect_json(p: &PluginInfo) -> String {
    let exports: Vec<serde_json::Value> = p
        .exports
        .iter()
        .map(|e| serde_json::json!({ "name": e.name, "signature": e.signature.as_ref().map(ToString::to_string) }))
        .collect();
    let imports: Vec<serde_json::Value> = p
        .imports
        .iter()
        .map(|i| serde_json::json!({ "module": i.module, "name": i.name, "type": i.wasm_type,
            "signature": i.signature.as_ref().map(ToString::to_string), "providedByCli": i.unresolved.is_none() }))
        .collect();
    serde_json::json!({ "abi": p.abi.name(), "abiReason": p.abi_reason, "exports": exports, "imports": imports }).to_string()
}
