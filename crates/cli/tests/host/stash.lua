-- A global table is a namespace: `stash.put` and `stash.get`. State lives as long as the run.
local data = {}
stash = {
  put = function(key, value)
    data[key] = value
  end,
  get = function(key)
    return data[key]
  end,
}
-- A global function is in `env`.
function join(a, b) return a .. "+" .. b end
-- Not functions: ignored.
limit = 10
config = { name = "x" }
