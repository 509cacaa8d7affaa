-- Runtime error messages: each probe is a chunk run under pcall, and its line in the report is
-- the error value exactly as the chunk's caller sees it, position included (the chunk is named
-- `e`, so positions read `e:1:`). plugboard natively, the npm package on wasm32 and PUC Lua 5.4
-- (`lua5.4 tests/lua/errors.lua` prints the same report) must agree line for line, except the
-- probes marked `ours`, where plugboard's message differs from PUC Lua's
-- (COMPATIBILITY.md says how).

local probes = {
  -- indexing: the indexed value named as PUC names it
  { "local t; return t.x" },
  { "return undefined_global.x" },
  { "local t = {}; return t.a.b" },
  { "local t = {a = {}}; return t.a.b.c" },
  { "local up; return (function() return up.x end)()" },
  { "local t; t.x = 1" },
  { "undefined_global.x = 1" },
  { "local t = {}; t.a.b = 1" },
  { "local t = {}; local k = 'a'; return t[k].b" },
  { "local t = {}; return t[1].b" },
  { "return (nil).x" },
  { "local a, b, c; return c.x" },
  { "local function f(p) return p.x end return f()" },
  -- calls
  { "local f; f()" },
  { "undefined_function()" },
  { "local t = {}; t.method()" },
  { "local t = {}; t:method()" },
  { "local t = {}; t.a.b()" },
  { "local up; return (function() up() end)()" },
  { "string.nonexistent('x')" },
  { "local t = {}; return t.f(1)" },
  { "local s; s:upper()" },
  { "local n = 1; n()" },
  -- arithmetic and bitwise
  { "local x; return x + 1" },
  { "local x; return 1 + x" },
  { "return undefined_global * 2" },
  { "local t = {}; return t.n - 1" },
  { "local s = 'abc'; return s + 1", ours = true },
  { "local x = {}; return -x" },
  { "local x; return x // 2" },
  { "local x; return 2 % x" },
  { "local x; return x ^ 2" },
  { "local x; return x / 2" },
  { "local a, b = 1; return a & b" },
  { "local a = 1.5; return a | 1" },
  { "local a; return ~a" },
  { "local t = {}; return 1 << t" },
  -- concatenation
  { "local x; return 'a' .. x" },
  { "local t = {}; return t.name .. '!'" },
  { "return 'a' .. {}" },
  { "local a = 1; return a .. nil" },
  -- length
  { "local x; return #x" },
  { "return #undefined_global" },
  { "local n = 5; return #n" },
  -- comparison (PUC names no variable)
  { "return {} < {}" },
  { "local a, b = 1, 'x'; return a < b" },
  { "return nil <= 1" },
  -- error and assert
  { "error('boom')" },
  { "error('boom', 0)" },
  { "error('boom', 1)" },
  { "local function f() error('deep', 2) end f()" },
  { "local function f() error('deep', 2) end\nlocal function g()\nf()\nend\ng()" },
  { "local function f() error('deep', 3) end\nlocal function g()\nf()\nend\ng()" },
  { "local function f() error('deep', 50) end f()" },
  { "error(42)" },
  { "error()" },
  { "assert(false)" },
  { "assert(nil, 'custom')" },
  { "assert(1 == 2, 'x' .. 1)" },
  -- library functions' errors carry the caller's position
  { "string.rep()" },
  { "local s = string.rep('x', 2, {})" },
  { "return ('x'):rep({})", ours = true },
  { "return math.floor('a')", ours = true },
  { "setmetatable(1, {})" },
  { "local t = setmetatable({}, {__metatable = 1}); setmetatable(t, {})" },
  { "return ipairs()", ours = true },
  { "return select(0, 1)" },
  { "return tostring()", ours = true },
  { "return string.format('%d', 1.5)" },
  { "return ('x'):bad()" },
  { "return pcall()", ours = true },
  { "return table.concat({{}})" },
  { "local f = load('x = ') return f()" },
  -- debug.getinfo at levels (the positions `error` levels use)
  { "local function f() local i = debug.getinfo(2, 'l') return i.currentline end\nlocal x = f()\nreturn x" },
  { "local function f() return debug.getinfo(1, 'l').currentline end\n\nlocal x = f()\nreturn x" },
  { "local function f() local i = debug.getinfo(3, 'S') return i.what end\nlocal x = f()\nreturn x" },
  { "return debug.getinfo(100)" },
  -- __index and __newindex chains
  { "local t = setmetatable({}, {}); getmetatable(t).__index = t; return t.x" },
  { "local t = setmetatable({}, {}); getmetatable(t).__newindex = t; t.x = 1" },
  { "local a, b = {}, {}; setmetatable(a, {__index = b}); setmetatable(b, {__index = a}); return a.x" },
  { "local t = {}; for i = 1, 100 do t = setmetatable({}, {__index = t}) end; return t.x" },
  -- nesting limits (PUC's C stack: about 200 library-to-Lua calls)
  { "local function g() local ok, e = pcall(g) if not ok then error(e, 0) end return ok end return g()" },
  { "local n = 0 local function f() n = n + 1 return pcall(f) end local ok, e = f() return ok, e, n > 150 and n < 250" },
  { "local function f() return string.gsub('a', '.', f) end return f()" },
  { "local function loop() assert(pcall(loop)) end local err, msg = xpcall(loop, loop) return err, (msg:gsub('^.*: ', ''))", ours = true },
  -- coroutines
  { "local co = coroutine.create(function() error('inside') end); coroutine.resume(co); return coroutine.close(co)" },
  { "local co = coroutine.create(function() error({}) end); coroutine.resume(co); local ok, e = coroutine.close(co); return ok, type(e)" },
  { "local co = coroutine.create(function() coroutine.yield() end); coroutine.resume(co); return coroutine.close(co)" },
  { "return coroutine.close(coroutine.create(print))" },
  { "local co = coroutine.create(function() error('x') end); coroutine.resume(co); coroutine.close(co); return coroutine.close(co)" },
  { "local co = coroutine.wrap(function() error('w') end); local ok, e = pcall(co); return ok, e" },
  { "local co = coroutine.wrap(function() error('in wrap') end); co()", ours = true },
}

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  if math.type(v) == "float" then return string.format("%.17g", v) end
  if v == nil or type(v) == "boolean" or type(v) == "number" then return tostring(v) end
  return type(v)
end

local function run(src)
  local chunk, err = load(src, "=e")
  if not chunk then return "syntax: " .. tostring(err) end
  local r = table.pack(pcall(chunk))
  if not r[1] then return "error: " .. show(r[2]) end
  local out = {}
  for i = 2, r.n do out[#out + 1] = show(r[i]) end
  return "ok: " .. table.concat(out, ", ")
end

--- One line per probe: `src => result` (newlines in src shown as `\n`); `ours` probes end
--- with ` [ours]`.
function report()
  local lines = {}
  for _, p in ipairs(probes) do
    local src = p[1]:gsub("\n", "\\n")
    lines[#lines + 1] = src .. " => " .. run(p[1]) .. (p.ours and " [ours]" or "")
  end
  return table.concat(lines, "\n") .. "\n"
end

-- Run by PUC Lua: print the report.
if arg then io.write(report()) end
