-- A Lua plugin calling the host functions of stash.lua.
function run(key, value)
  stash.put(key, value)
  return { got = stash.get(key), joined = env.join(key, value) }
end
