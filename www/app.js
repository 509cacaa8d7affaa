// The demo page: the performance loop in every engine, and a plugin playground. Uses the npm
// package as a web app would (`/pkg/web/index.js`, served from target/npm/plugboard).
import init, { PluginHost } from "/pkg/web/index.js";

const $ = (id) => document.getElementById(id);
const fmtMs = (ms) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(0)) + " ms";
const status = (text, cls = "") => {
  $("status").textContent = text;
  $("status").className = cls;
};
const fetchBytes = async (path) => {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
};
const fetchText = async (path) => new TextDecoder().decode(await fetchBytes(path));

// A counter the event loop advances: it keeps moving while plugboard computes.
let ticks = 0;
setInterval(() => ($("ticks").textContent = String(++ticks)), 50);

await init();
const RUST_PERF = "/plugins/wasm32-wasip1/release/perf.wasm";
const ZIG_PERF = "/plugins/zig/perf.wasm";
const [rustBytes, zigBytes, luaPerf] = await Promise.all([
  fetchBytes(RUST_PERF),
  fetchBytes(ZIG_PERF),
  fetchText("/plugins/lua/perf/main.lua"),
]);

// ------------------------------------------------------------------ the performance loop

const host = new PluginHost({ fuel: 5_000_000_000, fuelSlice: 1_000_000 });
const rust = await host.loadWasm(rustBytes, { name: "rust-perf" });
const zig = await host.loadWasm(zigBytes, { name: "zig-perf" });
const lua = await host.loadLua("lua-perf", luaPerf);

/** The same plugin .wasm run by the browser's own WebAssembly: the buffer ABI by hand. */
async function nativeRust() {
  const stubs = {};
  for (const imp of WebAssembly.Module.imports(await WebAssembly.compile(rustBytes))) {
    if (imp.kind === "function") (stubs[imp.module] ??= {})[imp.name] = () => 0;
  }
  const { instance } = await WebAssembly.instantiate(rustBytes, stubs);
  const e = instance.exports;
  return (n) => {
    const ptr = e.__alloc_buffer(8);
    new DataView(e.memory.buffer).setBigUint64(ptr, BigInt(n), true);
    const packed = e.__sum((BigInt(ptr) << 32n) | 8n);
    const out = Number(packed >> 32n);
    return Number(new DataView(e.memory.buffer).getBigUint64(out, true));
  };
}

/** The Zig plugin by the browser's WebAssembly: a minimal host of wasm_nvim's value ids. */
async function nativeZig() {
  const values = new Map();
  let next = 1;
  let e;
  const mem = () => new Uint8Array(e.memory.buffer);
  const host = {
    get_id: () => next++,
    get_addr: (p) => p,
    set_value: (id, ptr, len) => {
      values.set(id, mem().slice(ptr, ptr + len));
      e.dealloc(ptr, len);
    },
    get_value_size: (id) => values.get(id).length,
    get_value_addr: (id) => {
      const v = values.get(id);
      const p = e.alloc(v.length);
      mem().set(v, p);
      values.delete(id);
      return p;
    },
  };
  const { instance } = await WebAssembly.instantiate(zigBytes, { host, wasi_snapshot_preview1: { fd_write: () => 0 } });
  e = instance.exports;
  return (n) => {
    const text = new TextEncoder().encode(String(n));
    const id = next++;
    values.set(id, text);
    const out = e.for_loop(id);
    const v = new TextDecoder().decode(values.get(out));
    values.delete(out);
    return Number(v);
  };
}

const plainJs = (n) => {
  let s = 0;
  for (let i = 1; i <= n; i++) s += i;
  return s;
};

const engines = [
  { name: "plugboard · Rust plugin (wasm, buffer ABI)", run: (n, signal) => rust.call("sum", n, { signal }), fuel: () => rust.fuelConsumed },
  { name: "plugboard · Zig plugin (wasm, nvim ABI)", run: (n, signal) => zig.call("for_loop", n, { signal }), fuel: () => zig.fuelConsumed },
  { name: "plugboard · Lua plugin (piccolo)", run: (n, signal) => lua.call("sum", n, { signal }), fuel: () => lua.fuelConsumed },
  { name: "reference · plain JavaScript", run: async (n) => plainJs(n) },
  { name: "reference · browser WebAssembly (same Rust .wasm)", run: await nativeRust().then((f) => async (n) => f(n)) },
  { name: "reference · browser WebAssembly (same Zig .wasm)", run: await nativeZig().then((f) => async (n) => f(n)) },
];

let controller = null;

function drawChart(rows) {
  const svg = $("chart");
  const done = rows.filter((r) => typeof r.ms === "number");
  const max = Math.max(1e-3, ...done.map((r) => r.ms));
  const barH = 26;
  const left = 350;
  const width = 720 - left - 70;
  svg.setAttribute("height", String(done.length * (barH + 8) + 10));
  svg.replaceChildren(
    ...done.flatMap((r, i) => {
      const y = 5 + i * (barH + 8);
      const w = Math.max(2, (r.ms / max) * width);
      const mk = (tag, attrs, text) => {
        const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
        for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
        if (text) el.textContent = text;
        return el;
      };
      return [
        mk("text", { x: 0, y: y + 18, "font-size": 12 }, r.name),
        mk("rect", { x: left, y, width: w, height: barH, fill: r.name.startsWith("plugboard") ? "#2c5fd6" : "#98a2b3", rx: 3 }),
        mk("text", { x: left + w + 6, y: y + 18, "font-size": 12 }, fmtMs(r.ms)),
      ];
    }),
  );
}

async function runLoop(n) {
  const tbody = $("results").querySelector("tbody");
  const rows = engines.map((e) => ({ name: e.name, result: "", ms: null, fuel: "" }));
  const render = () => {
    tbody.replaceChildren(
      ...rows.map((r) => {
        const tr = document.createElement("tr");
        tr.dataset.engine = r.name;
        for (const v of [r.name, r.result, r.ms == null ? "" : fmtMs(r.ms), r.fuel]) {
          const td = document.createElement("td");
          td.textContent = v;
          tr.append(td);
        }
        if (r.error) tr.className = "error";
        return tr;
      }),
    );
  };
  render();
  controller = new AbortController();
  $("run").disabled = true;
  $("stop").disabled = false;
  $("check").textContent = "";
  $("check").className = "";
  const progress = $("progress");
  progress.className = "running";
  const started = performance.now();
  const clock = setInterval(() => (progress.textContent = `running… ${fmtMs(performance.now() - started)}`), 100);
  try {
    for (const [i, e] of engines.entries()) {
      if (controller.signal.aborted) break;
      progress.textContent = `running ${e.name}…`;
      const t0 = performance.now();
      try {
        const v = await e.run(n, controller.signal);
        rows[i].ms = performance.now() - t0;
        rows[i].result = String(v);
        rows[i].fuel = e.fuel ? e.fuel().toLocaleString("en") : "—";
      } catch (err) {
        rows[i].result = err.kind ? `${err.kind}: ${err.message}` : String(err);
        rows[i].error = true;
      }
      render();
      drawChart(rows);
    }
  } finally {
    clearInterval(clock);
    progress.className = "";
    $("run").disabled = false;
    $("stop").disabled = true;
  }
  const expected = (BigInt(n) * BigInt(n + 1)) / 2n;
  const finished = rows.filter((r) => !r.error && r.result !== "");
  // Plain JS and the browser's Number results are exact below 2^53.
  const allEqual = finished.length === rows.length && finished.every((r) => r.result === String(expected));
  if (controller.signal.aborted) {
    for (const r of rows) if (r.result === "" && !r.error) r.result = "not run: stopped";
    render();
    progress.textContent = "stopped";
    $("check").textContent = "Stopped: the call was cancelled between fuel slices.";
  } else {
    progress.textContent = "done";
    $("check").textContent = allEqual
      ? `All ${rows.length} engines agree: ${expected}.`
      : `Engines disagree (expected ${expected}).`;
    $("check").className = allEqual ? "ok" : "error";
  }
  $("check").dataset.result = allEqual ? "equal" : controller.signal.aborted ? "stopped" : "mismatch";
}

$("loop-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const n = Number($("n").value);
  if (!Number.isInteger(n) || n < 1) return;
  runLoop(n);
});
$("stop").addEventListener("click", () => controller?.abort());

// ------------------------------------------------------------------ the playground

const ZIG_EXAMPLES = "/plugins/zig/nvim_examples.wasm";
const EXTISM_KITCHEN = "/plugins/wasm32-unknown-unknown/release/extism_kitchen.wasm";
// Each example names the function the Call button runs first and the input it starts with.
const examples = [
  { label: "Rust · double (buffer ABI)", wasm: "/plugins/wasm32-wasip1/release/double.wasm", fn: "double", input: [1.5, 2.5] },
  { label: "Rust · perf (buffer ABI)", wasm: RUST_PERF, fn: "count_primes", input: 10000 },
  { label: "Zig · wasm_nvim examples (nvim ABI)", wasm: ZIG_EXAMPLES, fn: "returning", input: null },
  { label: "Zig · wasm_nvim runs Lua (lua_eval in the designated Lua VM)", wasm: ZIG_EXAMPLES, fn: "luaEvalExample", input: null },
  { label: "Zig · wasm_nvim calls a JS host function (host.add)", wasm: ZIG_EXAMPLES, fn: "hostAdd", input: [2, 3] },
  { label: "Zig · perf (nvim ABI)", wasm: ZIG_PERF, fn: "primes", input: 10000 },
  { label: "Extism · kitchen (extism-pdk, kernel ABI)", wasm: EXTISM_KITCHEN, fn: "count_vowels", input: "hello plugboard" },
  { label: "Extism · kitchen calls JS host functions (extism:host/user)", wasm: EXTISM_KITCHEN, fn: "call_host", input: "hi" },
  { label: "Lua · report (a plugin folder with modules)", lua: { name: "report", files: ["main.lua", "text.lua"] }, fn: "report", input: "the cat and the hat and the bat" },
  { label: "Lua · perf", lua: { name: "perf", files: ["main.lua"] }, fn: "sum", input: 100 },
];
const pgHost = new PluginHost({ fuel: 200_000_000 });
// Extism plugins' host functions live in `extism:host/user` and receive the plugin's bytes
// (PluginBytes: .text(), .json()); a string reply is sent as UTF-8, an object as JSON.
pgHost.define("extism:host/user", "shout", (bytes) => bytes.text().toUpperCase());
pgHost.define("extism:host/user", "add", (bytes) => {
  const { a, b } = bytes.json();
  return { sum: a + b };
});
// The nvim ABI's host functions receive decoded JSON values, one per argument.
pgHost.define("host", "add", (a, b) => a + b);
pgHost.onLog(({ plugin, stream, message }) => {
  $("logs").textContent += `[${plugin} ${stream}] ${message}${message.endsWith("\n") ? "" : "\n"}`;
});
// wasm_nvim's lua_exec/lua_eval run in a Lua plugin the host designates as its VM.
pgHost.setLuaVm(await pgHost.loadLua("vm", await fetchText("/plugins/zig/src/vm.lua")));
let current = null;

for (const [i, ex] of examples.entries()) {
  const opt = document.createElement("option");
  opt.value = String(i);
  opt.textContent = ex.label;
  $("example").append(opt);
}

/** Forgets the current plugin: its exports, its Call button, its last output and usage. */
function forget() {
  current?.close();
  current = null;
  $("exports").replaceChildren();
  $("function").replaceChildren();
  $("call").disabled = true;
  $("output").textContent = "";
  $("output").className = "";
  $("usage").textContent = "";
  $("plugin-info").textContent = "loading…";
  $("plugin-info").className = "";
  delete $("plugin-info").dataset.abi;
  delete $("plugin-info").dataset.state;
}

function show(plugin, input, fn) {
  current = plugin;
  $("plugin-info").textContent = `${plugin.name}: ABI ${plugin.abi}, ${plugin.exports.length} functions`;
  $("plugin-info").className = "";
  $("plugin-info").dataset.abi = plugin.abi;
  $("plugin-info").dataset.state = "loaded";
  $("exports").replaceChildren(
    ...plugin.exports.map((e) => {
      const li = document.createElement("li");
      const code = document.createElement("code");
      code.textContent = e.name + (e.signature ?? "");
      li.append(code);
      return li;
    }),
  );
  $("function").replaceChildren(
    ...plugin.exports.map((e) => {
      const o = document.createElement("option");
      o.value = o.textContent = e.name;
      return o;
    }),
  );
  if (fn) $("function").value = fn;
  $("input").value = JSON.stringify(input ?? null);
  $("call").disabled = false;
}

function showError(where, err) {
  $(where).textContent = err && err.kind ? `PluginError [${err.kind}]: ${err.message}` : String(err);
  $(where).className = "error";
}

function loadFailed(err) {
  showError("plugin-info", err);
  $("plugin-info").dataset.state = "failed";
}

/** What a call returned, for the output box: Extism's bytes as text, other values as JSON. */
function display(out) {
  if (typeof out === "string") return out;
  if (out && typeof out.text === "function") return out.text();
  return JSON.stringify(out, (k, v) => (typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? [...v] : v), 2);
}

async function loadExample(i) {
  const ex = examples[i];
  forget();
  try {
    if (ex.wasm) {
      show(await pgHost.loadWasm(await fetchBytes(ex.wasm), { name: ex.label.split(" · ")[1].split(" ")[0] }), ex.input, ex.fn);
    } else {
      const files = {};
      for (const f of ex.lua.files) files[f] = await fetchText(`/plugins/lua/${ex.lua.name}/${f}`);
      show(await pgHost.loadLua(ex.lua.name, files), ex.input, ex.fn);
    }
  } catch (err) {
    loadFailed(err);
  }
}

$("example").addEventListener("change", () => loadExample(Number($("example").value)));

$("upload").addEventListener("change", async () => {
  const files = [...$("upload").files];
  if (!files.length) return;
  forget();
  try {
    const first = files[0];
    if (first.name.endsWith(".wasm")) {
      show(await pgHost.loadWasm(new Uint8Array(await first.arrayBuffer()), { name: first.name.replace(/\.wasm$/, ""), stubMissingImports: true }));
    } else if (first.name.endsWith(".json")) {
      show(await pgHost.loadManifest(await first.text()));
    } else {
      const sources = {};
      for (const f of files) sources[f.name] = await f.text();
      if (!sources["main.lua"]) sources["main.lua"] = sources[first.name];
      show(await pgHost.loadLua(first.name.replace(/\.lua$/, ""), sources));
    }
  } catch (err) {
    loadFailed(err);
  }
});

$("call-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (!current) return;
  const plugin = current;
  $("usage").textContent = "";
  let input;
  try {
    input = JSON.parse($("input").value || "null");
  } catch (err) {
    showError("output", `the input is not JSON: ${err.message}`);
    $("output").dataset.done = "error";
    return;
  }
  $("output").className = "";
  $("output").textContent = "…";
  try {
    $("output").textContent = display(await plugin.call($("function").value, input));
    $("output").dataset.done = "ok";
  } catch (err) {
    showError("output", err);
    $("output").dataset.done = "error";
  }
  if (plugin === current && !plugin.closed) {
    try {
      $("usage").textContent = `fuel used: ${plugin.fuelConsumed.toLocaleString("en")} · memory: ${(plugin.memoryBytes / 1024).toFixed(0)} KiB`;
    } catch (err) {
      $("usage").textContent = `usage unavailable: ${err.message}`;
    }
  }
});

await loadExample(0);
status("ready", "ok");
$("run").disabled = false;
document.body.dataset.ready = "true";
