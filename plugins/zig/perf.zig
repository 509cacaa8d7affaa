//! The performance loop as an nvim-ABI plugin: `for_loop(n)` sums 1..n, `primes(n)` counts the
//! primes up to n by trial division (the same work as plugins/rust/perf and plugins/lua/perf).
const std = @import("std");
const nvim = @import("lib/nvim.zig");

// `alloc` and `dealloc` are exported by lib/nvim.zig.
comptime {
    _ = nvim;
}

export fn functionality() u32 {
    return nvim.newValue(
        \\[{"name":"for_loop","params":"u32","returns":"u32"},
        \\ {"name":"primes","params":"u32","returns":"u32"}]
    );
}

export fn for_loop(id: u32) u32 {
    const n = nvim.takeNumber(id);
    var sum: u64 = 0;
    var i: u64 = 1;
    while (i <= n) : (i += 1) {
        // Keep the loop a loop (no closed form), as the Rust plugin's `black_box` does.
        std.mem.doNotOptimizeAway(i);
        sum +%= i;
    }
    return nvim.newNumber(sum);
}

export fn primes(id: u32) u32 {
    const n = nvim.takeNumber(id);
    var count: u64 = 0;
    var k: u64 = 2;
    while (k <= n) : (k += 1) {
        var d: u64 = 2;
        var prime = true;
        while (d * d <= k) : (d += 1) {
            if (k % d == 0) {
                prime = false;
                break;
            }
        }
        if (prime) count += 1;
    }
    return nvim.newNumber(count);
}
