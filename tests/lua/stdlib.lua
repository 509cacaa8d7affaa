-- The standard library plugboard completes (in Rust): string, table, utf8, os, base additions.

-- string
assert(string.format("%5.1f|%-4d|%x|%q", 3.14159, 7, 255, "a\"b") == '  3.1|7   |ff|"a\\"b"')
assert(string.format("%s %s %s", nil, true, 12) == "nil true 12")
assert(string.format("%g %g %e", 1e20, 0.5, 0) == "1e+20 0.5 0.000000e+00")
assert(string.rep("ab", 3, "-") == "ab-ab-ab")
assert(string.sub("hello", 2, -2) == "ell" and string.sub("hello", -3) == "llo")
assert(string.byte("A") == 65 and string.char(72, 105) == "Hi")
assert(string.upper("abc") == "ABC" and string.reverse("abc") == "cba")

-- patterns
assert(string.find("hello world", "wor") == 7)
assert(select(2, string.find("hello world", "o w")) == 7)
local k, v = string.match("key=value", "(%w+)=(%w+)")
assert(k == "key" and v == "value")
assert(string.match("2024-11-23", "^(%d+)-%d+-(%d+)$") == "2024")
assert(string.gsub("hello world", "o", "0") == "hell0 w0rld")
assert(select(2, string.gsub("abc", "%w", "%0%0")) == 3)
assert(string.gsub("$a + $b", "%$(%a)", { a = 1, b = 2 }) == "1 + 2")
assert(string.gsub("one two", "(%w+)", function(w) return #w end) == "3 3")
assert(string.gsub("THE (quick) fox", "%f[%a]%a+", "X") == "X (X) X")
assert(string.match("f(a(b)c)", "%b()") == "(a(b)c)")
assert(string.match("hello", "()ll()") == 3)
local words = {}
for w in string.gmatch("one two  three", "%a+") do words[#words + 1] = w end
assert(#words == 3 and words[3] == "three")

-- table
local t = { 3, 1, 2 }
table.sort(t)
assert(table.concat(t, ",") == "1,2,3")
table.sort(t, function(a, b) return a > b end)
assert(table.concat(t, ",") == "3,2,1")
table.insert(t, 1, 4)
assert(table.remove(t) == 1 and t[1] == 4 and #t == 3)
assert(select("#", table.unpack({ 1, 2, 3 })) == 3)
assert(table.pack(1, 2).n == 2)
assert(table.concat(table.move({ 1, 2, 3 }, 1, 3, 2), ",") == "1,1,2,3")

-- utf8
assert(utf8.char(228, 8364) == "ä€" and utf8.len("ä€") == 2)
assert(utf8.codepoint("€") == 8364 and utf8.offset("ä€", 2) == 3)
local cps = {}
for _, cp in utf8.codes("hé") do cps[#cps + 1] = cp end
assert(cps[2] == 233)
assert(string.match("añb", utf8.charpattern, 2) == "ñ")

-- base additions
assert(tonumber("0x1F") == 31 and tonumber("11", 2) == 3 and tonumber("  5  ") == 5)
assert(tonumber("nope") == nil)
assert(rawequal(t, t) and not rawequal(t, {}) and rawlen({ 1, 2 }) == 2)
assert(select(-1, 1, 2, 3) == 3)
local ok, msg = xpcall(function() error("x", 0) end, function(m) return "handled " .. m end)
assert(not ok and msg == "handled x")

-- os (UTC, host clock)
assert(os.date("!%Y-%m-%d", 86400) == "1970-01-02")
assert(os.time({ year = 1970, month = 1, day = 2, hour = 0 }) == 86400)
assert(type(os.time()) == "number" and os.clock() >= 0)

-- math (piccolo's, with a host-seeded random)
math.randomseed(42)
local r1 = math.random(1, 100)
math.randomseed(42)
assert(math.random(1, 100) == r1)
assert(math.floor(2.5) == 2 and math.max(1, 5, 3) == 5 and math.tointeger(3.0) == 3)

-- fixes over piccolo 0.3.3
assert(math.abs(math.mininteger) == math.mininteger and math.fmod(7, -1) == 0)
assert(math.tointeger(2^63) == nil and math.tointeger(3.0) == 3)
assert(tostring(1e15) == "1e+15" and tostring(0.1) == "0.1" and tostring(-0.0) == "-0.0")
assert(-7 // 2 == -4 and math.mininteger % -1 == 0 and (1 << 64) == 0)
local x, y = 1, 2
x, y = y, x
assert(x == 2 and y == 1)

-- base
assert(_VERSION == "Lua 5.4")
