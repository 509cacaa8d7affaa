function add(a, b) error("cannot add " .. a .. " and " .. b) end
