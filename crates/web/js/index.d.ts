// TypeScript declarations of the npm package `plugboard`.

/** Limits every plugin of a host runs under (each may be overridden per plugin). */
export interface Limits {
  /** Total fuel one call may use (about one unit per wasm instruction). Default 100,000,000. */
  fuel?: number;
  /** Fuel per slice: a call yields to the event loop after this much. Default 1,000,000. */
  fuelSlice?: number;
  /** Fuel for instantiation (and a Lua plugin's main chunk). */
  instantiateFuel?: number;
  /** Cap on a plugin's memory, in bytes. Default 16 MiB. */
  memoryBytes?: number;
  /** Cap on plugin → host → plugin nesting. Default 8. */
  maxReentrancy?: number;
  maxModuleBytes?: number;
  maxInputBytes?: number;
  maxOutputBytes?: number;
  maxLogBytes?: number;
  /** Live value ids an nvim-ABI plugin may hold. Default 100,000. */
  maxHandles?: number;
}

/** The lowest level of an Extism plugin's log messages that reach `onLog`; "off" drops all. */
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "off";

export interface HostOptions extends Limits {
  /** Extism plugins' log level, unless a load says otherwise. Default "info". */
  logLevel?: LogLevel;
}

export type Abi = "buffer" | "kernel" | "idl" | "fixed" | "nvim" | "lua";

/** Every `kind` a PluginError can have. */
export type ErrorKind =
  | "invalidModule" | "moduleTooLarge" | "missingExport" | "signatureMismatch" | "linkError"
  | "abiDetection" | "unknownFunction" | "outOfFuel" | "memoryLimit" | "stackOverflow" | "trap"
  | "abiViolation" | "decode" | "encode" | "inputTooLarge" | "outputTooLarge" | "hostFunction"
  | "reentrancyLimit" | "busy" | "noCallInFlight" | "exit" | "callFailed" | "capabilityDenied"
  | "manifest" | "timeout" | "interface" | "luaSyntax" | "luaError" | "enginePanic"
  | "resourceLimit" | "peer" | "cancelled" | "runtimeCrashed"
  /** The plugin (or its host) was closed. */
  | "closed"
  /** An option is unknown or has a value it cannot take (`option` names it). */
  | "invalidOption"
  /** `init`: the JavaScript engine cannot run WebAssembly tail calls. */
  | "runtimeUnsupported"
  /** `init`/`initSync`: the runtime's wasm was not where `init` looked (a bundler left it behind) or not what `initSync` was given, `cause` says why. */
  | "runtimeNotFound";

/** What every rejection and throw of the package is (`err instanceof PluginError`). */
export class PluginError extends Error {
  constructor(message: string, kind?: ErrorKind);
  name: "PluginError";
  kind: ErrorKind;
  /** `hostFunction`: what the JS host function threw or rejected with. `cancelled`: the signal's `reason`. */
  cause?: unknown;
  /** `callFailed`: the Extism plugin's return code. */
  code?: number;
  /** `exit`: the WASI exit status. */
  status?: number;
  /** `unknownFunction`: the functions the plugin has. */
  exports?: string[];
  /** `invalidOption`: the option. */
  option?: string;
  /** The plugin the error concerns (Lua errors, `closed`). */
  plugin?: string;
  /** The Lua file and line of a syntax error. */
  file?: string;
  line?: number | null;
  /** The host function that failed. */
  namespace?: string;
  function?: string;
  /** The fuel budget that ran out. */
  budget?: number;
}

/**
 * Bytes an Extism plugin hands over: what an Extism call resolves to, and each argument an
 * Extism plugin passes to a host function (any other `Uint8Array` argument arrives as one too).
 */
export class PluginBytes extends Uint8Array {
  /** The bytes as a plain `Uint8Array` (the same memory). */
  bytes(): Uint8Array;
  /** The bytes decoded as UTF-8 (invalid sequences become U+FFFD). */
  text(): string;
  /** The text parsed as JSON (empty bytes: `null`); throws a SyntaxError if it is not JSON. */
  json(): any;
}

/** A value that crosses into a plugin: JSON-like, plus bytes and 64-bit integers as bigint. */
export type PluginValue =
  | null | undefined | boolean | number | bigint | string | Uint8Array
  | PluginValue[] | { [key: string]: PluginValue } | Map<PluginValue, PluginValue>;

/**
 * The types of a host function, for plugins whose wire format needs them (bincode), in the
 * signature language: Rust-like types (`u64`, `String`, `Vec<T>`, `Option<T>`, tuples, …), and
 * named structs and enums declared before the signature, e.g.
 * `"struct Doc { id: u64, tags: Vec<String> } (Doc) -> u64"`.
 */
export type Signature = string | { params: string[]; returns?: string };

export interface LogEvent {
  plugin: string;
  /** "stdout", "stderr", or a log level ("trace" … "error"). */
  stream: string;
  message: string;
}

export interface LoadOptions extends Limits {
  /** The plugin's name in logs and errors. */
  name?: string;
  /** Host-function namespaces the plugin may use (default: all). */
  allow?: string[];
}

export interface WasmOptions extends LoadOptions {
  /** Force an ABI instead of detecting it. */
  abi?: Exclude<Abi, "lua">;
  /** The `interface.d.ts` of an Extism JS-PDK core module. */
  interface?: string;
  /** Fixed-ABI plugins: keep one instance across calls. */
  keepInstance?: boolean;
  /** Link host functions this host lacks as stubs that fail when called. */
  stubMissingImports?: boolean;
  /** Extism plugins: their config (`config::get`). */
  config?: Record<string, string>;
  /** Extism plugins: hosts their HTTP requests may reach (globs such as "*.example.com"), made with fetch. */
  allowedHosts?: string[];
  /** Extism plugins: link WASI (as `wasi: true` in a manifest). */
  wasi?: boolean;
  /** Extism plugins: the lowest log level that reaches `onLog`. Default: the host's ("info"). */
  logLevel?: LogLevel;
}

export interface ManifestOptions {
  /** The plugin's name in logs and errors. Default "main". */
  name?: string;
  /** The lowest log level that reaches `onLog`. Default: the host's ("info"). */
  logLevel?: LogLevel;
}

export interface CallOptions {
  /** Cancels the call between fuel slices, or while it waits its turn (kind "cancelled"). */
  signal?: AbortSignal;
  /**
   * Types of a bincode plugin's function that embeds none, e.g. "(u32, String) -> u64"; named
   * structs and enums are declared first: "struct Doc { id: u64, tags: Vec<String> } (Doc) -> u64".
   */
  signature?: string;
}

export interface ExportInfo {
  name: string;
  /** e.g. "(u64) -> u64", or null when unknown. */
  signature: string | null;
}

export class Plugin implements Disposable {
  readonly name: string;
  readonly abi: Abi;
  readonly exports: ExportInfo[];
  readonly fuelConsumed: number;
  readonly memoryBytes: number;
  readonly closed: boolean;
  /**
   * Calls `fn` with one input value (Lua: an array is spread into the arguments; bincode ABIs:
   * an array for several parameters; Extism: a string as text, bytes as bytes, else JSON) and
   * resolves to the result — for Extism plugins ("kernel", "idl") the bytes they output, as
   * `PluginBytes` (`.text()`, `.json()`, `.bytes()`). Yields to the event loop between fuel
   * slices. Calls made while one runs wait their turn, first in, first out.
   *
   * Bincode `Option<T>`: `None` is `null` and `Some(x)` is `x` — except when `T` can itself be
   * `null` (`Option<()>`, `Option<Option<U>>`), where `Some(x)` is `[x]` both ways, so that
   * `Some(None)` (`[null]`) stays distinct from `None` (`null`).
   */
  call<T = any>(fn: string, input?: PluginValue, options?: CallOptions): Promise<T>;
  /** Runs the call to its end without yielding; async host functions fail it. */
  callSync<T = any>(fn: string, input?: PluginValue, options?: Omit<CallOptions, "signal">): T;
  close(): void;
  [Symbol.dispose](): void;
}

export class PluginHost implements Disposable {
  constructor(options?: HostOptions);
  /**
   * A host function for plugins loaded from now on; may return a Promise, and may return
   * nothing. Extism plugins import `extism:host/user::name`: define it in namespace
   * "extism:host/user" (or its one alias "env"); they pass each argument as `PluginBytes` and
   * take the reply as bytes (a string as its UTF-8 text, `Uint8Array` as is, nothing as no
   * bytes, anything else as JSON).
   */
  define(
    namespace: string,
    name: string,
    fn: (...args: any[]) => PluginValue | void | Promise<PluginValue | void>,
    signature?: Signature,
  ): void;
  onLog(listener: ((event: LogEvent) => void) | null): void;
  loadWasm(bytes: Uint8Array | ArrayBuffer | ArrayBufferView, options?: WasmOptions): Promise<Plugin>;
  /**
   * `main.lua` runs in fuel slices like a call, so it may await async host functions; `signal`
   * cancels the load between slices (kind "cancelled").
   */
  loadLua(
    name: string,
    files: string | Record<string, string | Uint8Array>,
    options?: Omit<LoadOptions, "name"> & { signal?: AbortSignal },
  ): Promise<Plugin>;
  /** An Extism manifest; `wasm[i].data` may be a `Uint8Array`, an array of bytes or base64. */
  loadManifest(manifest: string | object, options?: ManifestOptions): Promise<Plugin>;
  /** Lets this host's Lua plugins call `plugin` as `plugins.<name>.<function>(…)`. */
  expose(plugin: Plugin): void;
  /** The Lua plugin whose VM runs nvim plugins' `lua_exec`/`lua_eval`. */
  setLuaVm(plugin: Plugin): void;
  /** Calls `fn` on every Lua plugin that defines it, in name order. */
  lifecycle(fn: string, input?: PluginValue): Promise<Record<string, any>>;
  close(): void;
  [Symbol.dispose](): void;
}

/**
 * Loads the runtime: fetches plugboard_bg.wasm from next to the module, or from `input` (a URL,
 * a `Response`, bytes or a compiled module): pass the URL a bundler gives the package's
 * `plugboard/plugboard_bg.wasm` export. A no-op in Node, where importing the package loads it.
 */
export default function init(input?: RequestInfo | URL | Response | BufferSource | WebAssembly.Module | { module_or_path: any }): Promise<unknown>;
/** Loads the runtime from a compiled module or bytes (workers, workerd). */
export function initSync(input: BufferSource | WebAssembly.Module | { module: BufferSource | WebAssembly.Module }): void;
