-- Host functions for the `conformance` fixture (buffer ABI): each import, by its name.
function mystery_number(x) return x * 2 end
function import_noop() end
function import_identity(x) return x end
-- A tuple result: several return values.
function import_swap(a, b) return b, a end
function import_half(a) return a // 2 end
-- Option<Vec<u8>>: nil is None, a string is its bytes.
function command_async(command)
  if command == "" then return nil end
  return "ran " .. command
end
