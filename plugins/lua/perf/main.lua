-- The performance loop as a Lua plugin: sum 1..n (the same work as plugins/rust/perf).
function sum(n)
    local s = 0
    for i = 1, n do
        s = s + i
    end
    return s
end
