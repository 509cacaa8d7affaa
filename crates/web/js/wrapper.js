// The public API of the npm package `plugboard`: `PluginHost` and `Plugin`, over the
// wasm-bindgen classes `RawHost` and `RawPlugin` (crates/web/src/lib.rs).
//
// Two things live here rather than in Rust because they must watch the runtime from outside:
//
// - Calls are driven from JS, one fuel slice per synchronous `step()`, yielding to the event
//   loop between slices and awaiting async host functions, so a page stays responsive and an
//   `AbortSignal` is honoured between slices.
// - Runtime-crash recovery: if the runtime's own wasm instance aborts (a Rust panic on wasm32 is
//   an `unreachable` trap), the next synchronous entry throws. We then re-create the instance
//   (`__wbg_reset_state`), rebuild every live host from its recorded options and definitions,
//   reload every open plugin from its recorded source, reject the call in flight with kind
//   "runtimeCrashed", and the next call works. Plugin state (Lua globals, wasm memory) starts
//   afresh, as after a reload.
import * as raw from "./raw.js";

/**
 * Every error the package throws or rejects with: `kind` says what went wrong (see the
 * `ErrorKind` union of the declarations); some kinds carry more fields (`cause`, `code`, …).
 */
export class PluginError extends Error {
  constructor(message, kind) {
    super(message);
    this.name = "PluginError";
    if (kind !== undefined) this.kind = kind;
  }
}

function pluginError(kind, message, fields) {
  const e = new PluginError(message, kind);
  if (fields) Object.assign(e, fields);
  return e;
}

// The runtime makes its errors with this class: registered on first use (on the web target the
// runtime is not instantiated before `init`) and again after a crash reset.
let errorClassSet = false;
function useErrorClass() {
  if (!errorClassSet) {
    raw.setErrorClass(PluginError);
    errorClassSet = true;
  }
}

/**
 * Bytes an Extism plugin hands over, a `Uint8Array` that can decode itself: what an Extism
 * call resolves to and what a host function receives for each of an Extism plugin's
 * arguments (any other `Uint8Array` argument arrives as one too).
 */
export class PluginBytes extends Uint8Array {
  /** The bytes, as a plain `Uint8Array` (a view of the same memory). */
  bytes() {
    return new Uint8Array(this.buffer, this.byteOffset, this.byteLength);
  }
  /** The bytes decoded as UTF-8 (invalid sequences become U+FFFD, as `TextDecoder` does). */
  text() {
    return new TextDecoder().decode(this);
  }
  /** The text parsed as JSON; throws a `SyntaxError` if it is not JSON (empty bytes: `null`). */
  json() {
    return this.byteLength === 0 ? null : JSON.parse(this.text());
  }
}

function asPluginBytes(v) {
  return v instanceof Uint8Array && !(v instanceof PluginBytes)
    ? new PluginBytes(v.buffer, v.byteOffset, v.byteLength)
    : v;
}

const LIMIT_OPTIONS = [
  "fuel", "fuelSlice", "instantiateFuel", "memoryBytes", "maxReentrancy", "maxModuleBytes",
  "maxInputBytes", "maxOutputBytes", "maxLogBytes", "maxHandles",
];
const HOST_OPTIONS = [...LIMIT_OPTIONS, "logLevel"];
const WASM_OPTIONS = [
  ...LIMIT_OPTIONS, "name", "allow", "abi", "interface", "keepInstance", "stubMissingImports",
  "config", "allowedHosts", "wasi", "logLevel",
];
const LUA_OPTIONS = [...LIMIT_OPTIONS, "allow", "signal"];
const MANIFEST_OPTIONS = ["name", "logLevel"];
const CALL_OPTIONS = ["signal", "signature"];

/** `options` as given (an object or nothing), checked to name only `known` keys. */
function checkOptions(what, options, known) {
  if (options === undefined || options === null) return {};
  if (typeof options !== "object" || Array.isArray(options)) {
    throw pluginError("invalidOption", `${what}: options must be an object`, { option: "" });
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw pluginError(
        "invalidOption",
        `${what}: unknown option \`${key}\` (it takes ${known.join(", ")})`,
        { option: key },
      );
    }
  }
  return options;
}

function cancelled(signal, what) {
  return pluginError("cancelled", `the ${what} was cancelled`, { cause: signal.reason });
}

const hosts = new Set();
let generation = 0;

/**
 * An exception out of the runtime that is not a PluginError means the runtime itself failed:
 * a trap (a Rust panic), the instance already marked terminated, or V8's own stack running out
 * inside it (RangeError). Rust code was cut off mid-way, so its state cannot be trusted.
 */
function isCrash(e) {
  return (
    (typeof WebAssembly !== "undefined" && e instanceof WebAssembly.RuntimeError) ||
    (e instanceof Error && e.message === "Module terminated") ||
    (e instanceof RangeError && /call stack/i.test(e.message))
  );
}

function recover(cause) {
  raw.__wbg_reset_state();
  errorClassSet = false;
  useErrorClass();
  generation += 1;
  for (const host of hosts) host._rebuild();
  return pluginError(
    "runtimeCrashed",
    `the runtime crashed and was rebuilt; its plugins were reloaded (${cause && cause.message ? cause.message : cause})`,
  );
}

/** Every synchronous entry into the runtime goes through here. */
function enter(f) {
  try {
    return f();
  } catch (e) {
    if (isCrash(e)) throw recover(e);
    throw e;
  }
}

// A macrotask: timers, I/O, input and rendering run before the call goes on. Node:
// setImmediate (a MessageChannel there is drained in one batch and starves timers). Browsers
// and workers: MessageChannel, not clamped like nested setTimeout (4 ms after five levels).
let channel = null;
const waiting = [];
function yieldToEventLoop() {
  if (typeof setImmediate === "function") return new Promise((resolve) => setImmediate(resolve));
  if (typeof MessageChannel === "function") {
    if (channel === null) {
      channel = new MessageChannel();
      channel.port1.onmessage = () => {
        const resolve = waiting.shift();
        if (resolve) resolve();
      };
    }
    return new Promise((resolve) => {
      waiting.push(resolve);
      channel.port2.postMessage(0);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Resolves when `before` settles; rejects with "cancelled" if `signal` aborts first. */
function turn(before, signal) {
  if (!signal) return before;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(cancelled(signal, "call"));
    signal.addEventListener("abort", onAbort, { once: true });
    before.then(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
  });
}

const lost = () =>
  pluginError("runtimeCrashed", "the runtime crashed during the call and was rebuilt; its plugins were reloaded");

/**
 * Runs the call (or Lua `main.lua`) in flight on `rawPlugin()` to its end: one fuel slice per
 * `step`, the event loop between slices, async host functions awaited. Resolves when `step`
 * says done; throws the plugin's error, `cancelled` on `signal`, or `runtimeCrashed` if the
 * runtime was rebuilt meanwhile.
 */
async function drive(rawPlugin, signal, what = "call") {
  const started = generation;
  for (;;) {
    if (generation !== started) throw lost();
    if (signal && signal.aborted) {
      enter(() => rawPlugin().cancel());
      throw cancelled(signal, what);
    }
    const step = enter(() => rawPlugin().step());
    if (step === 0) return;
    if (step === 1) {
      await yieldToEventLoop();
    } else {
      await enter(() => rawPlugin().awaitHost());
    }
  }
}

/** Base64 of bytes (btoa exists in browsers, workers, Deno and Node >= 16). */
function base64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

/** A manifest's `data` given as bytes travels as base64 (JSON has no bytes). */
function manifestBytes(key, value) {
  if (value instanceof Uint8Array) return base64(value);
  if (value instanceof ArrayBuffer) return base64(new Uint8Array(value));
  if (ArrayBuffer.isView(value)) return base64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  return value;
}

function toBytes(bytes) {
  if (bytes instanceof Uint8Array) return bytes.slice();
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes.slice(0));
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  throw pluginError("encode", "loadWasm takes a Uint8Array or an ArrayBuffer");
}

export class PluginHost {
  #options;
  #definitions = new Map();
  #onLog = null;
  #plugins = new Set();
  #raw;
  #closed = false;
  #exposed = new Set();
  #luaVm = null;

  /** @param {object} [options] default limits (fuel, fuelSlice, memoryBytes, …) and logLevel */
  constructor(options = {}) {
    this.#options = { ...checkOptions("new PluginHost", options, HOST_OPTIONS) };
    enter(useErrorClass);
    this.#raw = enter(() => new raw.RawHost(this.#options));
    hosts.add(this);
  }

  /** Defines a host function `namespace.name` for plugins loaded from now on. */
  define(namespace, name, fn, signature) {
    if (typeof fn !== "function") throw new TypeError("define: fn must be a function");
    // Bytes arrive as PluginBytes (Extism plugins' arguments always do). The runtime spreads
    // arguments by the function's arity, so the wrapper keeps it.
    const wrapped = function (...args) {
      return fn.apply(this, args.map(asPluginBytes));
    };
    Object.defineProperty(wrapped, "length", { value: fn.length });
    enter(() => this.#raw.define(namespace, name, wrapped, signature ?? null));
    this.#definitions.set(`${namespace}\u0000${name}`, [namespace, name, wrapped, signature ?? null]);
  }

  /** Receives `{ plugin, stream, message }` for plugin output and logs. */
  onLog(listener) {
    this.#onLog = listener ?? null;
    enter(() => this.#raw.onLog(this.#onLog));
  }

  /** Loads a WebAssembly plugin; its ABI is detected from its imports and exports. */
  async loadWasm(bytes, options = {}) {
    const checked = checkOptions("loadWasm", options, WASM_OPTIONS);
    return this.#load({ kind: "wasm", bytes: toBytes(bytes), options: { ...checked } });
  }

  /**
   * Loads a Lua plugin from its `main.lua` source or an object of files. `main.lua` runs in
   * fuel slices like a call, so it may await async host functions.
   */
  async loadLua(name, files, options = {}) {
    const copy = typeof files === "string" ? files : { ...files };
    const { signal, ...rest } = checkOptions("loadLua", options, LUA_OPTIONS);
    const recipe = { kind: "lua", name: String(name), files: copy, options: rest };
    if (this.#closed) throw pluginError("closed", "the host was closed");
    if (signal && signal.aborted) throw cancelled(signal, "load");
    return this.#adopt(recipe, await this.#startLua(recipe, signal));
  }

  /**
   * Loads an Extism manifest (object or JSON text) with modules given as `data` (a
   * `Uint8Array`, an array of bytes or base64) or `url`. Options: `name`, `logLevel`.
   */
  async loadManifest(manifest, options = {}) {
    const checked = { ...checkOptions("loadManifest", options, MANIFEST_OPTIONS) };
    if (this.#closed) throw pluginError("closed", "the host was closed");
    const text = typeof manifest === "string" ? manifest : JSON.stringify(manifest, manifestBytes);
    const recipe = { kind: "manifest", text, options: checked };
    const rawPlugin = await enter(() => this.#raw.loadManifest(text, checked));
    return this.#adopt(recipe, rawPlugin);
  }

  /** Lets this host's Lua plugins call `plugin` as `plugins.<name>.<function>(…)`. */
  expose(plugin) {
    enter(() => this.#raw.expose(plugin._raw()));
    this.#exposed.add(plugin);
  }

  /** The Lua plugin whose VM runs nvim plugins' `lua_exec`/`lua_eval` (it is exposed too). */
  setLuaVm(plugin) {
    enter(() => this.#raw.setLuaVm(plugin._raw()));
    this.#luaVm = plugin;
  }

  /**
   * Calls `fn` on every open Lua plugin that defines it, in name order (plugin_lua's
   * lifecycle: "init", "update", "destroy"). Resolves to `{ [plugin]: result | PluginError }`.
   */
  async lifecycle(fn, input) {
    const lua = [...this.#plugins]
      .filter((p) => !p.closed && p.abi === "lua" && p.exports.some((e) => e.name === fn))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const out = {};
    for (const p of lua) {
      out[p.name] = await p.call(fn, input).catch((e) => e);
    }
    return out;
  }

  /** Unloads every plugin of this host. */
  close() {
    for (const p of this.#plugins) p.close();
    this.#plugins.clear();
    hosts.delete(this);
    this.#closed = true;
  }

  [Symbol.dispose ?? Symbol.for("Symbol.dispose")]() {
    this.close();
  }

  /** A wasm plugin (Lua and manifest plugins load asynchronously). */
  #open(recipe) {
    return this.#raw.loadWasm(recipe.bytes, recipe.options);
  }

  /** The raw Lua plugin with its `main.lua` run (awaiting host functions as it goes). */
  async #startLua(recipe, signal) {
    const rawHost = this.#raw;
    const rawPlugin = enter(() => rawHost.startLua(recipe.name, recipe.files, recipe.options));
    try {
      await drive(() => rawPlugin, signal, "load");
    } catch (e) {
      try {
        rawPlugin.close();
      } catch {
        // gone with a crashed runtime
      }
      throw e;
    }
    return rawPlugin;
  }

  #load(recipe) {
    if (this.#closed) throw pluginError("closed", "the host was closed");
    const rawPlugin = enter(() => this.#open(recipe));
    return this.#adopt(recipe, rawPlugin);
  }

  #adopt(recipe, rawPlugin) {
    const plugin = new Plugin(recipe, rawPlugin, (p) => this.#plugins.delete(p));
    this.#plugins.add(plugin);
    return plugin;
  }

  /** After a crash: a new raw host with the same options and definitions; plugins reloaded. */
  _rebuild() {
    this.#raw = new raw.RawHost(this.#options);
    for (const [namespace, name, fn, signature] of this.#definitions.values()) {
      this.#raw.define(namespace, name, fn, signature);
    }
    this.#raw.onLog(this.#onLog);
    for (const p of this.#plugins) {
      if (p.closed) continue;
      if (p._recipe.kind === "manifest") {
        p._reopen(this.#raw.loadManifest(p._recipe.text, p._recipe.options));
        continue;
      }
      if (p._recipe.kind === "lua") {
        p._reopen(this.#startLua(p._recipe));
        continue;
      }
      try {
        p._reopen(this.#open(p._recipe));
      } catch (e) {
        p._reopen(null, e);
      }
    }
    // Exposed plugins are exposed again once reloaded; if one failed to reload, calls to it
    // fail with its error.
    const rawHost = this.#raw;
    for (const p of this.#exposed) {
      if (!p.closed) p._whenReopened(() => rawHost.expose(p._raw()));
    }
    const vm = this.#luaVm;
    if (vm && !vm.closed) vm._whenReopened(() => rawHost.setLuaVm(vm._raw()));
  }
}

export class Plugin {
  #raw;
  /** Settles when the last queued call has finished: calls run one at a time, in order. */
  #queue = Promise.resolve();
  #reopening = null;
  #broken = null;
  #onClose;
  closed = false;

  #name;

  constructor(recipe, rawPlugin, onClose) {
    this._recipe = recipe;
    this.#raw = rawPlugin;
    this.#name = rawPlugin.name;
    this.#onClose = onClose;
  }

  /** The plugin's name. */
  get name() {
    return this.#name;
  }

  /** "buffer", "kernel", "idl", "fixed", "nvim" or "lua". */
  get abi() {
    return enter(() => this.#live().abi);
  }

  /** `[{ name, signature }]`. */
  get exports() {
    return enter(() => this.#live().exports);
  }

  /** Fuel the last call used. */
  get fuelConsumed() {
    return enter(() => this.#live().fuelConsumed);
  }

  /** Bytes of memory the plugin holds. */
  get memoryBytes() {
    return enter(() => this.#live().memoryBytes);
  }

  /**
   * Calls `fn` with one input value; resolves to its result (Extism plugins: `PluginBytes`).
   * Between fuel slices the event loop runs. Calls made while one is running wait their turn
   * (first in, first out). Options: `signal` (AbortSignal: cancels the call, also while it
   * waits), `signature` (types for bincode plugins that embed none).
   */
  async call(fn, input, options = {}) {
    const { signal, signature } = checkOptions("call", options, CALL_OPTIONS);
    if (signal && signal.aborted) throw cancelled(signal, "call");
    // The next call waits for this one and for everything before it (this one may leave the
    // queue early, cancelled while waiting).
    const before = this.#queue;
    let done;
    const mine = new Promise((resolve) => {
      done = resolve;
    });
    this.#queue = before.then(() => mine);
    try {
      await turn(before, signal);
      if (this.#reopening) await this.#reopening;
      if (signal && signal.aborted) throw cancelled(signal, "call");
      const started = generation;
      enter(() => this.#live().start(fn, input, { signature: signature ?? null }));
      await drive(() => this.#live(), signal);
      if (generation !== started) throw lost();
      return this.#output(enter(() => this.#live().result()));
    } finally {
      done();
    }
  }

  /**
   * Calls `fn` to its end without yielding; async host functions fail the call. A call in
   * flight (`call` between slices) makes it fail with kind "busy".
   */
  callSync(fn, input, options = {}) {
    const { signature } = checkOptions("callSync", options, ["signature"]);
    return this.#output(enter(() => this.#live().callSync(fn, input, { signature: signature ?? null })));
  }

  /** Extism calls hand back the plugin's bytes. */
  #output(value) {
    return value instanceof Uint8Array && (this.abi === "kernel" || this.abi === "idl")
      ? asPluginBytes(value)
      : value;
  }

  /** Unloads the plugin; later calls fail. */
  close() {
    if (this.closed) return;
    this.closed = true;
    if (this.#raw) {
      const r = this.#raw;
      try {
        enter(() => r.close());
      } catch {
        // already gone with a crashed runtime
      }
    }
    this.#onClose(this);
  }

  [Symbol.dispose ?? Symbol.for("Symbol.dispose")]() {
    this.close();
  }

  /** The raw plugin, for the host (expose, setLuaVm). */
  _raw() {
    return this.#live();
  }

  #live() {
    if (this.closed) throw pluginError("closed", `plugin \`${this.name}\` was closed`, { plugin: this.name });
    if (this.#broken) throw this.#broken;
    if (!this.#raw) throw pluginError("runtimeCrashed", "the plugin is being reloaded");
    return this.#raw;
  }

  /** Runs `f` once the plugin is reloaded after a crash (now, if it is not reloading). */
  _whenReopened(f) {
    const run = () => {
      try {
        f();
      } catch {
        // it failed to reload: calls to it fail with its error
      }
    };
    if (this.#reopening) this.#reopening.then(run);
    else run();
  }

  /** After a crash: the reloaded raw plugin (or the promise of one, or why it failed). */
  _reopen(next, error) {
    this.#broken = null;
    if (error) {
      this.#raw = null;
      this.#broken = error;
    } else if (next && typeof next.then === "function") {
      this.#raw = null;
      this.#reopening = next.then(
        (r) => {
          this.#raw = r;
          this.#reopening = null;
        },
        (e) => {
          this.#broken = e;
          this.#reopening = null;
        },
      );
    } else {
      this.#raw = next;
    }
  }
}

// The smallest module using a tail call (`return_call`): the runtime is built with them.
const TAIL_CALL_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 6, 1, 4, 0, 18, 0, 11]);

/** Throws a clear error where the JavaScript engine cannot run the runtime's wasm. */
function requireTailCalls() {
  if (typeof WebAssembly !== "object" || !WebAssembly.validate(TAIL_CALL_PROBE)) {
    throw pluginError(
      "runtimeUnsupported",
      "this JavaScript engine does not support WebAssembly tail calls, which plugboard's runtime uses (Chrome/Edge >= 112, Firefox >= 121, Safari >= 18.2, Node >= 20, Deno, workerd)",
    );
  }
}

/**
 * Initialises the runtime (the web build; Node's entry has already). `input` says where the
 * runtime's wasm is: a URL or path, a `Response`, bytes or a `WebAssembly.Module`; without it
 * the wasm is fetched from next to this module, which a bundler that moves the module without
 * the wasm breaks: then the error says how to pass the wasm's URL.
 */
export default async function init(input) {
  requireTailCalls();
  if (typeof raw.default !== "function") return;
  // Fetched (no input, a URL, a path, a Response), as opposed to bytes or a compiled module.
  const fetched = !(input instanceof ArrayBuffer || ArrayBuffer.isView(input) || input instanceof WebAssembly.Module);
  try {
    // One object argument: wasm-bindgen warns about the positional form.
    return await raw.default(input === undefined || (typeof input === "object" && "module_or_path" in input) ? input : { module_or_path: input });
  } catch (e) {
    // Not found, not served (an HTML fallback page, a 404) or not fetchable; a LinkError or a
    // trap would be a runtime that does not match this JavaScript, and stays as it is.
    if (!fetched || !isNotTheRuntime(e)) throw e;
    const where = input === undefined ? "next to plugboard's web/index.js" : `at ${String(input?.module_or_path ?? input?.url ?? input)}`;
    throw pluginError(
      "runtimeNotFound",
      `plugboard's runtime (plugboard_bg.wasm) could not be loaded from ${where}: ${e.message}. ` +
        "A bundler that moves the package's JavaScript without its wasm causes this: pass the wasm's URL to init " +
        '(Vite: `import wasmUrl from "plugboard/plugboard_bg.wasm?url"; await init(wasmUrl)`; esbuild with ' +
        '`--loader:.wasm=file`: `import wasmUrl from "plugboard/plugboard_bg.wasm"`), or serve it as application/wasm',
      { cause: e },
    );
  }
}

/** Whether `e`, from instantiating the runtime, says it was given something else. */
function isNotTheRuntime(e) {
  return !(e instanceof PluginError || e instanceof WebAssembly.LinkError || e instanceof WebAssembly.RuntimeError);
}

/** Initialises the runtime synchronously from a compiled module or bytes (workers). */
export function initSync(input) {
  requireTailCalls();
  if (typeof raw.initSync !== "function") return;
  try {
    raw.initSync(input !== null && typeof input === "object" && "module" in input ? input : { module: input });
  } catch (e) {
    if (!isNotTheRuntime(e)) throw e;
    throw pluginError(
      "runtimeNotFound",
      `initSync was not given plugboard's runtime (the bytes or compiled module of plugboard_bg.wasm): ${e.message}`,
      { cause: e },
    );
  }
}

// For tests of crash recovery only (not part of the API): makes the runtime abort as a Rust
// panic does. Every plugin loses its state.
Object.defineProperty(PluginHost, Symbol.for("plugboard.abortForTesting"), {
  value: (message) => enter(() => raw.__abortForTesting(message)),
});
