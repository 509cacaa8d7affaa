// The npm package bundled as a user bundles it, each result run in Debian's Chromium: Vite's dev
// server and `vite build`, and esbuild. The package is installed from its `npm pack` tarball
// (not linked: Vite pre-bundles installed dependencies only) into a fresh project per case, whose
// page initialises the runtime, loads a Lua plugin and calls it. Vite (dev server and build)
// needs no configuration; esbuild leaves the wasm behind, where `init()` must reject with
// `runtimeNotFound` saying how to pass the wasm's URL, and that way must work. Prints each case and "N passed, N failed".
// Run by scripts/test.sh after scripts/build-npm.mjs.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { launchChromium, serve } from "../../scripts/serve.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = fileURLToPath(new URL("../../", import.meta.url));
const work = join(root, "target/bundlers");
const vite = await import(pathToFileURL(join(here, "node_modules/vite/dist/node/index.js")).href);
const esbuild = (await import(pathToFileURL(join(here, "node_modules/esbuild/lib/main.js")).href)).default;

// The package as npm would install it.
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
execFileSync("npm", ["pack", "--pack-destination", work, "--loglevel=error"], { cwd: join(root, "target/npm/plugboard"), stdio: ["ignore", "ignore", "inherit"] });
const tarball = join(work, readdirSync(work).find((f) => f.endsWith(".tgz")));

// The page's code: `start` initialises the runtime as the case says.
const APP = `import init, { initSync, PluginHost } from "plugboard";
__IMPORT__
const out = {};
try {
  await __START__;
  const host = new PluginHost();
  const plugin = await host.loadLua("hello", "function hi(who) return 'hi ' .. who .. ' from ' .. _VERSION end");
  out.value = await plugin.call("hi", "bundler");
} catch (e) {
  out.error = { name: e.name, kind: e.kind, message: e.message };
}
document.body.dataset.result = JSON.stringify(out);
`;
const HTML = (script) => `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>bundled</title></head><body><script type="module" src="${script}"></script></body></html>\n`;
const RECIPES = {
  // init() with no argument: the wasm next to the package's module.
  default: { import: "", start: "init()" },
  // The documented way when a bundler moves the module: the bundler's URL of the wasm export.
  vite: { import: 'import wasmUrl from "plugboard/plugboard_bg.wasm?url";', start: "init(wasmUrl)" },
  esbuild: { import: 'import wasmUrl from "plugboard/plugboard_bg.wasm";', start: "init(wasmUrl)" },
  // Bad input: bytes that are not the runtime.
  wrongBytes: { import: "", start: "initSync(new Uint8Array([1, 2, 3]))" },
};

function project(name, recipe) {
  const dir = join(work, name);
  const pkg = join(dir, "node_modules/plugboard");
  mkdirSync(pkg, { recursive: true });
  execFileSync("tar", ["-xzf", tarball, "-C", pkg, "--strip-components=1"]);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: `bundled-${name}`, private: true, type: "module" }) + "\n");
  writeFileSync(join(dir, "main.js"), APP.replace("__IMPORT__", RECIPES[recipe].import).replace("__START__", RECIPES[recipe].start));
  writeFileSync(join(dir, "index.html"), HTML("/main.js"));
  return dir;
}

const viteConfig = (dir) => ({ root: dir, configFile: false, logLevel: "error", cacheDir: join(dir, ".vite"), clearScreen: false });

async function viteDev(dir) {
  const server = await vite.createServer({ ...viteConfig(dir), server: { host: "127.0.0.1", port: 0, strictPort: false } });
  await server.listen();
  return { url: server.resolvedUrls.local[0], close: () => server.close() };
}

async function staticServer(dist) {
  const server = await serve(0, [["/", relative(root, dist) + "/"]]);
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() };
}

async function viteBuild(dir) {
  await vite.build({ ...viteConfig(dir), build: { outDir: join(dir, "dist"), emptyOutDir: true } });
  return staticServer(join(dir, "dist"));
}

async function esbuildBundle(dir) {
  const dist = join(dir, "dist");
  await esbuild.build({ absWorkingDir: dir, entryPoints: ["main.js"], bundle: true, format: "esm", outdir: dist, loader: { ".wasm": "file" }, logLevel: "error" });
  writeFileSync(join(dist, "index.html"), HTML("/main.js"));
  return staticServer(dist);
}

const works = (r) => {
  if (r.value !== `hi bundler from Lua 5.4`) throw new Error(`the plugin did not answer: ${JSON.stringify(r)}`);
};
const saysHow = (r) => {
  if (r.error?.kind !== "runtimeNotFound" || !/pass the wasm's URL to init/.test(r.error.message)) {
    throw new Error(`expected a runtimeNotFound error that says how to fix it: ${JSON.stringify(r)}`);
  }
};
const cases = [
  ["vite dev server, init(wasmUrl) from `?url`", "vite", viteDev, works],
  ["vite dev server, init() with no configuration", "default", viteDev, works],
  ["vite build, init()", "default", viteBuild, works],
  ["vite build, init(wasmUrl) from `?url`", "vite", viteBuild, works],
  ["esbuild, init(wasmUrl) with --loader:.wasm=file", "esbuild", esbuildBundle, works],
  ["esbuild, init() where esbuild left the wasm behind: a clear error", "default", esbuildBundle, saysHow],
  ["initSync with bytes that are not the runtime: runtimeNotFound, with the cause", "wrongBytes", esbuildBundle, (r) => {
    if (r.error?.kind !== "runtimeNotFound" || !/initSync was not given plugboard's runtime/.test(r.error.message)) {
      throw new Error(`expected runtimeNotFound from initSync: ${JSON.stringify(r)}`);
    }
  }],
];

const browser = await launchChromium();
let passed = 0;
let failed = 0;
try {
  for (const [i, [name, recipe, start, expect]] of cases.entries()) {
    let server;
    const problems = [];
    try {
      server = await start(project(`case${i}-${recipe}`, recipe));
      const page = await browser.newPage();
      page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
      await page.goto(server.url);
      await page.waitForSelector("body[data-result]", { state: "attached", timeout: 60_000 });
      const result = JSON.parse(await page.getAttribute("body", "data-result"));
      await page.close();
      expect(result);
      if (problems.length) throw new Error(problems.join("; "));
      passed++;
      console.log(`ok - ${name}${result.error ? ` (${result.error.kind})` : ""}`);
    } catch (e) {
      failed++;
      console.log(`not ok - ${name}\n  ${String(e.stack ?? e).split("\n").slice(0, 4).join("\n  ")}`);
    } finally {
      await server?.close();
    }
  }
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
