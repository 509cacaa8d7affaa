//! WASI preview 1, entirely in memory, so it behaves the same on every target.
//!
//! stdout/stderr go to the host's log sink; stdin is a byte string; args, environment, clocks
//! and randomness come from [`WasiConfig`]; preopened directories are [`MemFs`] trees shared
//! with the embedder (who can put files in before a call and read what the plugin wrote after).
//! Paths never leave their preopen: absolute paths and `..` above the root are `ENOTCAPABLE`.
//! No sockets, no symlinks, no polling: those calls return `ENOSYS`/`ENOTSUP`.

use crate::error::Error;
use crate::host::LogStream;
use crate::plugin::link_error;
use crate::wasm::{checked_range, StoreData};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;
use wasmi::{Caller, Linker};

/// The import module of WASI preview 1.
pub(crate) const MODULE: &str = "wasi_snapshot_preview1";

type Errno = u16;
const SUCCESS: Errno = 0;
const E2BIG: Errno = 1;
const EBADF: Errno = 8;
const EEXIST: Errno = 20;
const EFAULT: Errno = 21;
const EINVAL: Errno = 28;
const EISDIR: Errno = 31;
const ENAMETOOLONG: Errno = 37;
const ENOENT: Errno = 44;
const ENOSYS: Errno = 52;
const ENOTDIR: Errno = 54;
const ENOTEMPTY: Errno = 55;
const ENOTSUP: Errno = 58;
const ESPIPE: Errno = 70;
const ENOTCAPABLE: Errno = 76;
const EFBIG: Errno = 22;

const FILETYPE_CHARACTER_DEVICE: u8 = 2;
const FILETYPE_DIRECTORY: u8 = 3;
const FILETYPE_REGULAR_FILE: u8 = 4;
const OFLAGS_CREAT: u16 = 1;
const OFLAGS_DIRECTORY: u16 = 2;
const OFLAGS_EXCL: u16 = 4;
const OFLAGS_TRUNC: u16 = 8;
const FDFLAGS_APPEND: u16 = 1;
const RIGHTS_ALL: u64 = (1 << 29) - 1;
/// Largest file the in-memory file system holds.
const MAX_FILE_BYTES: u64 = 64 << 20;
const MAX_OPEN_FDS: usize = 1024;
const MAX_PATH: usize = 4096;

/// A directory tree in memory. Cloning gives another handle to the same tree.
#[derive(Clone, Default)]
pub struct MemFs(Rc<RefCell<Node>>);

#[derive(Debug, Clone)]
enum Node {
    Dir(BTreeMap<String, Node>),
    File(Vec<u8>),
}

impl Default for Node {
    fn default() -> Self {
        Node::Dir(BTreeMap::new())
    }
}

impl fmt::Debug for MemFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemFs").finish_non_exhaustive()
    }
}

impl MemFs {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes a file (relative path, `/`-separated), creating parent directories.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Encode`](crate::ErrorKind::Encode) if the path is invalid or crosses a file.
    pub fn write_file(&self, path: &str, bytes: &[u8]) -> Result<(), Error> {
        let parts = split_host_path(path)?;
        let (name, dirs) = parts.split_last().ok_or_else(|| bad_path(path))?;
        let mut root = self.0.borrow_mut();
        let mut node = &mut *root;
        for d in dirs {
            let Node::Dir(entries) = node else {
                return Err(bad_path(path));
            };
            node = entries.entry(d.clone()).or_default();
        }
        let Node::Dir(entries) = node else {
            return Err(bad_path(path));
        };
        entries.insert(name.clone(), Node::File(bytes.to_vec()));
        Ok(())
    }

    /// Copies a directory of the host's file system into memory (regular files and
    /// directories; symbolic links are skipped, so nothing outside `dir` is reachable). At most
    /// 64 MiB and 10,000 entries.
    ///
    /// # Errors
    ///
    /// An I/O error reading the tree, or one saying it is too large.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_host_dir(dir: &std::path::Path) -> std::io::Result<Self> {
        const MAX_BYTES: u64 = 64 << 20;
        const MAX_ENTRIES: usize = 10_000;
        fn walk(
            dir: &std::path::Path,
            node: &mut Node,
            budget: &mut (u64, usize),
        ) -> std::io::Result<()> {
            let Node::Dir(entries) = node else {
                return Ok(());
            };
            for entry in std::fs::read_dir(dir)? {
                let entry = entry?;
                let ty = entry.file_type()?;
                let name = entry.file_name().to_string_lossy().into_owned();
                budget.1 += 1;
                if budget.1 > MAX_ENTRIES {
                    return Err(std::io::Error::other("more than 10,000 entries"));
                }
                if ty.is_dir() {
                    let child = entries.entry(name).or_default();
                    walk(&entry.path(), child, budget)?;
                } else if ty.is_file() {
                    budget.0 += entry.metadata()?.len();
                    if budget.0 > MAX_BYTES {
                        return Err(std::io::Error::other("more than 64 MiB of files"));
                    }
                    entries.insert(name, Node::File(std::fs::read(entry.path())?));
                }
            }
            Ok(())
        }
        let fs = MemFs::new();
        walk(dir, &mut fs.0.borrow_mut(), &mut (0, 0))?;
        Ok(fs)
    }

    /// Reads a file, if it exists.
    pub fn read_file(&self, path: &str) -> Option<Vec<u8>> {
        let parts = split_host_path(path).ok()?;
        match lookup(&self.0.borrow(), &parts)? {
            Node::File(b) => Some(b.clone()),
            Node::Dir(_) => None,
        }
    }

    /// Names in a directory (`""` for the root), if it exists.
    pub fn list_dir(&self, path: &str) -> Option<Vec<String>> {
        let parts = if path.is_empty() {
            Vec::new()
        } else {
            split_host_path(path).ok()?
        };
        match lookup(&self.0.borrow(), &parts)? {
            Node::Dir(e) => Some(e.keys().cloned().collect()),
            Node::File(_) => None,
        }
    }
}

fn bad_path(path: &str) -> Error {
    crate::error::ErrorKind::Encode {
        reason: format!("invalid file system path `{path}`"),
    }
    .into()
}

fn split_host_path(path: &str) -> Result<Vec<String>, Error> {
    let parts: Vec<String> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .map(str::to_owned)
        .collect();
    if parts.is_empty() || parts.iter().any(|p| p == "..") {
        return Err(bad_path(path));
    }
    Ok(parts)
}

fn lookup<'a>(root: &'a Node, parts: &[String]) -> Option<&'a Node> {
    parts.iter().try_fold(root, |node, p| match node {
        Node::Dir(e) => e.get(p),
        Node::File(_) => None,
    })
}

fn lookup_mut<'a>(root: &'a mut Node, parts: &[String]) -> Option<&'a mut Node> {
    parts.iter().try_fold(root, |node, p| match node {
        Node::Dir(e) => e.get_mut(p),
        Node::File(_) => None,
    })
}

/// A clock reading in nanoseconds since the Unix epoch.
pub type ClockFn = Rc<dyn Fn() -> u64>;

/// The environment a plugin's WASI calls see.
#[derive(Clone, Default)]
pub struct WasiConfig {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Rc<Vec<u8>>,
    preopens: Vec<(String, MemFs)>,
    clock: Option<ClockFn>,
    seed: Option<u64>,
}

impl fmt::Debug for WasiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasiConfig")
            .field("args", &self.args)
            .field("env", &self.env)
            .field(
                "preopens",
                &self.preopens.iter().map(|p| &p.0).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl WasiConfig {
    /// An empty environment: no args, no variables, no files.
    pub fn new() -> Self {
        Self::default()
    }

    /// Command-line arguments (the first is conventionally the program name).
    #[must_use]
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args = args.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Adds an environment variable.
    #[must_use]
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// What the plugin reads from stdin.
    #[must_use]
    pub fn stdin(mut self, bytes: &[u8]) -> Self {
        self.stdin = Rc::new(bytes.to_vec());
        self
    }

    /// Makes `fs` visible to the plugin as the directory `guest_path` (e.g. `/data`).
    #[must_use]
    pub fn preopen(mut self, guest_path: &str, fs: MemFs) -> Self {
        self.preopens.push((guest_path.to_owned(), fs));
        self
    }

    /// The wall clock (nanoseconds since the Unix epoch). Natively the default is the system
    /// clock; on wasm32 the embedder supplies one (the JS package passes `Date.now`), else 0.
    #[must_use]
    pub fn clock(mut self, clock: impl Fn() -> u64 + 'static) -> Self {
        self.clock = Some(Rc::new(clock));
        self
    }

    /// Seeds `random_get` for reproducible runs. Without a seed it is seeded from the clock.
    /// The generator is not cryptographically secure.
    #[must_use]
    pub fn random_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The host clock: nanoseconds since the Unix epoch (the configured clock, else the system
    /// clock natively, else 0).
    pub(crate) fn now_nanos(&self) -> u64 {
        now_nanos(&self.clock)
    }

    /// The configured seed, else one from the clock.
    pub(crate) fn seed(&self) -> u64 {
        self.seed.unwrap_or_else(|| self.now_nanos())
    }
}

fn now_nanos(clock: &Option<ClockFn>) -> u64 {
    if let Some(c) = clock {
        return c();
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }
    #[cfg(target_arch = "wasm32")]
    {
        0
    }
}

enum Fd {
    Stdin {
        pos: usize,
    },
    Stdout,
    Stderr,
    /// A preopened directory or a directory opened below one.
    Dir {
        root: usize,
        path: Vec<String>,
    },
    File {
        root: usize,
        path: Vec<String>,
        pos: u64,
        append: bool,
    },
}

/// Per-instance WASI state.
pub(crate) struct WasiCtx {
    config: WasiConfig,
    fds: Vec<Option<Fd>>,
    rng: u64,
    last_monotonic: u64,
}

impl WasiCtx {
    pub(crate) fn new(config: &WasiConfig) -> Self {
        let mut fds = vec![
            Some(Fd::Stdin { pos: 0 }),
            Some(Fd::Stdout),
            Some(Fd::Stderr),
        ];
        for i in 0..config.preopens.len() {
            fds.push(Some(Fd::Dir {
                root: i,
                path: Vec::new(),
            }));
        }
        let rng = config
            .seed
            .unwrap_or_else(|| now_nanos(&config.clock) ^ 0x9e37_79b9_7f4a_7c15);
        Self {
            config: config.clone(),
            fds,
            rng,
            last_monotonic: 0,
        }
    }

    fn next_random(&mut self) -> u64 {
        // SplitMix64.
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fd(&self, fd: i32) -> Result<&Fd, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.fds.get(i))
            .and_then(Option::as_ref)
            .ok_or(EBADF)
    }

    fn fd_mut(&mut self, fd: i32) -> Result<&mut Fd, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.fds.get_mut(i))
            .and_then(Option::as_mut)
            .ok_or(EBADF)
    }

    fn insert(&mut self, fd: Fd) -> Result<i32, Errno> {
        if let Some(i) = self.fds.iter().position(Option::is_none) {
            self.fds[i] = Some(fd);
            return i32::try_from(i).map_err(|_| EINVAL);
        }
        if self.fds.len() >= MAX_OPEN_FDS {
            return Err(33); // EMFILE
        }
        self.fds.push(Some(fd));
        i32::try_from(self.fds.len() - 1).map_err(|_| EINVAL)
    }

    fn root(&self, root: usize) -> Result<&MemFs, Errno> {
        self.config.preopens.get(root).map(|p| &p.1).ok_or(EBADF)
    }
}

// ---------------------------------------------------------------- guest memory helpers

struct Mem<'a> {
    bytes: &'a mut [u8],
}

impl Mem<'_> {
    fn slice(&self, ptr: u32, len: u32) -> Result<&[u8], Errno> {
        let r =
            checked_range(self.bytes.len(), u64::from(ptr), u64::from(len)).map_err(|_| EFAULT)?;
        self.bytes.get(r).ok_or(EFAULT)
    }
    fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], Errno> {
        let r =
            checked_range(self.bytes.len(), u64::from(ptr), u64::from(len)).map_err(|_| EFAULT)?;
        self.bytes.get_mut(r).ok_or(EFAULT)
    }
    fn u32(&self, ptr: u32) -> Result<u32, Errno> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.slice(ptr, 4)?);
        Ok(u32::from_le_bytes(a))
    }
    fn put(&mut self, ptr: u32, bytes: &[u8]) -> Result<(), Errno> {
        let len = u32::try_from(bytes.len()).map_err(|_| EFAULT)?;
        self.slice_mut(ptr, len)?.copy_from_slice(bytes);
        Ok(())
    }
    fn put_u32(&mut self, ptr: u32, v: u32) -> Result<(), Errno> {
        self.put(ptr, &v.to_le_bytes())
    }
    fn put_u64(&mut self, ptr: u32, v: u64) -> Result<(), Errno> {
        self.put(ptr, &v.to_le_bytes())
    }
    fn string(&self, ptr: u32, len: u32) -> Result<String, Errno> {
        if len as usize > MAX_PATH {
            return Err(ENAMETOOLONG);
        }
        String::from_utf8(self.slice(ptr, len)?.to_vec()).map_err(|_| EINVAL)
    }
    /// The (ptr, len) pairs of an iovec array.
    fn iovecs(&self, iovs: u32, count: u32) -> Result<Vec<(u32, u32)>, Errno> {
        if count > 1024 {
            return Err(EINVAL);
        }
        (0..count)
            .map(|i| {
                let at = iovs
                    .checked_add(i.checked_mul(8).ok_or(EFAULT)?)
                    .ok_or(EFAULT)?;
                Ok((self.u32(at)?, self.u32(at.checked_add(4).ok_or(EFAULT)?)?))
            })
            .collect()
    }
}

/// Runs `f` with the guest memory and the store data; maps the result to an errno.
fn with<F>(caller: &mut Caller<'_, StoreData>, f: F) -> i32
where
    F: FnOnce(&mut Mem<'_>, &mut StoreData) -> Result<(), Errno>,
{
    let Some(memory) = caller
        .get_export("memory")
        .and_then(wasmi::Extern::into_memory)
    else {
        return i32::from(EFAULT);
    };
    let (bytes, data) = memory.data_and_store_mut(caller);
    let mut mem = Mem { bytes };
    match f(&mut mem, data) {
        Ok(()) => i32::from(SUCCESS),
        Err(e) => i32::from(e),
    }
}

// ---------------------------------------------------------------- path resolution

/// Resolves `path` against the directory `fd`: (preopen index, components from its root).
fn resolve(ctx: &WasiCtx, fd: i32, path: &str) -> Result<(usize, Vec<String>), Errno> {
    let Fd::Dir { root, path: base } = ctx.fd(fd)? else {
        return Err(ENOTDIR);
    };
    if path.starts_with('/') || path.contains('\0') {
        return Err(ENOTCAPABLE);
    }
    let mut parts = base.clone();
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop().ok_or(ENOTCAPABLE)?;
            }
            c => parts.push(c.to_owned()),
        }
    }
    Ok((*root, parts))
}

fn stat_node(node: &Node, ino: u64) -> [u8; 64] {
    let mut st = [0u8; 64];
    let (ty, size) = match node {
        Node::Dir(e) => (FILETYPE_DIRECTORY, e.len() as u64),
        Node::File(b) => (FILETYPE_REGULAR_FILE, b.len() as u64),
    };
    st[8..16].copy_from_slice(&ino.to_le_bytes());
    st[16] = ty;
    st[24..32].copy_from_slice(&1u64.to_le_bytes());
    st[32..40].copy_from_slice(&size.to_le_bytes());
    st
}

fn ino_of(parts: &[String]) -> u64 {
    // FNV-1a of the path: stable inode numbers without storing any.
    parts
        .iter()
        .flat_map(|p| p.bytes().chain(std::iter::once(b'/')))
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
}

// ---------------------------------------------------------------- the functions

fn fd_write(
    mem: &mut Mem<'_>,
    data: &mut StoreData,
    fd: i32,
    iovs: u32,
    count: u32,
    nwritten: u32,
) -> Result<(), Errno> {
    let mut bytes = Vec::new();
    for (p, l) in mem.iovecs(iovs, count)? {
        bytes.extend_from_slice(mem.slice(p, l)?);
    }
    let n = u32::try_from(bytes.len()).map_err(|_| EINVAL)?;
    match data.wasi.fd(fd)? {
        Fd::Stdout => data.log(LogStream::Stdout, &bytes),
        Fd::Stderr => data.log(LogStream::Stderr, &bytes),
        Fd::File { .. } => write_file_at(&mut data.wasi, fd, None, &bytes)?,
        Fd::Stdin { .. } => return Err(EBADF),
        Fd::Dir { .. } => return Err(EISDIR),
    }
    mem.put_u32(nwritten, n)
}

fn write_file_at(ctx: &mut WasiCtx, fd: i32, at: Option<u64>, bytes: &[u8]) -> Result<(), Errno> {
    let Fd::File {
        root,
        path,
        pos,
        append,
    } = ctx.fd(fd)?
    else {
        return Err(EBADF);
    };
    let (root, path, append, pos) = (*root, path.clone(), *append, *pos);
    let fs = ctx.root(root)?.clone();
    let mut tree = fs.0.borrow_mut();
    let Some(Node::File(content)) = lookup_mut(&mut tree, &path) else {
        return Err(ENOENT);
    };
    let start = match at {
        Some(off) => off,
        None if append => content.len() as u64,
        None => pos,
    };
    let end = start
        .checked_add(bytes.len() as u64)
        .filter(|e| *e <= MAX_FILE_BYTES)
        .ok_or(EFBIG)?;
    let (start_us, end_us) = (
        usize::try_from(start).map_err(|_| EFBIG)?,
        usize::try_from(end).map_err(|_| EFBIG)?,
    );
    if content.len() < end_us {
        content.resize(end_us, 0);
    }
    content
        .get_mut(start_us..end_us)
        .ok_or(EFBIG)?
        .copy_from_slice(bytes);
    drop(tree);
    if at.is_none() {
        if let Ok(Fd::File { pos, .. }) = ctx.fd_mut(fd) {
            *pos = end;
        }
    }
    Ok(())
}

fn read_into(mem: &mut Mem<'_>, iovs: &[(u32, u32)], src: &[u8]) -> Result<u32, Errno> {
    let mut done = 0usize;
    for &(p, l) in iovs {
        let rest = src.get(done..).unwrap_or(&[]);
        let n = rest.len().min(l as usize);
        mem.put(p, rest.get(..n).unwrap_or(&[]))?;
        done += n;
        if n < l as usize {
            break;
        }
    }
    u32::try_from(done).map_err(|_| EINVAL)
}

fn fd_read(
    mem: &mut Mem<'_>,
    data: &mut StoreData,
    fd: i32,
    iovs: u32,
    count: u32,
    nread: u32,
    at: Option<u64>,
) -> Result<(), Errno> {
    let iov = mem.iovecs(iovs, count)?;
    let ctx = &mut data.wasi;
    let n = match ctx.fd(fd)? {
        Fd::Stdin { pos } => {
            if at.is_some() {
                return Err(ESPIPE);
            }
            let stdin = ctx.config.stdin.clone();
            let n = read_into(mem, &iov, stdin.get(*pos..).unwrap_or(&[]))?;
            if let Ok(Fd::Stdin { pos }) = ctx.fd_mut(fd) {
                *pos += n as usize;
            }
            n
        }
        Fd::File {
            root, path, pos, ..
        } => {
            let fs = ctx.root(*root)?.clone();
            let tree = fs.0.borrow();
            let Some(Node::File(content)) = lookup(&tree, path) else {
                return Err(ENOENT);
            };
            let start = usize::try_from(at.unwrap_or(*pos)).unwrap_or(usize::MAX);
            let n = read_into(mem, &iov, content.get(start..).unwrap_or(&[]))?;
            drop(tree);
            if at.is_none() {
                if let Ok(Fd::File { pos, .. }) = ctx.fd_mut(fd) {
                    *pos += u64::from(n);
                }
            }
            n
        }
        Fd::Dir { .. } => return Err(EISDIR),
        Fd::Stdout | Fd::Stderr => return Err(EBADF),
    };
    mem.put_u32(nread, n)
}

fn path_open(
    mem: &mut Mem<'_>,
    ctx: &mut WasiCtx,
    dirfd: i32,
    path: (u32, u32),
    oflags: u16,
    fdflags: u16,
    out: u32,
) -> Result<(), Errno> {
    let path = mem.string(path.0, path.1)?;
    let (root, parts) = resolve(ctx, dirfd, &path)?;
    let fs = ctx.root(root)?.clone();
    let mut tree = fs.0.borrow_mut();
    let exists = lookup(&tree, &parts).map(|n| matches!(n, Node::Dir(_)));
    let fd = match exists {
        Some(_) if oflags & OFLAGS_CREAT != 0 && oflags & OFLAGS_EXCL != 0 => return Err(EEXIST),
        Some(true) => {
            if oflags & OFLAGS_TRUNC != 0 {
                return Err(EISDIR);
            }
            Fd::Dir { root, path: parts }
        }
        Some(false) => {
            if oflags & OFLAGS_DIRECTORY != 0 {
                return Err(ENOTDIR);
            }
            if oflags & OFLAGS_TRUNC != 0 {
                if let Some(Node::File(c)) = lookup_mut(&mut tree, &parts) {
                    c.clear();
                }
            }
            Fd::File {
                root,
                path: parts,
                pos: 0,
                append: fdflags & FDFLAGS_APPEND != 0,
            }
        }
        None => {
            if oflags & OFLAGS_CREAT == 0 {
                return Err(ENOENT);
            }
            let (name, dir) = parts.split_last().ok_or(EISDIR)?;
            match lookup_mut(&mut tree, dir) {
                Some(Node::Dir(entries)) => {
                    entries.insert(name.clone(), Node::File(Vec::new()));
                }
                Some(Node::File(_)) => return Err(ENOTDIR),
                None => return Err(ENOENT),
            }
            Fd::File {
                root,
                path: parts,
                pos: 0,
                append: fdflags & FDFLAGS_APPEND != 0,
            }
        }
    };
    drop(tree);
    let new = ctx.insert(fd)?;
    mem.put_u32(out, new as u32)
}

fn modify_dir(
    ctx: &mut WasiCtx,
    dirfd: i32,
    path: &str,
    op: impl FnOnce(&mut BTreeMap<String, Node>, &str) -> Result<(), Errno>,
) -> Result<(), Errno> {
    let (root, parts) = resolve(ctx, dirfd, path)?;
    let (name, dir) = parts.split_last().ok_or(EINVAL)?;
    let fs = ctx.root(root)?.clone();
    let mut tree = fs.0.borrow_mut();
    match lookup_mut(&mut tree, dir) {
        Some(Node::Dir(entries)) => op(entries, name),
        Some(Node::File(_)) => Err(ENOTDIR),
        None => Err(ENOENT),
    }
}

fn fd_readdir(
    mem: &mut Mem<'_>,
    ctx: &WasiCtx,
    fd: i32,
    buf: u32,
    len: u32,
    cookie: u64,
    used: u32,
) -> Result<(), Errno> {
    let Fd::Dir { root, path } = ctx.fd(fd)? else {
        return Err(ENOTDIR);
    };
    let fs = ctx.root(*root)?;
    let tree = fs.0.borrow();
    let Some(Node::Dir(entries)) = lookup(&tree, path) else {
        return Err(ENOENT);
    };
    let mut out = Vec::new();
    let names = [
        (".".to_owned(), FILETYPE_DIRECTORY),
        ("..".to_owned(), FILETYPE_DIRECTORY),
    ]
    .into_iter()
    .chain(entries.iter().map(|(n, node)| {
        (
            n.clone(),
            if matches!(node, Node::Dir(_)) {
                FILETYPE_DIRECTORY
            } else {
                FILETYPE_REGULAR_FILE
            },
        )
    }));
    for (i, (name, ty)) in names
        .enumerate()
        .skip(usize::try_from(cookie).unwrap_or(usize::MAX))
    {
        let mut ent = [0u8; 24];
        ent[0..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
        let mut p = path.clone();
        p.push(name.clone());
        ent[8..16].copy_from_slice(&ino_of(&p).to_le_bytes());
        ent[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
        ent[20] = ty;
        out.extend_from_slice(&ent);
        out.extend_from_slice(name.as_bytes());
        if out.len() >= len as usize {
            break;
        }
    }
    out.truncate(len as usize);
    mem.put(buf, &out)?;
    mem.put_u32(used, out.len() as u32)
}

fn fd_filestat(ctx: &WasiCtx, fd: i32) -> Result<[u8; 64], Errno> {
    match ctx.fd(fd)? {
        Fd::Dir { root, path } | Fd::File { root, path, .. } => {
            let fs = ctx.root(*root)?;
            let tree = fs.0.borrow();
            lookup(&tree, path)
                .map(|n| stat_node(n, ino_of(path)))
                .ok_or(ENOENT)
        }
        _ => {
            let mut st = [0u8; 64];
            st[16] = FILETYPE_CHARACTER_DEVICE;
            Ok(st)
        }
    }
}

fn fd_seek(ctx: &mut WasiCtx, fd: i32, offset: i64, whence: u8) -> Result<u64, Errno> {
    let size = match ctx.fd(fd)? {
        Fd::File { root, path, .. } => {
            let fs = ctx.root(*root)?;
            let tree = fs.0.borrow();
            match lookup(&tree, path) {
                Some(Node::File(c)) => c.len() as u64,
                _ => return Err(ENOENT),
            }
        }
        Fd::Dir { .. } => return Err(EISDIR),
        _ => return Err(ESPIPE),
    };
    let Fd::File { pos, .. } = ctx.fd_mut(fd)? else {
        return Err(EBADF);
    };
    let base = match whence {
        0 => 0i128,
        1 => i128::from(*pos),
        2 => i128::from(size),
        _ => return Err(EINVAL),
    };
    let new = base + i128::from(offset);
    if new < 0 || new > i128::from(MAX_FILE_BYTES) {
        return Err(EINVAL);
    }
    *pos = new as u64;
    Ok(*pos)
}

/// Adds the WASI function `name` to the linker, checking the plugin imports it with the right type.
pub(crate) fn link(
    linker: &mut Linker<StoreData>,
    name: &str,
    ty: &wasmi::FuncType,
) -> Result<(), Error> {
    use wasmi::ValType::{I32, I64};
    let err = |reason: &str| link_error(MODULE, name, reason);
    macro_rules! def {
        ($params:expr, $results:expr, $f:expr) => {{
            let (params, results): (&[wasmi::ValType], &[wasmi::ValType]) = (&$params, &$results);
            if ty.params() != params || ty.results() != results {
                return Err(err(&format!(
                    "expected type {}",
                    crate::wasm::fmt_sig(params, results)
                )));
            }
            linker
                .func_wrap(MODULE, name, $f)
                .map_err(|e| err(&e.to_string()))?;
        }};
    }
    type C<'a> = Caller<'a, StoreData>;
    match name {
        "args_sizes_get" => def!(
            [I32, I32],
            [I32],
            |mut c: C<'_>, argc: u32, size: u32| with(&mut c, |m, d| {
                let a = &d.wasi.config.args;
                m.put_u32(argc, a.len() as u32)?;
                m.put_u32(size, a.iter().map(|s| s.len() as u32 + 1).sum())
            })
        ),
        "args_get" => def!([I32, I32], [I32], |mut c: C<'_>, argv: u32, buf: u32| with(
            &mut c,
            |m, d| {
                let items: Vec<String> = d.wasi.config.args.clone();
                put_strings(m, &items, argv, buf)
            }
        )),
        "environ_sizes_get" => def!([I32, I32], [I32], |mut c: C<'_>, count: u32, size: u32| {
            with(&mut c, |m, d| {
                let e = &d.wasi.config.env;
                m.put_u32(count, e.len() as u32)?;
                m.put_u32(
                    size,
                    e.iter().map(|(k, v)| (k.len() + v.len() + 2) as u32).sum(),
                )
            })
        }),
        "environ_get" => def!([I32, I32], [I32], |mut c: C<'_>, envp: u32, buf: u32| with(
            &mut c,
            |m, d| {
                let items: Vec<String> = d
                    .wasi
                    .config
                    .env
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                put_strings(m, &items, envp, buf)
            }
        )),
        "clock_res_get" => def!([I32, I32], [I32], |mut c: C<'_>, id: u32, out: u32| with(
            &mut c,
            |m, _| {
                if id > 3 {
                    return Err(EINVAL);
                }
                m.put_u64(out, 1_000)
            }
        )),
        "clock_time_get" => def!(
            [I32, I64, I32],
            [I32],
            |mut c: C<'_>, id: u32, _precision: u64, out: u32| with(&mut c, |m, d| {
                let now = now_nanos(&d.wasi.config.clock);
                let t = match id {
                    0 => now,
                    // Monotonic and CPU clocks: never go backwards, even if the wall clock does.
                    1..=3 => {
                        d.wasi.last_monotonic = d.wasi.last_monotonic.max(now);
                        d.wasi.last_monotonic
                    }
                    _ => return Err(EINVAL),
                };
                m.put_u64(out, t)
            })
        ),
        "random_get" => def!([I32, I32], [I32], |mut c: C<'_>, buf: u32, len: u32| with(
            &mut c,
            |m, d| {
                if len > 1 << 20 {
                    return Err(EINVAL);
                }
                let bytes: Vec<u8> = (0..len.div_ceil(8))
                    .flat_map(|_| d.wasi.next_random().to_le_bytes())
                    .take(len as usize)
                    .collect();
                m.put(buf, &bytes)
            }
        )),
        "fd_write" => def!(
            [I32, I32, I32, I32],
            [I32],
            |mut c: C<'_>, fd: i32, iovs: u32, n: u32, out: u32| with(&mut c, |m, d| fd_write(
                m, d, fd, iovs, n, out
            ))
        ),
        "fd_pwrite" => def!(
            [I32, I32, I32, I64, I32],
            [I32],
            |mut c: C<'_>, fd: i32, iovs: u32, n: u32, off: u64, out: u32| with(&mut c, |m, d| {
                let mut bytes = Vec::new();
                for (p, l) in m.iovecs(iovs, n)? {
                    bytes.extend_from_slice(m.slice(p, l)?);
                }
                write_file_at(&mut d.wasi, fd, Some(off), &bytes)?;
                m.put_u32(out, bytes.len() as u32)
            })
        ),
        "fd_read" => def!(
            [I32, I32, I32, I32],
            [I32],
            |mut c: C<'_>, fd: i32, iovs: u32, n: u32, out: u32| with(&mut c, |m, d| fd_read(
                m, d, fd, iovs, n, out, None
            ))
        ),
        "fd_pread" => def!(
            [I32, I32, I32, I64, I32],
            [I32],
            |mut c: C<'_>, fd: i32, iovs: u32, n: u32, off: u64, out: u32| with(&mut c, |m, d| {
                fd_read(m, d, fd, iovs, n, out, Some(off))
            })
        ),
        "fd_close" => def!([I32], [I32], |mut c: C<'_>, fd: i32| with(
            &mut c,
            |_, d| {
                d.wasi.fd(fd)?;
                if let Some(slot) = usize::try_from(fd).ok().and_then(|i| d.wasi.fds.get_mut(i)) {
                    *slot = None;
                }
                Ok(())
            }
        )),
        "fd_seek" => def!(
            [I32, I64, I32, I32],
            [I32],
            |mut c: C<'_>, fd: i32, off: i64, whence: u32, out: u32| with(&mut c, |m, d| {
                let pos = fd_seek(
                    &mut d.wasi,
                    fd,
                    off,
                    u8::try_from(whence).map_err(|_| EINVAL)?,
                )?;
                m.put_u64(out, pos)
            })
        ),
        "fd_tell" => def!([I32, I32], [I32], |mut c: C<'_>, fd: i32, out: u32| with(
            &mut c,
            |m, d| {
                let pos = fd_seek(&mut d.wasi, fd, 0, 1)?;
                m.put_u64(out, pos)
            }
        )),
        "fd_fdstat_get" => def!([I32, I32], [I32], |mut c: C<'_>, fd: i32, out: u32| with(
            &mut c,
            |m, d| {
                let (ty, flags) = match d.wasi.fd(fd)? {
                    Fd::Dir { .. } => (FILETYPE_DIRECTORY, 0),
                    Fd::File { append, .. } => (
                        FILETYPE_REGULAR_FILE,
                        if *append { FDFLAGS_APPEND } else { 0 },
                    ),
                    _ => (FILETYPE_CHARACTER_DEVICE, 0),
                };
                let mut st = [0u8; 24];
                st[0] = ty;
                st[2..4].copy_from_slice(&flags.to_le_bytes());
                st[8..16].copy_from_slice(&RIGHTS_ALL.to_le_bytes());
                st[16..24].copy_from_slice(&RIGHTS_ALL.to_le_bytes());
                m.put(out, &st)
            }
        )),
        "fd_fdstat_set_flags" => def!([I32, I32], [I32], |mut c: C<'_>, fd: i32, flags: u32| with(
            &mut c,
            |_, d| {
                match d.wasi.fd_mut(fd)? {
                    Fd::File { append, .. } => {
                        *append = flags & u32::from(FDFLAGS_APPEND) != 0;
                        Ok(())
                    }
                    _ => Err(ENOTSUP),
                }
            }
        )),
        "fd_fdstat_set_rights" => def!(
            [I32, I64, I64],
            [I32],
            |mut c: C<'_>, fd: i32, _b: u64, _i: u64| fd_exists(&mut c, fd)
        ),
        "fd_filestat_get" => def!([I32, I32], [I32], |mut c: C<'_>, fd: i32, out: u32| with(
            &mut c,
            |m, d| {
                let st = fd_filestat(&d.wasi, fd)?;
                m.put(out, &st)
            }
        )),
        "fd_filestat_set_size" => def!([I32, I64], [I32], |mut c: C<'_>, fd: i32, size: u64| with(
            &mut c,
            |_, d| {
                if size > MAX_FILE_BYTES {
                    return Err(EFBIG);
                }
                let Fd::File { root, path, .. } = d.wasi.fd(fd)? else {
                    return Err(EBADF);
                };
                let fs = d.wasi.root(*root)?;
                let mut tree = fs.0.borrow_mut();
                match lookup_mut(&mut tree, path) {
                    Some(Node::File(content)) => {
                        content.resize(size as usize, 0);
                        Ok(())
                    }
                    _ => Err(ENOENT),
                }
            }
        )),
        "fd_filestat_set_times" => def!(
            [I32, I64, I64, I32],
            [I32],
            |mut c: C<'_>, fd: i32, _a: u64, _m: u64, _f: u32| fd_exists(&mut c, fd)
        ),
        "fd_prestat_get" => def!([I32, I32], [I32], |mut c: C<'_>, fd: i32, out: u32| with(
            &mut c,
            |m, d| {
                let idx = usize::try_from(fd)
                    .map_err(|_| EBADF)?
                    .checked_sub(3)
                    .ok_or(EBADF)?;
                let (name, _) = d.wasi.config.preopens.get(idx).ok_or(EBADF)?;
                // Only the original preopen fds count, not directories opened later.
                if !matches!(d.wasi.fd(fd)?, Fd::Dir { path, .. } if path.is_empty()) {
                    return Err(EBADF);
                }
                let mut st = [0u8; 8];
                st[4..8].copy_from_slice(&(name.len() as u32).to_le_bytes());
                m.put(out, &st)
            }
        )),
        "fd_prestat_dir_name" => def!(
            [I32, I32, I32],
            [I32],
            |mut c: C<'_>, fd: i32, buf: u32, len: u32| with(&mut c, |m, d| {
                let idx = usize::try_from(fd)
                    .map_err(|_| EBADF)?
                    .checked_sub(3)
                    .ok_or(EBADF)?;
                let (name, _) = d.wasi.config.preopens.get(idx).ok_or(EBADF)?;
                if (len as usize) < name.len() {
                    return Err(ENAMETOOLONG);
                }
                m.put(buf, name.as_bytes())
            })
        ),
        "fd_readdir" => def!(
            [I32, I32, I32, I64, I32],
            [I32],
            |mut c: C<'_>, fd: i32, buf: u32, len: u32, cookie: u64, used: u32| with(
                &mut c,
                |m, d| fd_readdir(m, &d.wasi, fd, buf, len, cookie, used)
            )
        ),
        "fd_sync" | "fd_datasync" => {
            def!([I32], [I32], |mut c: C<'_>, fd: i32| fd_exists(&mut c, fd))
        }
        "fd_advise" => def!(
            [I32, I64, I64, I32],
            [I32],
            |mut c: C<'_>, fd: i32, _o: u64, _l: u64, _a: u32| fd_exists(&mut c, fd)
        ),
        "fd_allocate" => def!(
            [I32, I64, I64],
            [I32],
            |mut c: C<'_>, fd: i32, _o: u64, _l: u64| with(&mut c, |_, d| d
                .wasi
                .fd(fd)
                .map(|_| ())
                .and(Err(ENOTSUP)))
        ),
        "fd_renumber" => def!([I32, I32], [I32], |mut c: C<'_>, from: i32, to: i32| with(
            &mut c,
            |_, d| {
                d.wasi.fd(from)?;
                d.wasi.fd(to)?;
                let (f, t) = (from as usize, to as usize);
                let moved = d.wasi.fds.get_mut(f).and_then(Option::take);
                if let Some(slot) = d.wasi.fds.get_mut(t) {
                    *slot = moved;
                }
                Ok(())
            }
        )),
        "path_open" => def!(
            [I32, I32, I32, I32, I32, I64, I64, I32, I32],
            [I32],
            |mut c: C<'_>,
             dirfd: i32,
             _look: u32,
             p: u32,
             pl: u32,
             oflags: u32,
             _rb: u64,
             _ri: u64,
             fdflags: u32,
             out: u32| with(&mut c, |m, d| {
                path_open(
                    m,
                    &mut d.wasi,
                    dirfd,
                    (p, pl),
                    oflags as u16,
                    fdflags as u16,
                    out,
                )
            })
        ),
        "path_filestat_get" => def!(
            [I32, I32, I32, I32, I32],
            [I32],
            |mut c: C<'_>, dirfd: i32, _look: u32, p: u32, pl: u32, out: u32| with(
                &mut c,
                |m, d| {
                    let path = m.string(p, pl)?;
                    let (root, parts) = resolve(&d.wasi, dirfd, &path)?;
                    let fs = d.wasi.root(root)?;
                    let st = lookup(&fs.0.borrow(), &parts)
                        .map(|n| stat_node(n, ino_of(&parts)))
                        .ok_or(ENOENT)?;
                    m.put(out, &st)
                }
            )
        ),
        "path_filestat_set_times" => def!(
            [I32, I32, I32, I32, I64, I64, I32],
            [I32],
            |mut c: C<'_>, dirfd: i32, _look: u32, p: u32, pl: u32, _a: u64, _m: u64, _f: u32| with(
                &mut c,
                |m, d| {
                    let path = m.string(p, pl)?;
                    let (root, parts) = resolve(&d.wasi, dirfd, &path)?;
                    let fs = d.wasi.root(root)?;
                    lookup(&fs.0.borrow(), &parts).map(|_| ()).ok_or(ENOENT)
                }
            )
        ),
        "path_create_directory" => def!(
            [I32, I32, I32],
            [I32],
            |mut c: C<'_>, dirfd: i32, p: u32, pl: u32| dir_entry_op(
                &mut c,
                dirfd,
                (p, pl),
                |entries, name| {
                    if entries.contains_key(name) {
                        return Err(EEXIST);
                    }
                    entries.insert(name.to_owned(), Node::default());
                    Ok(())
                }
            )
        ),
        "path_remove_directory" => def!(
            [I32, I32, I32],
            [I32],
            |mut c: C<'_>, dirfd: i32, p: u32, pl: u32| dir_entry_op(
                &mut c,
                dirfd,
                (p, pl),
                |entries, name| {
                    match entries.get(name) {
                        Some(Node::Dir(e)) if e.is_empty() => {
                            entries.remove(name);
                            Ok(())
                        }
                        Some(Node::Dir(_)) => Err(ENOTEMPTY),
                        Some(Node::File(_)) => Err(ENOTDIR),
                        None => Err(ENOENT),
                    }
                }
            )
        ),
        "path_unlink_file" => def!(
            [I32, I32, I32],
            [I32],
            |mut c: C<'_>, dirfd: i32, p: u32, pl: u32| dir_entry_op(
                &mut c,
                dirfd,
                (p, pl),
                |entries, name| {
                    match entries.get(name) {
                        Some(Node::File(_)) => {
                            entries.remove(name);
                            Ok(())
                        }
                        Some(Node::Dir(_)) => Err(EISDIR),
                        None => Err(ENOENT),
                    }
                }
            )
        ),
        "path_rename" => def!(
            [I32, I32, I32, I32, I32, I32],
            [I32],
            |mut c: C<'_>, fd1: i32, p1: u32, l1: u32, fd2: i32, p2: u32, l2: u32| with(
                &mut c,
                |m, d| {
                    let (from, to) = (m.string(p1, l1)?, m.string(p2, l2)?);
                    let (r1, a) = resolve(&d.wasi, fd1, &from)?;
                    let (r2, b) = resolve(&d.wasi, fd2, &to)?;
                    if r1 != r2 {
                        return Err(18); // EXDEV
                    }
                    if b.starts_with(&a) && b.len() > a.len() {
                        return Err(EINVAL);
                    }
                    let fs = d.wasi.root(r1)?.clone();
                    let mut tree = fs.0.borrow_mut();
                    let (an, ad) = a.split_last().ok_or(EINVAL)?;
                    let node = match lookup_mut(&mut tree, ad) {
                        Some(Node::Dir(e)) => e.remove(an).ok_or(ENOENT)?,
                        _ => return Err(ENOENT),
                    };
                    let (bn, bd) = b.split_last().ok_or(EINVAL)?;
                    match lookup_mut(&mut tree, bd) {
                        Some(Node::Dir(e)) => {
                            e.insert(bn.clone(), node);
                            Ok(())
                        }
                        _ => Err(ENOENT),
                    }
                }
            )
        ),
        "path_link" => def!(
            [I32, I32, I32, I32, I32, I32, I32],
            [I32],
            |_c: C<'_>, _a: i32, _b: u32, _p: u32, _l: u32, _d: i32, _q: u32, _m: u32| i32::from(
                ENOTSUP
            )
        ),
        "path_symlink" => def!(
            [I32, I32, I32, I32, I32],
            [I32],
            |_c: C<'_>, _p: u32, _l: u32, _d: i32, _q: u32, _m: u32| i32::from(ENOTSUP)
        ),
        "path_readlink" => def!(
            [I32, I32, I32, I32, I32, I32],
            [I32],
            |_c: C<'_>, _d: i32, _p: u32, _l: u32, _b: u32, _n: u32, _o: u32| i32::from(EINVAL)
        ),
        "poll_oneoff" => def!(
            [I32, I32, I32, I32],
            [I32],
            |_c: C<'_>, _i: u32, _o: u32, _n: u32, _r: u32| i32::from(ENOTSUP)
        ),
        "sched_yield" => def!([], [I32], |_c: C<'_>| 0i32),
        "proc_raise" => def!([I32], [I32], |_c: C<'_>, _s: u32| i32::from(ENOSYS)),
        "proc_exit" => def!([I32], [], |_c: C<'_>,
                                        code: i32|
         -> Result<(), wasmi::Error> {
            Err(wasmi::Error::i32_exit(code))
        }),
        "sock_accept" => def!(
            [I32, I32, I32],
            [I32],
            |_c: C<'_>, _a: i32, _b: u32, _o: u32| i32::from(ENOSYS)
        ),
        "sock_recv" => def!(
            [I32, I32, I32, I32, I32, I32],
            [I32],
            |_c: C<'_>, _a: i32, _b: u32, _n: u32, _f: u32, _r: u32, _o: u32| i32::from(ENOSYS)
        ),
        "sock_send" => def!(
            [I32, I32, I32, I32, I32],
            [I32],
            |_c: C<'_>, _a: i32, _b: u32, _n: u32, _f: u32, _o: u32| i32::from(ENOSYS)
        ),
        "sock_shutdown" => def!([I32, I32], [I32], |_c: C<'_>, _a: i32, _h: u32| i32::from(
            ENOSYS
        )),
        _ => return Err(err("not a WASI preview 1 function")),
    }
    Ok(())
}

/// For calls that change one entry of a directory (create, remove, unlink): resolves the
/// path below `dirfd` and runs `op` on the parent directory's entries with the last name.
fn dir_entry_op(
    caller: &mut Caller<'_, StoreData>,
    dirfd: i32,
    path: (u32, u32),
    op: impl FnOnce(&mut BTreeMap<String, Node>, &str) -> Result<(), Errno>,
) -> i32 {
    with(caller, |m, d| {
        let path = m.string(path.0, path.1)?;
        modify_dir(&mut d.wasi, dirfd, &path, op)
    })
}

/// For calls that only need a valid descriptor (sync, advice, times, rights): ok or EBADF.
fn fd_exists(caller: &mut Caller<'_, StoreData>, fd: i32) -> i32 {
    with(caller, |_, d| d.wasi.fd(fd).map(|_| ()))
}

/// Writes NUL-terminated strings to `buf` and their pointers to `ptrs` (args/environ layout).
fn put_strings(m: &mut Mem<'_>, items: &[String], ptrs: u32, buf: u32) -> Result<(), Errno> {
    let mut at = buf;
    for (i, s) in items.iter().enumerate() {
        let slot = ptrs
            .checked_add(u32::try_from(i * 4).map_err(|_| E2BIG)?)
            .ok_or(EFAULT)?;
        m.put_u32(slot, at)?;
        m.put(at, s.as_bytes())?;
        let end = at.checked_add(s.len() as u32).ok_or(EFAULT)?;
        m.put(end, &[0])?;
        at = end.checked_add(1).ok_or(EFAULT)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memfs_write_read_list() {
        let fs = MemFs::new();
        fs.write_file("a/b/c.txt", b"hi").unwrap();
        assert_eq!(fs.read_file("a/b/c.txt").unwrap(), b"hi");
        assert_eq!(fs.list_dir("a").unwrap(), vec!["b".to_owned()]);
        assert!(fs.write_file("../x", b"").is_err());
        assert!(fs.write_file("a/b/c.txt/d", b"").is_err());
    }

    #[test]
    fn resolve_never_leaves_the_preopen() {
        let ctx = WasiCtx::new(&WasiConfig::new().preopen("/data", MemFs::new()));
        assert_eq!(
            resolve(&ctx, 3, "x/../y").unwrap(),
            (0, vec!["y".to_owned()])
        );
        assert_eq!(resolve(&ctx, 3, "../etc/passwd").unwrap_err(), ENOTCAPABLE);
        assert_eq!(resolve(&ctx, 3, "/etc/passwd").unwrap_err(), ENOTCAPABLE);
        assert_eq!(resolve(&ctx, 3, "a\0b").unwrap_err(), ENOTCAPABLE);
        assert_eq!(resolve(&ctx, 1, "x").unwrap_err(), ENOTDIR);
        assert_eq!(resolve(&ctx, 9, "x").unwrap_err(), EBADF);
    }
}
