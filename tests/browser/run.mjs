// Serves the package (target/npm/plugboard at /pkg), the plugin fixtures (target/plugins at
// /fixtures) and tests/browser on 127.0.0.1, opens the test page in Debian's Chromium through
// playwright-core, prints each case and "N passed, N failed". Exit code 1 on failure.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = fileURLToPath(new URL("../../", import.meta.url));
const require = createRequire(join(root, "crates/web/js/package.json"));
const { chromium } = require("playwright-core");
const types = { ".js": "text/javascript", ".mjs": "text/javascript", ".html": "text/html", ".wasm": "application/wasm" };
const mounts = [["/pkg/", "target/npm/plugboard/"], ["/fixtures/", "target/plugins/"], ["/", "tests/browser/"]];

const server = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  if (path.startsWith("/echo/")) return res.end(path.slice("/echo/".length));
  const [prefix, dir] = mounts.find(([p]) => path.startsWith(p));
  const rel = normalize(path.slice(prefix.length) || "index.html");
  if (rel.startsWith("..")) return res.writeHead(403).end();
  try {
    const body = await readFile(join(root, dir, rel));
    res.writeHead(200, { "content-type": types[extname(rel)] ?? "application/octet-stream" }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
});
let passed = 0;
let failed = 0;
try {
  const page = await browser.newPage();
  const external = [];
  page.on("request", (r) => { if (!r.url().startsWith(url)) external.push(r.url()); });
  page.on("pageerror", (e) => console.log(`[page error] ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(() => Array.isArray(window.results), null, { timeout: 120_000 });
  for (const r of await page.evaluate(() => window.results)) {
    console.log(`${r.ok ? "ok" : "not ok"} - chromium: ${r.name}${r.ok ? "" : `\n  ${r.error}`}`);
    r.ok ? passed++ : failed++;
  }
  if (external.length) {
    console.log(`not ok - the page made requests off 127.0.0.1: ${external.join(", ")}`);
    failed++;
  }
} catch (e) {
  console.log(`not ok - chromium: the page did not finish: ${e.message}`);
  failed++;
} finally {
  await browser.close();
  server.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
