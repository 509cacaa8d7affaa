-- A realistic Lua plugin: word frequencies as a formatted report, and title case.
-- Uses require, string.gmatch/format/rep/gsub with captures, table.sort with a comparator,
-- utf8.char.
local text = require("text")

function report(input)
    local counts = {}
    for word in string.gmatch(string.lower(input), "%a+") do
        counts[word] = (counts[word] or 0) + 1
    end
    local words = {}
    for w, n in pairs(counts) do
        words[#words + 1] = { word = w, n = n }
    end
    table.sort(words, function(a, b)
        if a.n ~= b.n then
            return a.n > b.n
        end
        return a.word < b.word
    end)
    local lines = {}
    for i, e in ipairs(words) do
        lines[#lines + 1] = string.format("%2d. %-8s %3d %s", i, e.word, e.n, string.rep(utf8.char(9608), e.n))
    end
    return table.concat(lines, "\n")
end

function title(s)
    return text.title(s)
end
