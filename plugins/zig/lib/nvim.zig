//! Shared glue for nvim-ABI (wasm_nvim) plugins written in Zig: the allocator exports the host
//! calls, the `host` imports, and helpers to make and read values by id.
const std = @import("std");

pub const gpa = std.heap.wasm_allocator;

pub extern "host" fn get_id() u32;
pub extern "host" fn get_addr(ptr: [*]const u8) u32;
pub extern "host" fn set_value(id: u32, ptr: u32, len: u32) void;
pub extern "host" fn get_value_size(id: u32) u32;
pub extern "host" fn get_value_addr(id: u32) [*]u8;
pub extern "host" fn lua_exec(id: u32) void;
pub extern "host" fn lua_eval(id: u32) u32;

const Ciovec = extern struct { base: [*]const u8, len: usize };
extern "wasi_snapshot_preview1" fn fd_write(fd: i32, iovs: [*]const Ciovec, n: usize, written: *usize) u16;

/// Writes `msg` to stdout (WASI `fd_write`), which the host hands to its log.
pub fn print(msg: []const u8) void {
    var written: usize = 0;
    const iov = [_]Ciovec{.{ .base = msg.ptr, .len = msg.len }};
    _ = fd_write(1, &iov, 1, &written);
}

/// The host's `alloc`: a buffer the host fills (`get_value_addr`) and the plugin frees.
export fn alloc(size: u32) ?[*]u8 {
    const buf = gpa.alloc(u8, size) catch return null;
    return buf.ptr;
}

/// The host's `dealloc`: after `set_value` copied a buffer, the host frees it here.
export fn dealloc(ptr: [*]u8, size: u32) void {
    gpa.free(ptr[0..size]);
}

/// A new id holding a copy of `bytes` (the host frees the copy after taking it).
pub fn newValue(bytes: []const u8) u32 {
    const copy = gpa.dupe(u8, bytes) catch @panic("out of memory");
    const id = get_id();
    set_value(id, get_addr(copy.ptr), @intCast(copy.len));
    return id;
}

/// A new id holding the decimal JSON number `n`.
pub fn newNumber(n: u64) u32 {
    var buf: [24]u8 = undefined;
    const text = std.fmt.bufPrint(&buf, "{d}", .{n}) catch unreachable;
    return newValue(text);
}

/// Takes the value of `id` (consuming it); free the slice with `gpa.free`.
pub fn takeValue(id: u32) []u8 {
    const size = get_value_size(id);
    const ptr = get_value_addr(id);
    return ptr[0..size];
}

/// Takes the value of `id` as an unsigned JSON integer (0 if it is none).
pub fn takeNumber(id: u32) u64 {
    if (id == 0) return 0;
    const text = takeValue(id);
    defer gpa.free(text);
    return std.fmt.parseInt(u64, std.mem.trim(u8, text, " \n"), 10) catch 0;
}
