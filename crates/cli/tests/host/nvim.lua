-- `host.add` of the nvim fixture: it passes `[a, b]`, spread into the arguments.
function add(a, b) return a + b end
