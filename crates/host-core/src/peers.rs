//! Plugins calling plugins: the plugins an embedder exposes ([`Host::expose`]), which Lua
//! plugins see as `plugins.<name>.<function>(…)`, and the Lua VM that runs the `lua_exec` and
//! `lua_eval` of nvim-ABI plugins ([`Host::set_lua_vm`]).
//!
//! A call from one plugin into another runs inside the caller's host call: it counts toward
//! the re-entrancy depth (each engine's step enters a [`DepthGuard`](crate::call::DepthGuard)),
//! it may use no more fuel than the caller has left, and what it used is charged to the
//! caller. Calling a plugin that is itself in a call (the caller, or one further up the
//! chain) fails with [`ErrorKind::Busy`]: no engine is ever entered twice.

use crate::error::{Error, ErrorKind};
use crate::host::Host;
use crate::plugin::Plugin;
use crate::value::Value;
use std::cell::{Ref, RefCell, RefMut};
use std::fmt;
use std::rc::{Rc, Weak};

/// A plugin the host has exposed to other plugins, shared between the embedder and them.
///
/// Cloning is cheap and gives another handle to the same plugin; the plugin is unloaded (and
/// disappears from `plugins`) when the last handle is dropped.
#[derive(Clone)]
pub struct SharedPlugin {
    inner: Rc<RefCell<Plugin>>,
    name: Rc<str>,
}

impl fmt::Debug for SharedPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedPlugin")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl SharedPlugin {
    /// Shares a plugin without exposing it yet (see [`Host::expose_shared`]).
    pub fn new(plugin: Plugin) -> Self {
        SharedPlugin {
            name: Rc::from(plugin.name()),
            inner: Rc::new(RefCell::new(plugin)),
        }
    }

    /// The name other plugins reach it by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The plugin, to call or inspect.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Busy`] while the plugin is running a call (one that reached this code
    /// through a host function).
    pub fn borrow_mut(&self) -> Result<RefMut<'_, Plugin>, Error> {
        self.inner
            .try_borrow_mut()
            .map_err(|_| ErrorKind::Busy.into())
    }

    /// The plugin, to inspect.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Busy`] while the plugin is running a call.
    pub fn borrow(&self) -> Result<Ref<'_, Plugin>, Error> {
        self.inner.try_borrow().map_err(|_| ErrorKind::Busy.into())
    }

    /// Calls `function` with self-describing values ([`Plugin::call_value`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Busy`], then as [`Plugin::call_value`].
    pub fn call_value(&self, function: &str, args: Vec<Value>) -> Result<Value, Error> {
        self.borrow_mut()?.call_value(function, args)
    }
}

/// What runs a Lua source for `lua_exec`/`lua_eval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// Run statements; the result is discarded.
    Exec,
    /// Evaluate an expression (or run statements ending in `return`); the result is kept.
    Eval,
}

/// An exposed plugin by name; held weakly, so dropping its last handle unexposes it.
type Entry = (Rc<str>, Weak<RefCell<Plugin>>);

/// The exposed plugins of one host (shared by its clones) and its designated Lua VM.
#[derive(Default)]
pub(crate) struct Peers {
    plugins: RefCell<Vec<Entry>>,
    lua_vm: RefCell<Option<Entry>>,
}

impl fmt::Debug for Peers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self
            .plugins
            .borrow()
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        f.debug_struct("Peers").field("plugins", &names).finish()
    }
}

fn peer_error(plugin: &str, reason: &str) -> Error {
    ErrorKind::Peer {
        plugin: plugin.to_owned(),
        reason: reason.to_owned(),
    }
    .into()
}

impl Peers {
    fn find(&self, name: &str) -> Option<Rc<RefCell<Plugin>>> {
        let mut plugins = self.plugins.borrow_mut();
        plugins.retain(|(_, w)| w.strong_count() > 0);
        plugins
            .iter()
            .find(|(n, _)| &**n == name)
            .and_then(|(_, w)| w.upgrade())
    }

    /// The function names of the exposed plugin `name`, or `None` if there is none (or it is
    /// in a call, so its exports cannot be read: then calls to it fail with `Busy`).
    pub(crate) fn exports(&self, name: &str) -> Option<Result<Vec<String>, Error>> {
        let plugin = self.find(name)?;
        let exports = match plugin.try_borrow() {
            Ok(p) => Ok(p.exports().iter().map(|e| e.name.clone()).collect()),
            Err(_) => Err(ErrorKind::Busy.into()),
        };
        Some(exports)
    }

    /// Calls `function` of the exposed plugin `plugin` with at most `available` fuel.
    /// Returns the result and the fuel the call used, which the caller is charged.
    pub(crate) fn call(
        &self,
        plugin: &str,
        function: &str,
        args: Vec<Value>,
        available: u64,
    ) -> (Result<Value, Error>, u64) {
        let Some(target) = self.find(plugin) else {
            return (
                Err(peer_error(plugin, "no plugin of this name is exposed")),
                0,
            );
        };
        let Ok(mut p) = target.try_borrow_mut() else {
            return (Err(ErrorKind::Busy.into()), 0);
        };
        p.set_fuel_cap(Some(available));
        let r = p.call_value(function, args);
        p.set_fuel_cap(None);
        (r, p.fuel_consumed())
    }

    /// Runs Lua source in the designated VM with at most `available` fuel: the result (for
    /// [`Chunk::Eval`]) and the fuel used.
    pub(crate) fn lua(
        &self,
        source: &[u8],
        chunk: Chunk,
        available: u64,
    ) -> (Result<Value, Error>, u64) {
        let vm = self.lua_vm.borrow().clone();
        let Some((name, vm)) = vm else {
            return (
                Err(peer_error(
                    "lua",
                    "no Lua VM is designated for lua_exec/lua_eval (Host::set_lua_vm)",
                )),
                0,
            );
        };
        let Some(vm) = vm.upgrade() else {
            return (
                Err(peer_error(&name, "the designated Lua VM was dropped")),
                0,
            );
        };
        let Ok(mut p) = vm.try_borrow_mut() else {
            return (Err(ErrorKind::Busy.into()), 0);
        };
        p.set_fuel_cap(Some(available));
        let r = p.run_lua(source, chunk);
        p.set_fuel_cap(None);
        (r, p.fuel_consumed())
    }
}

impl Host {
    /// Exposes a plugin to the other plugins of this host (and its clones): Lua plugins call
    /// it as `plugins.<name>.<function>(…)` with values converted through [`Value`] (see
    /// [`Plugin::call_value`] for how each ABI takes them). Keep the returned handle to call
    /// the plugin yourself; dropping every handle unexposes it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Peer`] if a plugin of the same name is already exposed.
    pub fn expose(&self, plugin: Plugin) -> Result<SharedPlugin, Error> {
        let shared = SharedPlugin::new(plugin);
        self.expose_shared(&shared)?;
        Ok(shared)
    }

    /// Exposes an already shared plugin (as [`Host::expose`] does).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Peer`] if another plugin of the same name is exposed.
    pub fn expose_shared(&self, plugin: &SharedPlugin) -> Result<(), Error> {
        if let Some(existing) = self.peers.find(&plugin.name) {
            if Rc::ptr_eq(&existing, &plugin.inner) {
                return Ok(());
            }
            return Err(peer_error(
                &plugin.name,
                "a plugin of this name is already exposed",
            ));
        }
        self.peers
            .plugins
            .borrow_mut()
            .push((plugin.name.clone(), Rc::downgrade(&plugin.inner)));
        Ok(())
    }

    /// Stops exposing the plugin of this name (calls to it then fail with [`ErrorKind::Peer`]).
    pub fn unexpose(&self, name: &str) {
        self.peers
            .plugins
            .borrow_mut()
            .retain(|(n, _)| &**n != name);
    }

    /// The exposed plugin of this name, if any.
    pub fn exposed(&self, name: &str) -> Option<SharedPlugin> {
        self.peers.find(name).map(|inner| SharedPlugin {
            inner,
            name: Rc::from(name),
        })
    }

    /// Designates the Lua plugin whose VM runs the `lua_exec`/`lua_eval` of nvim-ABI plugins,
    /// under that plugin's sandbox and limits. Sources run in its globals, so what one
    /// `lua_exec` defines the next can use.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Peer`] if the plugin is not a Lua plugin, [`ErrorKind::Busy`] if it is in
    /// a call.
    pub fn set_lua_vm(&self, plugin: &SharedPlugin) -> Result<(), Error> {
        if plugin.borrow()?.abi() != crate::Abi::Lua {
            return Err(peer_error(
                plugin.name(),
                "only a Lua plugin can run lua_exec/lua_eval",
            ));
        }
        *self.peers.lua_vm.borrow_mut() = Some((plugin.name.clone(), Rc::downgrade(&plugin.inner)));
        Ok(())
    }
}
