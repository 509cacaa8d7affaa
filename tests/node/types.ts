// Type-checked with tsc against the package's declarations (scripts/test.sh): the README's
// usage must compile under `strict`, and misuse must not.
import init, { PluginHost, Plugin, type PluginError, type ErrorKind, type LogEvent } from "plugboard";

async function main(bytes: Uint8Array): Promise<number> {
  await init();
  const host = new PluginHost({ fuel: 50_000_000, memoryBytes: 16 << 20 });
  host.define("math", "add", (a: number, b: number) => a + b, { params: ["f64", "f64"], returns: "f64" });
  host.define("net", "get", async (url: string) => (await fetch(url)).text());
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
    const err = e as PluginError;
    const kind: ErrorKind = err.kind;
    if (kind === "outOfFuel" || kind === "runtimeCrashed") console.log(err.message, err.budget);
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
  return doubled.length + sum;
}

export { main };
