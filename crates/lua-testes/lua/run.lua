-- Runs one prepared testes text under PUC Lua: the text defines the counting `assert` (through
-- `testes.tally`, as plugboard's host function does) and `__testes_run`; this calls it and
-- prints `@@testes <status> <passed> <failed>` last.
local path = assert(arg[1], "usage: lua5.4 run.lua FILE")
local f = assert(io.open(path, "rb"))
local src = f:read("a")
f:close()
local passed, failed = 0, 0
testes = {
  tally = function(ok)
    if ok then passed = passed + 1 else failed = failed + 1 end
  end,
}
local function report(status)
  io.stdout:write(string.format("\n@@testes %s %d %d\n", status, passed, failed))
  io.stdout:flush()
end
local chunk = load(src, "=" .. (arg[2] or "chunk"), "t")
if not chunk then report("compile") return end
if not pcall(chunk) then report("error") return end
local ok = pcall(__testes_run)
report(ok and "ok" or "error")
