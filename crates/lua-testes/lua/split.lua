-- Splits a Lua source into its top-level chunks, as PUC Lua sees them: lines are gathered until
-- what is gathered compiles on its own (a statement, a `do ... end` block, a function), then a
-- chunk ends. Prints one `first last` line range per chunk.
local path = assert(arg[1], "usage: lua5.4 split.lua FILE")
local f = assert(io.open(path, "rb"))
local src = f:read("a")
f:close()
local lines = {}
for line in src:gmatch("[^\n]*\n?") do
  if line ~= "" then lines[#lines + 1] = line end
end
local first, acc = 1, {}
for i, line in ipairs(lines) do
  acc[#acc + 1] = line
  local text = table.concat(acc)
  -- A shebang line is not Lua outside a file's first line.
  local code = text:gsub("^#[^\n]*", "")
  if load(code, "=chunk", "t") then
    -- Only chunks with code in them: comments and blank lines are not chunks.
    if code:gsub("%-%-%[(=*)%[.-%]%1%]", ""):gsub("%-%-[^\n]*", ""):match("%S") then
      print(first, i)
    end
    first, acc = i + 1, {}
  end
end
if #acc > 0 then print(first, #lines) end
