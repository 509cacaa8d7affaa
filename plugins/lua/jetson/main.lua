-- The example plugin of plugin_lua (ABIS.md §6). The embedder provides `math.add`,
-- `sys.print` (its arguments concatenated, no separator) and `sys.exit`.

function init()
    sys.print("hello!")
    sys.print("Some math: ", math.add(5, 5))
end

function update()
    for i = 1, 6 do
        sys.print("inside a loop y'all: ", i)
    end
    sys.exit()
    return false
end

function destroy()
    sys.print("Bye bye now")
end
