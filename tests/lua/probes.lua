-- Extreme-argument probes of the standard library: integers past 2^32 and at the ends of the
-- 64-bit range, where a host that narrowed a Lua integer to a 32-bit size (wasm32) would answer
-- differently from a 64-bit one. `report()` runs every probe under pcall and returns one line per
-- probe: its results, or its error without the location prefix. plugboard natively, the npm
-- package on wasm32 and PUC Lua 5.4 (`lua5.4 tests/lua/probes.lua` prints the same report) must
-- agree line for line, except the probes marked `ours`, where plugboard answers differently from
-- PUC Lua by design (COMPATIBILITY.md) and only the two plugboard builds are compared.

local probes = {
  -- select
  { "select(2^32+1, 'a', 'b')" },
  { "select(-(2^32+1), 'a')" },
  { "select(math.mininteger, 'a')" },
  { "select(math.maxinteger, 'a')" },
  { "select(-1, 'a', 'b')" },
  { "select('#', 1, nil, 3)" },
  -- string positions and sizes
  { "string.sub('abc', 2^32+1)" },
  { "string.sub('abc', -(2^32+1), 2^32+2)" },
  { "string.sub('abc', math.mininteger, math.maxinteger)" },
  { "string.sub('abc', 2, 2^32+2)" },
  { "string.byte('abc', 2^32+1)" },
  { "string.byte('abc', 1, 2^32+1)" },
  { "string.byte('abc', -(2^32+1), 2)" },
  { "string.rep('x', -(2^32))" },
  { "string.rep('x', 2^32+1 - 2^32, 'y')" },
  { "string.find('abc', 'b', 2^32+1)" },
  { "string.find('abc', 'b', -(2^32+1))" },
  { "string.find('abc', '', 2^32+1)" },
  { "string.find('abc', 'c', math.mininteger, true)" },
  { "string.match('abc', '.', 2^32+1)" },
  { "string.gmatch('abc', '.', 2^32+1)()" },
  { "string.gmatch('abc', '.', -(2^32+1))()" },
  { "string.format('%c', 2^32+65)" },
  { "string.format('%d', 2^53)" },
  { "string.format('%x', -1)" },
  { "string.format('%5.2s|', 'abc')" },
  { "string.char(255, 0, 65)" },
  { "string.char(2^32+65)" },
  -- string.pack
  { "string.packsize('c4294967297')" },
  { "string.unpack('c4294967297', 'x')" },
  { "string.unpack('i4', 'abcd', 2^32+1)" },
  { "string.unpack('i4', 'abcd', -(2^32+1))" },
  { "string.unpack('s8', string.pack('<I8', 2^32+1) .. 'x')" },
  { "string.unpack('<j', string.pack('<j', math.mininteger))" },
  { "string.pack('i4', 2^32)" },
  -- table
  { "table.unpack({1, 2}, 2^32+1, 2^32+2)" },
  { "table.unpack({}, 1, 2^32+1)", ours = "plugboard unpacks at most 2^20 values per call" },
  { "table.unpack({1, 2, 3}, -1, 1)" },
  { "table.unpack({}, math.maxinteger, math.mininteger)" },
  { "table.concat({'a'}, '', 2^32+1, 2^32+1)" },
  { "table.concat({'a', 'b'}, ',', 2^32+1 - 2^32, 2)" },
  { "table.insert({}, 2^32+1, 'x')" },
  { "table.insert({}, math.mininteger, 'x')" },
  { "table.remove({}, 2^32+1)", ours = "argument #2, as Lua 5.4.6 and later say (Debian's 5.4.4 says #1)" },
  { "table.remove({1, 2}, 2^32+1 - 2^32)" },
  { "table.move({1}, 1, 2^32+1, 1)", ours = "plugboard moves at most 2^20 elements per call (PUC Lua moves all 2^32+1)" },
  { "table.move({1, 2, 3}, 2, 3, 2^32+1)[2^32+2]" },
  -- utf8
  { "utf8.codepoint('ab', 2^32+1)" },
  { "utf8.codepoint('ab', 1, 2^32+1)" },
  { "utf8.len('ab', 2^32+1)" },
  { "utf8.len('ab', 1, 2^32+1)" },
  { "utf8.offset('ab', 2^32+1)" },
  { "utf8.offset('ab', 1, 2^32+1)" },
  { "utf8.offset('ab', -(2^32+1))" },
  { "utf8.char(2^31)" },
  { "#utf8.char(0x7FFFFFFF)" },
  { "(function() local f, s = utf8.codes('ab'); return f(s, 2^32) end)()" },
  { "(function() local f, s = utf8.codes('ab'); return f(s, 2^32+1) end)()" },
  { "(function() local f, s = utf8.codes('ab'); return f(s, 1-2^32) end)()" },
  { "(function() local f, s = utf8.codes('ab'); return f(s, -1) end)()" },
  -- integers and conversions
  { "math.random(2^32+1, 2^32+1)" },
  { "math.tointeger(2^53)" },
  { "math.tointeger(2^63)" },
  { "math.maxinteger + 1 == math.mininteger" },
  { "math.ult(-1, 1)" },
  { "1 << 63" },
  { "1 << 64" },
  { "-1 >> 1" },
  { "math.fmod(math.mininteger, -1)" },
  { "math.abs(math.mininteger)" },
  { "math.mininteger // -1" },
  { "math.mininteger % -1" },
  { "math.floor(2^62)" },
  { "2^53 + 1 == 2^53" },
  { "tostring(2^63)" },
  { "tonumber('0x7fffffffffffffff')" },
  { "tonumber('9223372036854775808')" },
  { "tonumber('ffffffff', 16)" },
  { "tonumber('1' .. string.rep('0', 20), 36)" },
  { "string.format('%.0f', 2^63)" },
}

local function show(v)
  local mt = math.type(v)
  if mt == "integer" then return tostring(v) end
  if mt == "float" then return string.format("%.17g", v) end
  if type(v) == "string" then
    -- Quoted, with quotes, backslashes, control and non-ASCII bytes as decimal escapes.
    return '"' .. v:gsub('[%c\128-\255"\\]', function(c) return "\\" .. c:byte() end) .. '"'
  end
  if v == nil or type(v) == "boolean" then return tostring(v) end
  return type(v)
end

local function run(expr)
  local chunk, err = load("return " .. expr, "=probe")
  if not chunk then return "syntax: " .. tostring(err) end
  local r = table.pack(pcall(chunk))
  if not r[1] then
    local msg = r[2]
    if type(msg) ~= "string" then return "error: " .. type(msg) end
    return "error: " .. (msg:gsub("^probe:%d+: ", ""))
  end
  local out = {}
  for i = 2, r.n do out[#out + 1] = show(r[i]) end
  return "ok: " .. table.concat(out, ", ")
end

--- One line per probe: `expr => result`; `ours` probes end with ` [ours]`.
function report()
  local lines = {}
  for _, p in ipairs(probes) do
    lines[#lines + 1] = p[1] .. " => " .. run(p[1]) .. (p.ours and " [ours]" or "")
  end
  return table.concat(lines, "\n") .. "\n"
end

-- Run by PUC Lua: print the report.
if arg then io.write(report()) end
