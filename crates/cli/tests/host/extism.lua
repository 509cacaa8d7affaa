-- User host functions of the `extism_kitchen` fixture: inputs arrive as Lua strings holding
-- their bytes, and a returned string is the output's bytes.
function shout(text) return text:upper() .. "!" end
-- `add` takes and returns JSON (extism-pdk's Json<T>): text in, text out.
function add(pair)
  local a = tonumber(pair:match('"a":%s*(%-?%d+)'))
  local b = tonumber(pair:match('"b":%s*(%-?%d+)'))
  return '{"sum":' .. (a + b) .. '}'
end
