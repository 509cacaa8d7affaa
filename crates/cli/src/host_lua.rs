//! `--host FILE.lua`: host functions written in Lua.
//!
//! The file is loaded as a Lua plugin of its own (on a host of its own, so it cannot call
//! itself through the registry). Every global function it defines becomes the host function
//! `env.<name>`, and every global table it defines becomes a namespace: its functions are the
//! host functions `<table>.<name>`. They are registered in the host the plugin is then loaded
//! on, so every ABI reaches them the way it reaches any registry function: buffer-ABI
//! `env.__<name>` imports, Extism `extism:host/user::<name>` imports (`env` is its alias),
//! nvim `host.<name>` imports (found by name in any namespace when `host` has none), and
//! Lua plugins' `<namespace>.<name>(…)`.
//!
//! How a Lua host function sees its arguments:
//! - buffer-ABI callers: one Lua argument per parameter of the import's embedded signature
//!   (decoded from bincode; the result is encoded by its return type, several results of a
//!   tuple as several return values or one table);
//! - Extism callers: one Lua string per input, holding its bytes; the result's bytes are a
//!   returned string as it is, `nil` as nothing, any other value as its JSON;
//! - nvim and Lua callers: the JSON value passed; an array is spread into the arguments (as
//!   `plugboard call` does with a Lua plugin's ARGS), `null` is no argument.

use plugboard_host_core::{
    Error, Host, HostBuilder, HostReturn, ImportInfo, PluginOptions, SharedPlugin, Signature, Value,
};
use std::path::Path;

/// Loaded first, as the plugin's `main.lua`: runs the user's file as a module (its globals
/// are the plugin's globals) and lists what it defined, before defining its own two globals.
const WRAPPER: &str = r#"
local before = {}
for k in pairs(_G) do before[k] = true end
require(__PLUGBOARD_MODULE__)
local found = {}
for k, v in pairs(_G) do
  if type(k) == "string" and not before[k] then
    if type(v) == "function" then
      found[#found + 1] = { "env", k, true }
    elseif type(v) == "table" then
      for name, f in pairs(v) do
        if type(name) == "string" and type(f) == "function" then
          found[#found + 1] = { k, name, false }
        end
      end
    end
  end
end
function __plugboard_host_functions()
  return found
end
function __plugboard_host_call(ns, name, global, ...)
  local f
  if global then
    f = _G[name]
  elseif type(_G[ns]) == "table" then
    f = _G[ns][name]
  end
  if type(f) ~= "function" then
    error("host function " .. ns .. "." .. name .. " is no longer defined in the --host file", 0)
  end
  return f(...)
end
"#;

/// One host function found in a `--host` file.
pub struct LuaHostFn {
    pub namespace: String,
    pub name: String,
    /// A global function (else a function of the global table named `namespace`).
    global: bool,
    plugin: SharedPlugin,
}

/// A `--host` file, loaded: the functions it defines and the plugin that runs them.
pub struct LuaHost {
    pub functions: Vec<LuaHostFn>,
}

/// What went wrong with a `--host` file.
pub enum LuaHostError {
    /// The file could not be read.
    Io(std::io::Error),
    /// The file is not a loadable Lua plugin (syntax error, error in its top level, limits).
    Load(Error),
    /// Something the file defines cannot be a host function.
    Invalid(String),
}

impl LuaHost {
    /// Loads `path` on `host` (a host of its own, without these functions).
    pub fn load(host: &Host, path: &Path) -> Result<LuaHost, LuaHostError> {
        let source = std::fs::read(path).map_err(LuaHostError::Io)?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        // `require` reads `a.b` as `a/b.lua`, and `main.lua` is the wrapper.
        let module = if stem.is_empty()
            || stem == "main"
            || !stem
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        {
            "host".to_owned()
        } else {
            stem.clone()
        };
        let wrapper = WRAPPER.replace("__PLUGBOARD_MODULE__", &format!("{module:?}"));
        let name = if stem.is_empty() {
            "host".to_owned()
        } else {
            stem
        };
        let plugin = host
            .load_lua_files(
                [
                    ("main.lua".to_owned(), wrapper.into_bytes()),
                    (format!("{module}.lua"), source),
                ],
                PluginOptions::named(&name),
            )
            .map_err(LuaHostError::Load)?;
        let plugin = SharedPlugin::new(plugin);
        let listed = plugin
            .call_value("__plugboard_host_functions", Vec::new())
            .map_err(LuaHostError::Load)?;
        let mut functions = Vec::new();
        let entries = match listed {
            Value::List(entries) => entries,
            // An empty Lua table converts to an empty map or list.
            Value::Map(m) if m.is_empty() => Vec::new(),
            other => {
                return Err(LuaHostError::Invalid(format!(
                    "unexpected list of functions: {}",
                    other.to_json()
                )))
            }
        };
        for entry in entries {
            let (namespace, name, global) = match entry {
                Value::List(parts) => match parts.as_slice() {
                    [Value::String(ns), Value::String(n), Value::Bool(g)] => {
                        (ns.clone(), n.clone(), *g)
                    }
                    _ => {
                        return Err(LuaHostError::Invalid(format!(
                            "unexpected entry {}",
                            Value::List(parts).to_json()
                        )))
                    }
                },
                other => {
                    return Err(LuaHostError::Invalid(format!(
                        "unexpected entry {}",
                        other.to_json()
                    )))
                }
            };
            if namespace.is_empty() || name.is_empty() {
                return Err(LuaHostError::Invalid(format!(
                    "`{namespace}.{name}`: a host function needs a namespace and a name"
                )));
            }
            functions.push(LuaHostFn {
                namespace,
                name,
                global,
                plugin: plugin.clone(),
            });
        }
        // `pairs` has no order: list (and register) them sorted.
        functions.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        if functions.is_empty() {
            return Err(LuaHostError::Invalid(
                "it defines no global function and no global table of functions".into(),
            ));
        }
        Ok(LuaHost { functions })
    }
}

/// The signature the plugin declares for its import of `name` (buffer ABI: `env.__name`), so
/// a bincode caller's arguments can be decoded.
fn import_signature(imports: &[ImportInfo], name: &str) -> Option<Signature> {
    imports
        .iter()
        .find(|i| i.name.strip_prefix("__").unwrap_or(&i.name) == name && i.signature.is_some())
        .and_then(|i| i.signature.clone())
}

/// The Lua arguments of one call (see the module docs).
fn lua_args(signature: Option<&Signature>, args: Value) -> Vec<Value> {
    match (signature.map(|s| s.params.len()), args) {
        (Some(0), _) => Vec::new(),
        (Some(1), v) => vec![v],
        (_, Value::Null) => Vec::new(),
        (_, Value::List(items)) => items,
        (_, v) => vec![v],
    }
}

/// Registers every function of `hosts` in `builder`; `imports` are the plugin's imports, whose
/// embedded signatures type the functions for bincode callers.
pub fn register(
    mut builder: HostBuilder,
    hosts: &[LuaHost],
    imports: &[ImportInfo],
) -> HostBuilder {
    for f in hosts.iter().flat_map(|h| &h.functions) {
        let signature = import_signature(imports, &f.name);
        let plugin = f.plugin.clone();
        let (ns, name, global) = (f.namespace.clone(), f.name.clone(), f.global);
        let sig = signature.clone();
        builder = builder.func_value(&f.namespace, &f.name, signature, move |args| {
            let mut call = vec![
                Value::String(ns.clone()),
                Value::String(name.clone()),
                Value::Bool(global),
            ];
            call.extend(lua_args(sig.as_ref(), args));
            plugin
                .call_value("__plugboard_host_call", call)
                .map(HostReturn::Ready)
                .map_err(|e| format!("[{}] {e}", e.kind_name()))
        });
    }
    builder
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugboard_host_core::Type;

    #[test]
    fn arguments_are_spread_by_signature_or_array() {
        let two = Signature::new(vec![Type::U32, Type::U32], Type::U32);
        let one_list = Signature::new(vec![Type::List(Box::new(Type::U32))], Type::U32);
        let list = Value::List(vec![Value::Int(1), Value::Int(2)]);
        assert_eq!(lua_args(Some(&two), list.clone()).len(), 2);
        assert_eq!(lua_args(Some(&one_list), list.clone()), vec![list.clone()]);
        assert_eq!(lua_args(None, list).len(), 2);
        assert!(lua_args(None, Value::Null).is_empty());
        assert_eq!(lua_args(None, Value::Int(3)), vec![Value::Int(3)]);
        let none = Signature::new(vec![], Type::Unit);
        assert!(lua_args(Some(&none), Value::Null).is_empty());
    }
}
