//! The wasm_nvim example set as an nvim-ABI plugin: a `functionality` listing, a function that
//! consumes a table, one that returns a table, one that runs Lua (`lua_exec`), one that
//! evaluates Lua (`lua_eval`), one that calls a host function, and an echo.
const std = @import("std");
const nvim = @import("lib/nvim.zig");

extern "host" fn add(id: u32) u32;

// `alloc` and `dealloc` are exported by lib/nvim.zig.
comptime {
    _ = nvim;
}

export fn functionality() u32 {
    return nvim.newValue(
        \\[{"name":"consuming","params":"u32","returns":"void"},
        \\ {"name":"returning","params":"void","returns":"u32"},
        \\ {"name":"luaExecExample","params":"void","returns":"void"},
        \\ {"name":"luaEvalExample","params":"void","returns":"u32"},
        \\ {"name":"hostAdd","params":"u32","returns":"u32"},
        \\ {"name":"echo","params":"u32","returns":"u32"}]
    );
}

/// Consumes a table: prints its keys (sorted as given) and the sum of its numbers.
export fn consuming(id: u32) void {
    const text = nvim.takeValue(id);
    defer nvim.gpa.free(text);
    const parsed = std.json.parseFromSlice(std.json.Value, nvim.gpa, text, .{}) catch {
        nvim.print("consuming: not JSON\n");
        return;
    };
    defer parsed.deinit();
    const obj = switch (parsed.value) {
        .object => |o| o,
        else => {
            nvim.print("consuming: not a table\n");
            return;
        },
    };
    var out: std.ArrayList(u8) = .empty;
    defer out.deinit(nvim.gpa);
    var total: f64 = 0;
    out.appendSlice(nvim.gpa, "consumed") catch return;
    var it = obj.iterator();
    while (it.next()) |entry| {
        out.print(nvim.gpa, " {s}", .{entry.key_ptr.*}) catch return;
        switch (entry.value_ptr.*) {
            .integer => |n| total += @floatFromInt(n),
            .float => |x| total += x,
            else => {},
        }
    }
    out.print(nvim.gpa, "; total {d}\n", .{total}) catch return;
    nvim.print(out.items);
}

/// Returns a table.
export fn returning() u32 {
    return nvim.newValue(
        \\{"yoo":"YOLO!!","list":[1,2,3],"nested":{"ok":true}}
    );
}

/// Runs Lua statements in the host's Lua VM.
export fn luaExecExample() void {
    nvim.lua_exec(nvim.newValue("zig_runs = (zig_runs or 0) + 1"));
}

/// Evaluates two Lua expressions and returns their values in a table.
export fn luaEvalExample() u32 {
    const number = nvim.takeValue(nvim.lua_eval(nvim.newValue("6 * 7")));
    defer nvim.gpa.free(number);
    const greeting = nvim.takeValue(nvim.lua_eval(nvim.newValue("greet('zig')")));
    defer nvim.gpa.free(greeting);
    var out: std.ArrayList(u8) = .empty;
    defer out.deinit(nvim.gpa);
    out.print(nvim.gpa, "{{\"number\":{s},\"greeting\":{s}}}", .{ number, greeting }) catch @panic("out of memory");
    return nvim.newValue(out.items);
}

/// Calls the host function `add` with the arguments it was given (`[a, b]`).
export fn hostAdd(id: u32) u32 {
    return add(id);
}

/// Returns its argument.
export fn echo(id: u32) u32 {
    return id;
}
