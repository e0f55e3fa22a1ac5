-- aiolint for Neovim: starts `aiolint server` for Python buffers.
--
--   require("aiolint").setup({ cmd = { "aiolint", "server" }, settings = {} })
--
-- Neovim 0.11+ registers the server with `vim.lsp.config` and starts it with
-- `vim.lsp.enable`; older versions start it from a `FileType python` autocommand, with
-- `vim.lsp.start` (0.8-0.10) or `vim.lsp.start_client` + `vim.lsp.buf_attach_client` (0.7).

local M = {}

M.name = "aiolint"

--- The files and folders whose presence marks a project root, nearest first.
M.root_markers = { "pyproject.toml", "setup.cfg", "setup.py", ".git" }

M.defaults = {
  -- The command that starts the language server.
  cmd = { "aiolint", "server" },
  -- Sent as `initializationOptions` and answered to `workspace/configuration`.
  settings = {},
  -- The filetypes the server is started for.
  filetypes = { "python" },
  -- The markers of a project root (see `M.root_markers`).
  root_markers = M.root_markers,
  -- Called as `on_attach(client, bufnr)` when the server attaches to a buffer.
  on_attach = nil,
}

local uv = vim.uv or vim.loop

local function notify(message, level)
  vim.schedule(function()
    vim.notify("aiolint: " .. message, level or vim.log.levels.ERROR)
  end)
end

local function is_absolute(path)
  return path:sub(1, 1) == "/" or path:match("^%a:[/\\]") ~= nil
end

local function dirname(path)
  local parent = path:match("^(.*)[/\\][^/\\]*$")
  if parent == nil or parent == "" then
    return "/"
  end
  return parent
end

--- The nearest folder at or above `path` that holds one of `markers`, or nil.
function M.find_root(path, markers)
  markers = markers or M.root_markers
  if path == nil or path == "" then
    return nil
  end
  local dir = dirname(path)
  while true do
    for _, marker in ipairs(markers) do
      if uv.fs_stat(dir .. "/" .. marker) ~= nil then
        return dir
      end
    end
    local parent = dirname(dir)
    if parent == dir then
      return nil
    end
    dir = parent
  end
end

--- Whether `cmd[1]` names an executable (on PATH, or as a path).
local function executable(cmd)
  local program = cmd[1]
  return type(program) == "string" and vim.fn.executable(program) == 1
end

local config = nil
local warned = false

local function check_cmd(cmd)
  if executable(cmd) then
    return true
  end
  if not warned then
    warned = true
    notify(
      string.format(
        "`%s` is not an executable. Install aiolint (so that `aiolint` is on PATH) "
          .. "or pass its path: require(\"aiolint\").setup({ cmd = { \"/path/to/aiolint\", \"server\" } })",
        tostring(cmd[1])
      )
    )
  end
  return false
end

--- The `vim.lsp` client configuration for a buffer whose file is `path`.
function M.client_config(path)
  local cfg = config or M.defaults
  local root = M.find_root(path, cfg.root_markers) or (path ~= "" and dirname(path)) or uv.cwd()
  return {
    name = M.name,
    cmd = cfg.cmd,
    root_dir = root,
    workspace_folders = {
      { uri = vim.uri_from_fname(root), name = root },
    },
    init_options = cfg.settings,
    settings = cfg.settings,
    on_attach = cfg.on_attach,
    handlers = {
      -- Answer `workspace/configuration` with our settings (older Neovims answer null).
      ["workspace/configuration"] = function(_, params)
        local items = {}
        for i = 1, #((params and params.items) or {}) do
          items[i] = cfg.settings
        end
        return items
      end,
    },
  }
end

-- One client per root on Neovim < 0.8, where `vim.lsp.start` does not reuse clients.
local clients_by_root = {}

--- Starts (or reuses) the server for `bufnr` on Neovim < 0.11.
function M.attach(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  if vim.bo[bufnr].buftype ~= "" then
    return nil
  end
  local cfg = config or M.defaults
  if not check_cmd(cfg.cmd) then
    return nil
  end
  local client_config = M.client_config(vim.api.nvim_buf_get_name(bufnr))
  if vim.lsp.start then
    return vim.lsp.start(client_config, { bufnr = bufnr })
  end
  local client_id = clients_by_root[client_config.root_dir]
  if client_id == nil or vim.lsp.get_client_by_id(client_id) == nil then
    client_id = vim.lsp.start_client(client_config)
    if client_id == nil then
      notify("could not start " .. table.concat(cfg.cmd, " "))
      return nil
    end
    clients_by_root[client_config.root_dir] = client_id
  end
  vim.lsp.buf_attach_client(bufnr, client_id)
  return client_id
end

--- Whether this Neovim has the 0.11 `vim.lsp.config`/`vim.lsp.enable` API.
function M.has_lsp_config()
  return vim.lsp.config ~= nil and vim.lsp.enable ~= nil and vim.fn.has("nvim-0.11") == 1
end

function M.setup(opts)
  config = vim.tbl_deep_extend("force", {}, M.defaults, opts or {})
  -- Lists replace, never merge.
  if opts and opts.cmd then
    config.cmd = opts.cmd
  end
  warned = false

  if M.has_lsp_config() then
    local cfg = config
    vim.lsp.config(M.name, {
      cmd = cfg.cmd,
      filetypes = cfg.filetypes,
      root_markers = cfg.root_markers,
      init_options = cfg.settings,
      settings = cfg.settings,
      on_attach = cfg.on_attach,
    })
    if check_cmd(cfg.cmd) then
      vim.lsp.enable(M.name)
    end
    return
  end

  local group = vim.api.nvim_create_augroup("aiolint", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = config.filetypes,
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  -- Buffers opened before setup().
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(config.filetypes, vim.bo[bufnr].filetype) then
      M.attach(bufnr)
    end
  end
end

return M
