-- Neovim's built-in LSP client against `virt-macvtap lsp` (headless, run by scripts/check-lsp):
-- open a domain file, wait for the server's diagnostics, write them as "line:col:code:severity".
local bin = os.getenv("VIRT_MACVTAP")
local workspace = os.getenv("VIRT_MACVTAP_LSP_WORKSPACE")
vim.cmd("edit " .. workspace .. "/web.xml")
local buffer = vim.api.nvim_get_current_buf()
local client = vim.lsp.start_client({ name = "virt-macvtap", cmd = { bin, "lsp" }, root_dir = workspace })
vim.lsp.buf_attach_client(buffer, client)
vim.wait(20000, function() return #vim.diagnostic.get(buffer) > 0 end, 50)
local lines = {}
for _, diagnostic in ipairs(vim.diagnostic.get(buffer)) do
  local code = diagnostic.code or (diagnostic.user_data and diagnostic.user_data.lsp and diagnostic.user_data.lsp.code) or "?"
  table.insert(lines, string.format("%d:%d:%s:%d", diagnostic.lnum, diagnostic.col, code, diagnostic.severity))
end
vim.fn.writefile(lines, workspace .. "/../nvim-diagnostics.txt")
vim.lsp.stop_client(client)
vim.cmd("qa!")
