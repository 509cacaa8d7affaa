//! The plugin_lua manager (docs/abis.md §6): Lua plugins loaded from a folder of plugin folders (or
//! from name → files maps, for the browser), host functions that know which plugin called them
//! in namespace tables, lifecycle calls across all plugins in a stable order, and messages from
//! plugins to the embedder.

use super::{Handle, PluginFn};
use crate::error::Error;
use crate::host::Host;
use crate::limits::Limits;
use crate::plugin::{Plugin, PluginOptions};
use crate::value::Value;
use std::rc::Rc;
use std::sync::mpsc;

/// A message a plugin sent to the embedder with `host.send(value)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub plugin: String,
    pub value: Value,
}

/// A lifecycle function that failed in one plugin.
#[derive(Debug)]
pub struct LifecycleError {
    pub plugin: String,
    pub function: String,
    pub error: Error,
}

/// What [`LuaManager::run`] did.
#[derive(Debug, Default)]
pub struct RunReport {
    /// Rounds of `update()` run.
    pub rounds: u64,
    /// Plugins whose `update()` returned `false`, in the order they stopped.
    pub stopped: Vec<String>,
    /// Every lifecycle call that failed (the plugin is then left out of later updates).
    pub errors: Vec<LifecycleError>,
}

/// Runs a set of Lua plugins the plugin_lua way.
///
/// ```
/// use plugboard_host_core::{Host, LuaManager, Value};
/// let host = Host::builder().func("math", "add", |(a, b): (i64, i64)| a + b).build();
/// let mut lua = LuaManager::new(&host);
/// let out = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
/// let o = out.clone();
/// lua.handle("sys", "print", move |plugin, args| {
///     let text: String = args.iter().map(|a| match a { Value::String(s) => s.clone(), v => v.to_json() }).collect();
///     o.borrow_mut().push(format!("[{plugin}] {text}"));
///     Ok(Value::Null)
/// });
/// lua.load("hello", [("main.lua", "function init() sys.print('1 + 2 = ', math.add(1, 2)) end")])?;
/// lua.run(10);
/// assert_eq!(*out.borrow(), ["[hello] 1 + 2 = 3"]);
/// # Ok::<(), plugboard_host_core::Error>(())
/// ```
pub struct LuaManager {
    host: Host,
    limits: Option<Limits>,
    handles: Vec<Handle>,
    plugins: Vec<Plugin>,
    failed: Vec<(String, Error)>,
    receiver: Option<mpsc::Receiver<Message>>,
    stop: Stopper,
}

/// Ends [`LuaManager::run`] after the current round (`host.exit()` in a plugin, or a handle of
/// the embedder's, such as plugin_lua's `sys.exit`).
#[derive(Debug, Clone, Default)]
pub struct Stopper(Rc<std::cell::Cell<bool>>);

impl Stopper {
    /// Asks the run loop to stop after the current round.
    pub fn stop(&self) {
        self.0.set(true);
    }

    /// Whether a stop was asked for.
    pub fn is_stopped(&self) -> bool {
        self.0.get()
    }
}

impl std::fmt::Debug for LuaManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LuaManager")
            .field("plugins", &self.names())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl LuaManager {
    /// A manager whose plugins see `host`'s host functions, plus `host.send(value)`.
    pub fn new(host: &Host) -> Self {
        let (sender, receiver) = mpsc::channel();
        let mut m = LuaManager {
            host: host.clone(),
            limits: None,
            handles: Vec::new(),
            plugins: Vec::new(),
            failed: Vec::new(),
            receiver: Some(receiver),
            stop: Stopper::default(),
        };
        let stop = m.stop.clone();
        m.handle("host", "exit", move |_, _| {
            stop.stop();
            Ok(Value::Null)
        });
        m.handle("host", "send", move |plugin, mut args| {
            let value = if args.len() == 1 {
                args.pop().unwrap_or(Value::Null)
            } else {
                Value::List(args)
            };
            // The embedder may have dropped the receiver: then nobody listens.
            let _ = sender.send(Message {
                plugin: plugin.to_owned(),
                value,
            });
            Ok(Value::Null)
        });
        m
    }

    /// Limits for every plugin loaded after this (memory cap per plugin, fuel per call).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Registers `namespace.name` for plugins loaded after this; `f` gets the calling plugin's
    /// name and the arguments. An existing table of that name (e.g. `math`) is extended.
    pub fn handle(
        &mut self,
        namespace: &str,
        name: &str,
        f: impl Fn(&str, Vec<Value>) -> Result<Value, String> + 'static,
    ) -> &mut Self {
        self.handles
            .retain(|h| !(h.namespace == namespace && h.name == name));
        let f: Rc<PluginFn> = Rc::new(f);
        self.handles.push(Handle {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            f,
        });
        self
    }

    /// A handle that ends the run loop after the current round.
    pub fn stopper(&self) -> Stopper {
        self.stop.clone()
    }

    /// The receiving end of `host.send` (once; later calls return `None`).
    pub fn messages(&mut self) -> Option<mpsc::Receiver<Message>> {
        self.receiver.take()
    }

    fn options(&self, name: &str) -> PluginOptions {
        let mut o = PluginOptions::named(name);
        o.limits = self.limits.clone();
        o
    }

    /// Loads one plugin from its files (`main.lua` and modules). A plugin of the same name is
    /// replaced.
    ///
    /// # Errors
    ///
    /// The plugin's load error; it is also recorded in [`LuaManager::failed`].
    pub fn load<K, V>(
        &mut self,
        name: &str,
        files: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), Error>
    where
        K: Into<String>,
        V: Into<Vec<u8>>,
    {
        self.plugins.retain(|p| p.name() != name);
        self.failed.retain(|(n, _)| n != name);
        let handles: Rc<[Handle]> = Rc::from(self.handles.clone());
        match self
            .host
            .load_lua_with_handles(files, self.options(name), handles)
        {
            Ok(p) => {
                let at = self.plugins.partition_point(|q| q.name() < name);
                self.plugins.insert(at, p);
                Ok(())
            }
            Err(e) => {
                self.failed.push((name.to_owned(), e.clone()));
                Err(e)
            }
        }
    }

    /// Loads every `<dir>/<plugin>/main.lua` (the plugin's name is its folder's). Folders
    /// without `main.lua` are skipped; plugins that fail to load are reported, not kept.
    ///
    /// # Errors
    ///
    /// Only if `dir` itself cannot be read; each plugin's failure is in the returned list (and
    /// in [`LuaManager::failed`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_dir(&mut self, dir: &std::path::Path) -> Result<Vec<(String, Error)>, Error> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            Error::from(crate::error::ErrorKind::LuaSyntax {
                plugin: String::new(),
                file: dir.display().to_string(),
                line: None,
                message: format!("cannot read the plugins folder: {e}"),
            })
        })?;
        let mut folders: Vec<std::path::PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .filter(|p| p.join(super::ENTRY).is_file())
            .collect();
        folders.sort();
        let mut failures = Vec::new();
        for folder in folders {
            let name = folder
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let loaded = super::read_lua_dir(&folder).and_then(|files| self.load(&name, files));
            if let Err(e) = loaded {
                if !self.failed.iter().any(|(n, _)| *n == name) {
                    self.failed.push((name.clone(), e.clone()));
                }
                failures.push((name, e));
            }
        }
        Ok(failures)
    }

    /// The loaded plugins' names, in the order lifecycle calls visit them.
    pub fn names(&self) -> Vec<&str> {
        self.plugins.iter().map(Plugin::name).collect()
    }

    /// A loaded plugin.
    pub fn plugin(&mut self, name: &str) -> Option<&mut Plugin> {
        self.plugins.iter_mut().find(|p| p.name() == name)
    }

    /// Plugins that failed to load, with why.
    pub fn failed(&self) -> &[(String, Error)] {
        &self.failed
    }

    /// Calls the global `function` in every plugin that defines it, in name order.
    pub fn call_all(&mut self, function: &str) -> Vec<(String, Result<Value, Error>)> {
        let mut out = Vec::new();
        for p in &mut self.plugins {
            if !p.exports().iter().any(|e| e.name == function) {
                continue;
            }
            let r = p.call_value(function, Vec::new());
            out.push((p.name().to_owned(), r));
        }
        out
    }

    /// The lifecycle: `init()` in every plugin, then rounds of `update()` until every plugin
    /// has stopped (its `update()` returned `false`, failed, or it has none), a stop was asked
    /// for ([`Stopper`]), or `max_rounds` rounds ran; then `destroy()` in every plugin.
    pub fn run(&mut self, max_rounds: u64) -> RunReport {
        self.stop.0.set(false);
        let mut report = RunReport::default();
        let mut failed_plugins: Vec<String> = Vec::new();
        for (plugin, r) in self.call_all("init") {
            if let Err(error) = r {
                failed_plugins.push(plugin.clone());
                report.errors.push(LifecycleError {
                    plugin,
                    function: "init".into(),
                    error,
                });
            }
        }
        let mut active: Vec<String> = self
            .plugins
            .iter()
            .filter(|p| p.exports().iter().any(|e| e.name == "update"))
            .map(|p| p.name().to_owned())
            .filter(|n| !failed_plugins.contains(n))
            .collect();
        while !active.is_empty() && report.rounds < max_rounds && !self.stop.is_stopped() {
            report.rounds += 1;
            let mut still = Vec::new();
            for name in active {
                let Some(p) = self.plugins.iter_mut().find(|p| p.name() == name) else {
                    continue;
                };
                match p.call_value("update", Vec::new()) {
                    Ok(Value::Bool(false)) => report.stopped.push(name),
                    Ok(_) => still.push(name),
                    Err(error) => report.errors.push(LifecycleError {
                        plugin: name,
                        function: "update".into(),
                        error,
                    }),
                }
            }
            active = still;
        }
        for (plugin, r) in self.call_all("destroy") {
            if let Err(error) = r {
                report.errors.push(LifecycleError {
                    plugin,
                    function: "destroy".into(),
                    error,
                });
            }
        }
        report
    }
}
