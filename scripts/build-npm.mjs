#!/usr/bin/env node
// Builds the npm package `plugboard` as wasm-pack.toml describes: the wasm build of crates/web,
// wasm-bindgen's web target (with the instance-reset function the crash recovery uses), whose
// one .wasm Node's entry loads too, wasm-opt from the npm package binaryen, the JS wrapper, the
// TypeScript declarations, the package.json with its exports map, the README and the licences.
// Skips the work when nothing changed.
// Prints the wasm size (raw and gzip) and writes it to <out>/size.json.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);

/** The subset of TOML wasm-pack.toml uses: [sections], key = "string" | [strings]. */
function parseToml(text) {
  const out = {};
  let section = out;
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.replace(/#.*$/, "").trim();
    if (!line) continue;
    const header = line.match(/^\[([A-Za-z0-9_-]+)\]$/);
    if (header) {
      section = out[header[1]] = {};
      continue;
    }
    const kv = line.match(/^([A-Za-z0-9_-]+)\s*=\s*(.+)$/);
    if (!kv) throw new Error(`wasm-pack.toml:${i + 1}: cannot read \`${raw}\``);
    section[kv[1]] = JSON.parse(kv[2]);
  }
  return out;
}

const config = parseToml(readFileSync("wasm-pack.toml", "utf8"));
const pkg = config.package;
const out = pkg.out;
const crateDir = pkg.crate;
// `--no-wasm-opt` for a quicker local build; the package and CI use wasm-pack.toml's flags.
const wasmOptArgs = process.argv.includes("--no-wasm-opt") ? [] : config["wasm-opt"]?.args ?? [];
const version = readFileSync(join(crateDir, "Cargo.toml"), "utf8").match(/^version\s*=\s*"([^"]+)"/m)?.[1]
  ?? readFileSync("Cargo.toml", "utf8").match(/\[workspace\.package\][^[]*?version\s*=\s*"([^"]+)"/s)[1];

// The toolchain, crate features and extra rustflags of wasm-pack.toml. Rustflags go through
// CARGO_TARGET_<triple>_RUSTFLAGS, which replaces .cargo/config.toml's for the target: its
// flags (the getrandom backend cfg) are repeated first.
const configFlags = [...readFileSync(".cargo/config.toml", "utf8").matchAll(/^rustflags\s*=\s*\[(.*)\]\s*$/gm)]
  .flatMap((m) => [...m[1].matchAll(/'([^']*)'|"((?:[^"\\]|\\.)*)"/g)].map((t) => t[1] ?? JSON.parse(`"${t[2]}"`)));
const targetDir = pkg["target-dir"] ?? "target";
const buildStd = pkg["build-std"]?.length ? [`-Zbuild-std=${pkg["build-std"].join(",")}`] : [];
const cargoArgs = [...(pkg.toolchain ? [`+${pkg.toolchain}`] : []), "build", "--locked", "-p", "plugboard-web",
  "--target", "wasm32-unknown-unknown", "--profile", pkg.profile, "--target-dir", targetDir,
  ...(pkg.features?.length ? ["--features", pkg.features.join(",")] : []), ...buildStd];
const rustflags = [...configFlags, ...(pkg.rustflags ?? [])];
// `--env`: the same build configuration as shell exports, for `wasm-pack test` of the shipped
// configuration (scripts/test.sh evaluates them; they are for tests), then exit.
if (process.argv.includes("--env")) {
  const q = (v) => `'${v.replace(/'/g, "'\\''")}'`;
  if (pkg.toolchain) console.log(`export RUSTUP_TOOLCHAIN=${q(pkg.toolchain)}`);
  console.log(`export CARGO_TARGET_DIR=${q(targetDir)}`);
  // Test harnesses built with an aborting panic strategy need rustc's -Zpanic_abort_tests.
  const testFlags = rustflags.some((f) => /^-Cpanic=/.test(f)) ? ["-Zpanic_abort_tests"] : [];
  console.log(`export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS=${q([...rustflags, ...testFlags].join(" "))}`);
  console.log(`export PLUGBOARD_WASM_FEATURES=${q((pkg.features ?? []).join(","))}`);
  console.log(`export PLUGBOARD_TEST_CARGO_ARGS=${q(buildStd.join(" "))}`);
  process.exit(0);
}

function newest(paths) {
  let t = 0;
  for (const p of paths) {
    if (!existsSync(p)) continue;
    const s = statSync(p);
    if (s.isDirectory()) {
      for (const e of readdirSync(p)) {
        if (e === "node_modules" || e === "target") continue;
        t = Math.max(t, newest([join(p, e)]));
      }
    } else t = Math.max(t, s.mtimeMs);
  }
  return t;
}

const inputs = ["wasm-pack.toml", ".cargo/config.toml", "Cargo.toml", "Cargo.lock", "crates/host-core/src", "crates/host-core/Cargo.toml",
  join(crateDir, "src"), join(crateDir, "Cargo.toml"), join(crateDir, "js/wrapper.js"), join(crateDir, "js/index.d.ts"),
  join(crateDir, "README.md"), "scripts/build-npm.mjs", "LICENSE-MIT", "LICENSE-APACHE"];
const stamp = join(out, ".built");
const stampText = JSON.stringify({ wasmOptArgs, toolchain: pkg.toolchain, features: pkg.features, rustflags: pkg.rustflags, buildStd }) + "\n";
const fresh = existsSync(stamp) && statSync(stamp).mtimeMs >= newest(inputs) && readFileSync(stamp, "utf8") === stampText;
if (fresh && !process.argv.includes("--force")) {
  console.log(`[build-npm] ${out} is up to date`);
  report();
  process.exit(0);
}

const run = (cmd, args, opts = {}) => {
  console.log(`[build-npm] ${cmd} ${args.join(" ")}`);
  execFileSync(cmd, args, { stdio: "inherit", ...opts });
};

console.log(`[build-npm] CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS=${JSON.stringify(rustflags.join(" "))}`);
run("cargo", cargoArgs, { env: { ...process.env, CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS: rustflags.join(" ") } });
const wasm = `${targetDir}/wasm32-unknown-unknown/${pkg.profile}/plugboard_web.wasm`;

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const wasmOpt = join(crateDir, "js/node_modules/.bin/wasm-opt");
// wasm-bindgen's `web` target serves browsers, web workers, workerd and Deno, and bundlers
// (which resolve its `new URL(…, import.meta.url)`); its `bundler` target cannot have the
// instance-reset function the crash recovery needs.
const dir = join(out, "web");
run("wasm-bindgen", [wasm, "--target", "web", "--out-name", "plugboard", "--out-dir", dir,
  "--experimental-reset-state-function", "--remove-name-section", "--remove-producers-section", "--no-typescript"]);
if (wasmOptArgs.length) {
  const file = join(dir, "plugboard_bg.wasm");
  run(wasmOpt, [...wasmOptArgs, file, "-o", file]);
}
writeFileSync(join(dir, "raw.js"),
  `// The wasm-bindgen output, with its init functions.\nexport * from "./plugboard.js";\nexport { default } from "./plugboard.js";\n`);
writeFileSync(join(dir, "index.js"), readFileSync(join(crateDir, "js/wrapper.js"), "utf8"));
// Node runs the web build: its entry reads the one .wasm the package ships and instantiates it
// synchronously, so Node users need no `init` (calling it anyway is harmless).
mkdirSync(join(out, "node"), { recursive: true });
writeFileSync(join(out, "node/index.mjs"), `// Node's entry: the web build, instantiated synchronously from the package's one .wasm.
import { readFileSync } from "node:fs";
import { initSync } from "../web/index.js";

initSync({ module: readFileSync(new URL("../web/plugboard_bg.wasm", import.meta.url)) });

export * from "../web/index.js";
export { default } from "../web/index.js";
`);
cpSync(join(crateDir, "js/index.d.ts"), join(out, "index.d.ts"));
cpSync(join(crateDir, "README.md"), join(out, "README.md"));
for (const f of ["LICENSE-MIT", "LICENSE-APACHE"]) cpSync(f, join(out, f));
// The workspace's package metadata (Cargo.toml) is the one source of the repository URL.
const workspace = readFileSync("Cargo.toml", "utf8");
const repository = workspace.match(/^repository\s*=\s*"([^"]+)"/m)?.[1];
if (!repository) throw new Error("Cargo.toml's [workspace.package] has no repository");
const manifest = {
  name: pkg.name,
  version,
  description: "Run WebAssembly and Lua plugins anywhere JavaScript runs: fuel-metered, memory-capped, time-sliced, with async host functions",
  license: "MIT OR Apache-2.0",
  keywords: ["plugin", "plugins", "webassembly", "wasm", "lua", "sandbox", "extism", "workerd", "edge", "interpreter"],
  homepage: `${repository}#readme`,
  repository: { type: "git", url: repository },
  bugs: { url: `${repository}/issues` },
  type: "module",
  types: "./index.d.ts",
  main: "./node/index.mjs",
  module: "./web/index.js",
  browser: "./web/index.js",
  exports: {
    ".": {
      types: "./index.d.ts",
      workerd: "./web/index.js",
      worker: "./web/index.js",
      deno: "./web/index.js",
      browser: "./web/index.js",
      node: "./node/index.mjs",
      default: "./web/index.js",
    },
    "./web": { types: "./index.d.ts", default: "./web/index.js" },
    "./node": { types: "./index.d.ts", default: "./node/index.mjs" },
    "./plugboard_bg.wasm": "./web/plugboard_bg.wasm",
    "./package.json": "./package.json",
  },
  files: ["index.d.ts", "README.md", "LICENSE-MIT", "LICENSE-APACHE", "web/", "node/"],
  sideEffects: false,
  engines: { node: ">=20" },
};
writeFileSync(join(out, "package.json"), JSON.stringify(manifest, null, 2) + "\n");
writeFileSync(stamp, stampText);
report();

function report() {
  const file = join(out, "web/plugboard_bg.wasm");
  const bytes = readFileSync(file);
  const size = { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  writeFileSync(join(out, "size.json"), JSON.stringify(size) + "\n");
  const kb = (n) => `${(n / 1024).toFixed(0)} KiB`;
  console.log(`[build-npm] ${relative(root, file)}: ${kb(size.raw)} raw, ${kb(size.gzip)} gzip (budget 500 KB gzip)`);
}
