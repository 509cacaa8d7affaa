-- Language features plugboard's Lua (piccolo 0.3.3) supports. Each `assert` is a check.

-- integers, floats, division, bitwise
assert(7 // 2 == 3 and 7 % 3 == 1 and 2^10 == 1024.0 and 7 / 2 == 3.5)
assert(math.type(1) == "integer" and math.type(1.0) == "float")
assert((5 & 3) == 1 and (5 | 3) == 7 and (5 ~ 3) == 6 and (~0) == -1 and (1 << 4) == 16)
assert(-7 // 2 == -4 and -7 % 2 == 1)

-- strings and concatenation (the `..` rewrite)
local s = "a" .. 1 .. 2.5 .. "b"
assert(s == "a12.5b")
assert(#"héllo" == 6)

-- closures and upvalues
local function counter()
  local n = 0
  return function() n = n + 1 return n end
end
local c = counter()
c(); c()
assert(c() == 3)

-- varargs
local function count(...) return select("#", ...) end
assert(count(1, nil, 3) == 3)
local function pack(...) return {...} end
assert(#pack(1, 2, 3) == 3)

-- multiple assignment and returns
local a, b = 1, 2
a, b = b, a
assert(a == 2 and b == 1)

-- numeric and generic for, while, repeat, goto
local sum = 0
for i = 1, 10 do sum = sum + i end
for i = 10, 1, -2 do sum = sum + i end
assert(sum == 55 + 30)
local keys = 0
for k, v in pairs({x = 1, y = 2}) do keys = keys + v end
assert(keys == 3)
local n = 0
while n < 5 do n = n + 1 end
repeat n = n - 1 until n == 0
for i = 1, 3 do
  if i == 2 then goto continue end
  n = n + i
  ::continue::
end
assert(n == 4)

-- metatables: __index, __newindex, __call, __len, __tostring (through tostring)
local proto = { hello = function(self) return "hi " .. self.name end }
local obj = setmetatable({ name = "ada" }, { __index = proto })
assert(obj:hello() == "hi ada")
local log = {}
local t = setmetatable({}, { __newindex = function(t, k, v) rawset(t, k, v * 2) end })
t.x = 21
assert(t.x == 42)
local callable = setmetatable({}, { __call = function(self, x) return x + 1 end })
assert(callable(1) == 2)
local sized = setmetatable({}, { __len = function() return 99 end })
assert(#sized == 99)
assert(tostring(setmetatable({}, { __tostring = function() return "custom" end })) == "custom")

-- coroutines
local co = coroutine.create(function(x)
  local y = coroutine.yield(x + 1)
  return y * 2
end)
local ok1, v1 = coroutine.resume(co, 1)
local ok2, v2 = coroutine.resume(co, 10)
assert(ok1 and v1 == 2 and ok2 and v2 == 20 and coroutine.status(co) == "dead")

-- errors
local ok, err = pcall(function() error("boom") end)
assert(not ok and string.find(err, "boom"))
local ok3, err3 = pcall(function() error({ code = 7 }) end)
assert(not ok3 and err3.code == 7)
