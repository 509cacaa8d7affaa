// The Lua engine in V8, before and after a change: `node bench/lua-ab.mjs A B [processes]`
// where A and B are two builds of the npm package (directories holding `node/index.mjs`, e.g.
// copies of target/npm/plugboard made at two commits). Four Lua workloads (the side-by-side
// W1 perf loop, recursive calls, string building, pcall) run 25 timed times after 5 warm-ups in one
// process per build, builds alternating, `processes` (default 6) each. This machine's noise
// moves one process's times by up to 1.5x; the minimum of each process's minimum is the figure
// compared, and B/A is printed per workload.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const WORKLOADS = {
  sum: 1_000_000,
  fib: 24,
  str: 50_000,
  pcall: 200_000,
};
const LUA = `function sum(n) local s = 0.0 for i = 1, n do s = s + i end return s end
function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
function str(n) local t = {} for i = 1, n do t[#t + 1] = ("x"):rep(3) .. i end return #table.concat(t) end
local function one(x) return x end
function pcall_(n) local s = 0 for i = 1, n do local _, v = pcall(one, i) s = s + v end return s end`;

if (process.argv[2] === "--child") {
  const { PluginHost } = await import(pathToFileURL(resolve(process.argv[3], "node/index.mjs")));
  const host = new PluginHost({ fuel: 1_000_000_000 });
  const p = await host.loadLua("bench", LUA);
  const out = {};
  for (const [name, arg] of Object.entries(WORKLOADS)) {
    const times = [];
    for (let i = 0; i < 30; i++) {
      const start = performance.now();
      await p.call(name === "pcall" ? "pcall_" : name, arg);
      if (i >= 5) times.push(performance.now() - start);
    }
    out[name] = Math.min(...times);
  }
  host.close();
  console.log(JSON.stringify(out));
} else {
  const [a, b] = process.argv.slice(2, 4);
  const processes = Number(process.argv[4] ?? 6);
  if (!a || !b) {
    console.error("usage: node bench/lua-ab.mjs PACKAGE_DIR_A PACKAGE_DIR_B [processes]");
    process.exit(2);
  }
  const best = { a: {}, b: {} };
  for (let i = 0; i < processes; i++) {
    for (const [key, dir] of [["a", a], ["b", b]]) {
      const run = spawnSync(process.execPath, [process.argv[1], "--child", dir], { encoding: "utf8" });
      if (run.status !== 0) throw new Error(`${dir}: ${run.stderr}`);
      const times = JSON.parse(run.stdout);
      for (const [name, ms] of Object.entries(times)) best[key][name] = Math.min(best[key][name] ?? Infinity, ms);
    }
  }
  console.log("| workload | A | B | B/A |\n|---|---|---|---|");
  for (const name of Object.keys(WORKLOADS)) {
    const [ta, tb] = [best.a[name], best.b[name]];
    console.log(`| ${name} | ${ta.toFixed(1)} ms | ${tb.toFixed(1)} ms | ${(tb / ta).toFixed(3)} |`);
  }
}
