#!/usr/bin/env node
// Serves the demo page on 127.0.0.1: www/ at /, the built npm package (target/npm/plugboard)
// at /pkg/, plugin builds (target/plugins) at /plugins/, Lua plugin sources (plugins/lua) at
// /plugins/lua/ and the nvim examples' Lua VM (plugins/zig/vm.lua) at /plugins/zig/src/.
// Usage: node scripts/serve.mjs [port] (default 8080; 0 picks a free one). Also imported by the
// browser tests and the Chromium benchmark (`serve` with other mounts, `launchChromium`).
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = fileURLToPath(new URL("../", import.meta.url));
const types = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
  ".css": "text/css", ".wasm": "application/wasm", ".lua": "text/plain; charset=utf-8",
  ".json": "application/json", ".svg": "image/svg+xml",
};
/** The demo page's mounts: URL prefix → folder of the repository. */
export const DEMO_MOUNTS = [
  ["/pkg/", "target/npm/plugboard/"],
  ["/plugins/lua/", "plugins/lua/"],
  ["/plugins/zig/src/", "plugins/zig/"],
  ["/plugins/", "target/plugins/"],
  ["/", "www/"],
];

/**
 * A static server on 127.0.0.1 for `mounts` (the first prefix that matches wins; "/" last).
 * `handle(path, res)` may answer a request first (return true); `headers` go on every file
 * served (e.g. COOP/COEP for a cross-origin-isolated page). Resolves to the server.
 */
export function serve(port = 8080, mounts = DEMO_MOUNTS, handle = () => false, headers = {}) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://localhost").pathname);
    if (handle(path, res)) return;
    const [prefix, dir] = mounts.find(([p]) => path.startsWith(p)) ?? ["/", "www/"];
    const rel = normalize(path.slice(prefix.length) || "index.html");
    if (rel.startsWith("..") || rel.includes("\0")) return res.writeHead(403).end();
    try {
      const body = await readFile(join(root, dir, rel));
      res.writeHead(200, { "content-type": types[extname(rel)] ?? "application/octet-stream", "cache-control": "no-store", ...headers });
      res.end(body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

/** Debian's Chromium, headless, through playwright-core (installed in crates/web/js). */
export async function launchChromium() {
  const { chromium } = createRequire(join(root, "crates/web/js/package.json"))("playwright-core");
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number(process.argv[2] ?? process.env.PORT ?? 8080);
  const server = await serve(port);
  console.log(`plugboard demo: http://127.0.0.1:${server.address().port}/  (Ctrl-C to stop)`);
}
