-- The Lua VM the nvim examples (nvim_examples.zig) run `lua_exec`/`lua_eval` in:
-- `plugboard call target/plugins/zig/nvim_examples.wasm luaEvalExample --lua-vm plugins/zig/vm.lua`
function greet(who)
    return "hello " .. who
end
