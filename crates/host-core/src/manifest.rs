//! Extism manifests: where a kernel-ABI plugin's modules come from and what it may do.
//!
//! ```json
//! { "wasm": [{ "data" | "path" | "url": …, "name"?: "main", "hash"?: "<sha256 hex>" }],
//!   "memory": { "max_pages": 16, "max_var_bytes": 1048576, "max_http_response_bytes": … },
//!   "config": { "key": "value" }, "allowed_hosts": ["*.example.com"],
//!   "allowed_paths": { "host/dir": "/guest/dir" }, "timeout_ms": 1000, "wasi"?: true }
//! ```
//!
//! Unknown fields are rejected; every field is also accepted in camelCase (`maxPages`,
//! `allowedHosts`, …) as the JS SDK writes them. `data` is base64 text or an array of bytes.
//! The main module is the one named `main`, else the last; the others are linked to it by name
//! (an import from module `"helper"` is satisfied by the module named `helper`).
//! `memory.max_pages` caps all memories together. `allowed_paths` copies each host directory
//! into an in-memory file system at load (natively; files the plugin writes stay in memory).
//! `timeout_ms` is a wall-clock deadline checked between fuel slices where a clock advances
//! (natively); on wasm32 targets it is not enforced and fuel is the only budget.

use crate::abi::kernel::{HttpRequest, HttpResponse, KernelConfig};
use crate::error::{Error, ErrorKind};
use crate::host::{Host, LogLevel};
use crate::plugin::{Plugin, PluginOptions};
use crate::wasm::wasi::MemFs;
use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// An Extism manifest, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub wasm: Vec<WasmSource>,
    #[serde(default)]
    pub memory: MemoryOptions,
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    #[serde(default, alias = "allowedHosts")]
    pub allowed_hosts: Option<Vec<String>>,
    #[serde(default, alias = "allowedPaths")]
    pub allowed_paths: Option<BTreeMap<String, String>>,
    #[serde(default, alias = "timeoutMs")]
    pub timeout_ms: Option<u64>,
    /// Link WASI preview 1 (Extism's `wasi` plugin option).
    #[serde(default)]
    pub wasi: bool,
    /// Not part of the format: a loader option, see [`PluginOptions::stub_missing_imports`].
    #[serde(skip)]
    pub stub_missing_imports: bool,
    /// Not part of the format: a loader option, the plugin's log level (Extism's
    /// `KernelConfig::log_level`: messages below it are dropped; `None` is off). Default `info`.
    #[serde(skip, default = "default_log_level")]
    pub log_level: Option<LogLevel>,
    /// Not part of the format: a loader option, the plugin's name in logs and errors (default
    /// `main`).
    #[serde(skip)]
    pub name: Option<String>,
}

fn default_log_level() -> Option<LogLevel> {
    KernelConfig::default().log_level
}

/// The manifest's `memory` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryOptions {
    #[serde(default, alias = "maxPages")]
    pub max_pages: Option<u32>,
    #[serde(default, alias = "maxVarBytes")]
    pub max_var_bytes: Option<u64>,
    #[serde(default, alias = "maxHttpResponseBytes")]
    pub max_http_response_bytes: Option<u64>,
}

/// One module of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WasmSource {
    #[serde(default, deserialize_with = "bytes_or_base64")]
    pub data: Option<Vec<u8>>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub hash: Option<String>,
}

fn bytes_or_base64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Data {
        Text(String),
        Bytes(Vec<u8>),
    }
    Ok(match Option::<Data>::deserialize(d)? {
        None => None,
        Some(Data::Bytes(b)) => Some(b),
        Some(Data::Text(t)) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(t.trim())
                .map_err(|e| serde::de::Error::custom(format!("`data` is not base64: {e}")))?,
        ),
    })
}

fn manifest_error(reason: impl Into<String>) -> Error {
    ErrorKind::Manifest {
        reason: reason.into(),
    }
    .into()
}

impl Manifest {
    /// Parses manifest JSON.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Manifest`] naming the problem (syntax, unknown field, missing source).
    pub fn parse(json: &str) -> Result<Self, Error> {
        let m: Manifest = serde_json::from_str(json)
            .map_err(|e| manifest_error(format!("invalid manifest: {e}")))?;
        if m.wasm.is_empty() {
            return Err(manifest_error("`wasm` lists no module"));
        }
        for (i, w) in m.wasm.iter().enumerate() {
            let sources = [w.data.is_some(), w.path.is_some(), w.url.is_some()]
                .iter()
                .filter(|x| **x)
                .count();
            if sources != 1 {
                return Err(manifest_error(format!(
                    "wasm[{i}] needs exactly one of `data`, `path`, `url`"
                )));
            }
        }
        Ok(m)
    }

    /// The plugin options the manifest implies, on top of the host's defaults.
    fn options(&self, host: &Host) -> Result<PluginOptions, Error> {
        let mut limits = host.limits().clone();
        if let Some(pages) = self.memory.max_pages {
            limits.memory_bytes = usize::try_from(u64::from(pages) * 65536).unwrap_or(usize::MAX);
        }
        if let Some(ms) = self.timeout_ms {
            limits.timeout_ms = Some(ms);
        }
        let defaults = KernelConfig::default();
        let kernel = KernelConfig {
            config: self.config.clone(),
            allowed_hosts: self.allowed_hosts.clone(),
            max_var_bytes: self
                .memory
                .max_var_bytes
                .map_or(defaults.max_var_bytes, |v| {
                    usize::try_from(v).unwrap_or(usize::MAX)
                }),
            max_http_response_bytes: self
                .memory
                .max_http_response_bytes
                .map_or(defaults.max_http_response_bytes, |v| {
                    usize::try_from(v).unwrap_or(usize::MAX)
                }),
            log_level: self.log_level,
        };
        let mut options = PluginOptions::named(self.name.as_deref().unwrap_or("main"))
            .with_limits(limits)
            .with_kernel(kernel);
        options.stub_missing_imports = self.stub_missing_imports;
        if self.wasi || self.allowed_paths.is_some() {
            let mut wasi = host.wasi.clone();
            for (host_dir, guest_dir) in self.allowed_paths.iter().flatten() {
                wasi = wasi.preopen(guest_dir, load_dir(host_dir)?);
            }
            options = options.with_wasi(wasi);
        }
        Ok(options)
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn load_dir(dir: &str) -> Result<MemFs, Error> {
    MemFs::from_host_dir(std::path::Path::new(dir))
        .map_err(|e| manifest_error(format!("allowed_paths `{dir}`: {e}")))
}

#[cfg(target_arch = "wasm32")]
fn load_dir(dir: &str) -> Result<MemFs, Error> {
    Err(manifest_error(format!("allowed_paths `{dir}`: there is no host file system on this target; pass files with WasiConfig::preopen")))
}

fn check_hash(i: usize, w: &WasmSource, bytes: &[u8]) -> Result<(), Error> {
    if let Some(want) = &w.hash {
        let got: String = Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if !got.eq_ignore_ascii_case(want.trim()) {
            return Err(manifest_error(format!(
                "wasm[{i}] hash mismatch: expected {want}, got {got}"
            )));
        }
    }
    Ok(())
}

impl Host {
    /// Loads an Extism manifest. Modules given by `url` are fetched through the host's HTTP
    /// function ([`HostBuilder::http`](crate::HostBuilder::http)), waiting for it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Manifest`] for a malformed manifest, an unreadable source or a wrong hash;
    /// then any error of [`Host::load_wasm`].
    pub async fn load_manifest_async(&self, json: &str) -> Result<Plugin, Error> {
        self.load_from_manifest_async(&Manifest::parse(json)?).await
    }

    /// Loads a parsed (and perhaps amended) manifest.
    ///
    /// # Errors
    ///
    /// As [`Host::load_manifest_async`].
    pub async fn load_from_manifest_async(&self, manifest: &Manifest) -> Result<Plugin, Error> {
        let mut modules = Vec::with_capacity(manifest.wasm.len());
        for (i, w) in manifest.wasm.iter().enumerate() {
            let bytes = match (&w.data, &w.path, &w.url) {
                (Some(d), _, _) => d.clone(),
                (_, Some(p), _) => read_path(p)?,
                (_, _, Some(url)) => self.fetch_module(url, w).await?,
                _ => return Err(manifest_error(format!("wasm[{i}] has no source"))),
            };
            if bytes.len() > self.limits().max_module_bytes {
                return Err(ErrorKind::ModuleTooLarge {
                    len: bytes.len(),
                    max: self.limits().max_module_bytes,
                }
                .into());
            }
            check_hash(i, w, &bytes)?;
            modules.push((w.name.clone(), bytes));
        }
        let main_at = modules
            .iter()
            .position(|(n, _)| n.as_deref() == Some("main"))
            .unwrap_or(modules.len() - 1);
        let (_, main) = modules.remove(main_at);
        let mut deps = Vec::new();
        for (i, (name, bytes)) in modules.into_iter().enumerate() {
            let name = name.ok_or_else(|| {
                manifest_error(format!(
                    "module {i} besides the main one needs a `name` to be linked by"
                ))
            })?;
            deps.push((name, bytes));
        }
        Plugin::load_with_deps(self, &main, &deps, manifest.options(self)?)
    }

    /// [`Host::load_manifest_async`] for callers that can block (natively).
    ///
    /// # Errors
    ///
    /// As [`Host::load_manifest_async`].
    pub fn load_manifest(&self, json: &str) -> Result<Plugin, Error> {
        self.load_from_manifest(&Manifest::parse(json)?)
    }

    /// [`Host::load_from_manifest_async`] for callers that can block (natively).
    ///
    /// # Errors
    ///
    /// As [`Host::load_manifest_async`].
    pub fn load_from_manifest(&self, manifest: &Manifest) -> Result<Plugin, Error> {
        #[cfg(not(target_arch = "wasm32"))]
        {
            crate::call::block_on(self.load_from_manifest_async(manifest))
        }
        #[cfg(target_arch = "wasm32")]
        {
            let _ = manifest;
            Err(manifest_error(
                "use load_manifest_async on wasm32 (fetching cannot block)",
            ))
        }
    }

    async fn fetch_module(&self, url: &str, w: &WasmSource) -> Result<Vec<u8>, Error> {
        let f = self
            .registry
            .get(
                crate::abi::kernel::HTTP_NAMESPACE,
                crate::abi::kernel::HTTP_FUNCTION,
            )
            .cloned()
            .ok_or_else(|| {
                manifest_error(format!(
                    "cannot fetch {url}: no HTTP client is configured on this host"
                ))
            })?;
        let req = HttpRequest {
            url: url.to_owned(),
            method: w.method.clone().unwrap_or_else(|| "GET".into()),
            headers: w.headers.clone(),
            body: None,
        };
        let reply = match f.invoke(&crate::codec::to_bytes(&req)?)? {
            crate::host::HostReply::Ready(b) => b,
            crate::host::HostReply::Later(fut) => fut.await?,
        };
        let resp: HttpResponse = crate::codec::from_bytes(&reply)?;
        if !(200..300).contains(&resp.status) {
            return Err(manifest_error(format!(
                "cannot fetch {url}: HTTP status {}",
                resp.status
            )));
        }
        Ok(resp.body)
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn read_path(p: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(p).map_err(|e| manifest_error(format!("cannot read {p}: {e}")))
}

#[cfg(target_arch = "wasm32")]
fn read_path(p: &str) -> Result<Vec<u8>, Error> {
    Err(manifest_error(format!(
        "cannot read {p}: there is no file system on this target"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_snake_and_camel_case() {
        let a = Manifest::parse(r#"{"wasm":[{"data":"AGFzbQEAAAA="}],"memory":{"max_pages":4,"max_var_bytes":10},"allowed_hosts":["a.com"],"timeout_ms":5}"#).unwrap();
        let b = Manifest::parse(r#"{"wasm":[{"data":[0,97,115,109,1,0,0,0]}],"memory":{"maxPages":4,"maxVarBytes":10},"allowedHosts":["a.com"],"timeoutMs":5}"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.wasm[0].data.as_deref(), Some(&b"\0asm\x01\0\0\0"[..]));
    }

    #[test]
    fn rejects_bad_manifests() {
        for bad in [
            "",
            "{}",
            r#"{"wasm":[]}"#,
            r#"{"wasm":[{"data":"AAAA"}],"surprise":1}"#,
            r#"{"wasm":[{"data":"AAAA","path":"x.wasm"}]}"#,
            r#"{"wasm":[{}]}"#,
            r#"{"wasm":[{"data":"not base64!"}]}"#,
            r#"{"wasm":[{"data":"AAAA"}],"memory":{"max_pages":-1}}"#,
        ] {
            let e = Manifest::parse(bad).unwrap_err();
            assert!(matches!(e.kind(), ErrorKind::Manifest { .. }), "{bad}: {e}");
        }
    }
}
