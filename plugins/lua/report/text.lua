-- Text helpers for the report plugin.
local M = {}

-- "hello wORLD" -> "Hello World"
function M.title(s)
    local out = string.gsub(s, "(%a)([%w_']*)", function(first, rest)
        return string.upper(first) .. string.lower(rest)
    end)
    return out
end

return M
