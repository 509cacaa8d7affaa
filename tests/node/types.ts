// Type-checked with tsc against the package's declarations (scripts/test.sh): the README's
// usage must compile under `strict`, and misuse must not.
import init, { PluginHost, Plugin, PluginError, PluginBytes, type ErrorKind, type LogEvent } from "plugboard";
import * as pkg from "plugboard";

/** Every kind, handled: adding a kind to the union without a case here fails to compile. */
function describe(kind: ErrorKind): string {
  switch (kind) {
    case "invalidModule": case "moduleTooLarge": case "missingExport": case "signatureMismatch":
    case "linkError": case "abiDetection": case "interface": case "manifest": case "luaSyntax":
      return "the plugin does not load";
    case "unknownFunction": case "encode": case "decode": case "inputTooLarge": case "outputTooLarge":
    case "invalidOption":
      return "the call is wrong";
    case "outOfFuel": case "memoryLimit": case "stackOverflow": case "timeout": case "reentrancyLimit":
    case "resourceLimit":
      return "a limit";
    case "trap": case "abiViolation": case "exit": case "callFailed": case "luaError": case "enginePanic":
      return "the plugin failed";
    case "hostFunction": case "capabilityDenied": case "peer":
      return "the host side";
    case "busy": case "noCallInFlight": case "cancelled": case "closed":
      return "the call's state";
    case "runtimeCrashed": case "runtimeUnsupported": case "runtimeNotFound":
      return "the runtime";
    default: {
      const unhandled: never = kind;
      return unhandled;
    }
  }
}

async function main(bytes: Uint8Array): Promise<number> {
  await init();
  const host = new PluginHost({ fuel: 50_000_000, memoryBytes: 16 << 20 });
  host.define("math", "add", (a: number, b: number) => a + b, { params: ["f64", "f64"], returns: "f64" });
  host.define("net", "get", async (url: string) => (await fetch(url)).text());
  // Host functions may return nothing, synchronously or not.
  host.define("log", "say", (msg: string) => {
    console.log(msg);
  });
  host.define("time", "sleep", (ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  // Extism plugins hand bytes: in to host functions, out of calls.
  host.define("extism:host/user", "shout", (b: PluginBytes) => b.text().toUpperCase());
  const kitchen = await host.loadManifest({ wasm: [{ data: bytes }] }, { name: "k", logLevel: "debug" });
  const out = await kitchen.call<PluginBytes>("count_vowels", "hello");
  const report: { count: number } = out.json();
  const raw: Uint8Array = out.bytes();
  console.log(out.text(), report.count, raw.length);
  new PluginHost({ logLevel: "trace" });
  host.onLog((e: LogEvent) => console.log(e.plugin, e.stream, e.message));
  const lua: Plugin = await host.loadLua("jetson", { "main.lua": "function init() end" });
  await lua.call("init");
  const p = await host.loadWasm(bytes, { name: "p", abi: "buffer", fuel: 1000 });
  const doubled = await p.call<number[]>("double", [1.5, 2.5]);
  const sum: number = p.callSync<number>("add", [2, 3]);
  const ac = new AbortController();
  try {
    await p.call("sum", 1e9, { signal: ac.signal, signature: "(u64) -> u64" });
  } catch (e) {
    if (e instanceof PluginError) {
      const kind: ErrorKind = e.kind;
      console.log(describe(kind), e.message, e.budget, e.cause, e.code, e.exports, e.option);
    }
  }
  host.expose(p);
  host.setLuaVm(lua);
  const results: Record<string, unknown> = await host.lifecycle("update", 1);
  console.log(p.abi, p.exports[0]?.signature, p.fuelConsumed, results);
  p[Symbol.dispose]();
  host.close();
  // @ts-expect-error: an ABI the package does not have
  await host.loadWasm(bytes, { abi: "wasi" });
  // @ts-expect-error: a host function must be a function
  host.define("x", "y", 42);
  // @ts-expect-error: no such log level
  new PluginHost({ logLevel: "loud" });
  // @ts-expect-error: the crash-recovery test hook is not part of the API
  pkg.__abortForTesting("x");
  return doubled.length + sum;
}

export { main };
