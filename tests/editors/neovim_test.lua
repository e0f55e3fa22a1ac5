-- Headless Neovim test of editors/neovim against the real `aiolint server`.
--
--   AIOLINT_BIN=target/debug/aiolint nvim --headless --clean -l tests/editors/neovim_test.lua
--   (or, on Neovim < 0.9: nvim --headless --clean -c "luafile tests/editors/neovim_test.lua")
--
-- Environment: AIOLINT_CMD (the server command, words separated by spaces; default
-- "$AIOLINT_BIN server"), AIOLINT_PLUGIN (default editors/neovim), AIOLINT_TIMEOUT_MS.
-- Opens a Python file with `time.sleep` in an `async def`, waits for the AIO200 diagnostic,
-- checks it, applies its quick fix and checks the buffer. Exits 1 on any failure.

local timeout = tonumber(os.getenv("AIOLINT_TIMEOUT_MS") or "") or 20000
local uv = vim.uv or vim.loop

local function log(message)
  io.stderr:write("[neovim-test] " .. message .. "\n")
end

local function finish(ok, message)
  log((ok and "PASS: " or "FAIL: ") .. message)
  io.stderr:flush()
  vim.cmd(ok and "qall!" or "cquit! 1")
end

local function check(condition, message)
  if not condition then
    error(message, 0)
  end
end

local function run()
  log(vim.split(vim.fn.execute("version"), "\n", { trimempty = true })[1])
  local plugin = os.getenv("AIOLINT_PLUGIN") or "editors/neovim"
  vim.opt.runtimepath:prepend(vim.fn.fnamemodify(plugin, ":p"))

  local cmd
  if os.getenv("AIOLINT_CMD") then
    cmd = vim.split(os.getenv("AIOLINT_CMD"), " ", { trimempty = true })
  else
    cmd = { os.getenv("AIOLINT_BIN") or "aiolint", "server" }
  end
  log("server command: " .. table.concat(cmd, " "))

  -- A project with a pyproject.toml, so root detection has something to find.
  local project = vim.fn.tempname()
  vim.fn.mkdir(project .. "/pkg", "p")
  vim.fn.writefile({ "[project]", 'name = "demo"' }, project .. "/pyproject.toml")
  local file = project .. "/pkg/app.py"
  vim.fn.writefile({
    "import time",
    "",
    "",
    "async def poll():",
    "    while True:",
    "        time.sleep(0.5)",
  }, file)

  local aiolint = require("aiolint")
  check(aiolint.find_root(file) == project, "root detection: expected " .. project .. ", got " .. tostring(aiolint.find_root(file)))
  log(aiolint.has_lsp_config() and "API: vim.lsp.config/vim.lsp.enable" or (vim.lsp.start and "API: vim.lsp.start" or "API: vim.lsp.start_client"))
  aiolint.setup({ cmd = cmd })

  vim.cmd("edit " .. vim.fn.fnameescape(file))
  local buf = vim.api.nvim_get_current_buf()
  check(vim.bo[buf].filetype == "python", "filetype is " .. vim.bo[buf].filetype)

  -- The client attaches.
  local client
  vim.wait(timeout, function()
    local attached = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = buf }) or vim.lsp.buf_get_clients(buf)
    for _, c in pairs(attached) do
      if c.name == "aiolint" then
        client = c
      end
    end
    return client ~= nil and client.initialized
  end, 50)
  check(client ~= nil, "no initialized aiolint client attached to the buffer within " .. timeout .. " ms")
  check(client.initialized, "the aiolint client did not finish initializing within " .. timeout .. " ms")
  check(client.config.root_dir == project, "client root_dir: " .. tostring(client.config.root_dir))

  -- The diagnostic arrives.
  local ok = vim.wait(timeout, function()
    return #vim.diagnostic.get(buf) > 0
  end, 50)
  check(ok, "no diagnostics within " .. timeout .. " ms")
  local diags = vim.diagnostic.get(buf)
  check(#diags == 1, "expected one diagnostic, got " .. vim.inspect(diags))
  local d = diags[1]
  log("diagnostic: " .. vim.inspect({ lnum = d.lnum, col = d.col, end_col = d.end_col, code = d.code, source = d.source, message = d.message }))
  check(d.code == "AIO200", "code: " .. tostring(d.code))
  check(d.source == "aiolint", "source: " .. tostring(d.source))
  check(d.lnum == 5 and d.col == 8, string.format("position: %d:%d, expected 5:8", d.lnum, d.col))
  check(d.end_lnum == 5 and d.end_col == 23, string.format("end: %d:%d, expected 5:23", d.end_lnum, d.end_col))
  check(d.message:find("time.sleep", 1, true) and d.message:find("poll", 1, true), "message: " .. d.message)
  check(d.severity == vim.diagnostic.severity.WARN, "severity: " .. tostring(d.severity))

  -- Request the code actions for the diagnostic's range, as `vim.lsp.buf.code_action` does.
  -- Back to LSP's shape as vim.lsp.buf.code_action does (the text is ASCII, so byte columns
  -- are UTF-16 columns); `data` carries the server's fix.
  local lsp_diag = vim.tbl_extend("keep", {
    range = { start = { line = d.lnum, character = d.col }, ["end"] = { line = d.end_lnum, character = d.end_col } },
    severity = 2,
    message = d.message,
    source = d.source,
    code = d.code,
  }, d.user_data and d.user_data.lsp or {})
  check(lsp_diag.data ~= nil, "the diagnostic carries no `data`")
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    range = lsp_diag.range,
    context = { diagnostics = { lsp_diag } },
  }
  local responses = vim.lsp.buf_request_sync(buf, "textDocument/codeAction", params, timeout)
  check(responses ~= nil, "no answer to textDocument/codeAction within " .. timeout .. " ms")
  local actions = {}
  for _, response in pairs(responses) do
    check(response.err == nil, "codeAction error: " .. vim.inspect(response.err))
    for _, action in ipairs(response.result or {}) do
      table.insert(actions, action)
      log("action: " .. tostring(action.kind) .. " " .. action.title)
    end
  end
  local fix, noqa
  for _, action in ipairs(actions) do
    if action.kind == "quickfix" and action.title:find("asyncio.sleep", 1, true) then
      fix = action
    elseif action.kind == "quickfix" and action.title:find("Disable AIO200", 1, true) then
      noqa = action
    end
  end
  check(fix ~= nil, "no quick fix offering asyncio.sleep among " .. #actions .. " actions")
  check(noqa ~= nil, "no \"Disable AIO200 for this line\" action among " .. #actions .. " actions")
  check(fix.edit ~= nil, "the quick fix carries no edit")

  vim.lsp.util.apply_workspace_edit(fix.edit, client.offset_encoding or "utf-16")
  local text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
  log("buffer after the fix:\n" .. text)
  check(text:find("        await asyncio.sleep(0.5)", 1, true), "the buffer does not hold `await asyncio.sleep(0.5)`")
  check(text:find("import asyncio", 1, true), "the buffer does not import asyncio")
  check(not text:find("time.sleep", 1, true), "`time.sleep` is still in the buffer")

  -- The server sees the edit (didChange) and withdraws the diagnostic.
  ok = vim.wait(timeout, function()
    return #vim.diagnostic.get(buf) == 0
  end, 50)
  check(ok, "the diagnostic is still there after the fix: " .. vim.inspect(vim.diagnostic.get(buf)))

  -- Hover on the fixed line is harmless; hover on a fresh finding shows the rule docs.
  vim.api.nvim_buf_set_lines(buf, -1, -1, false, { "", "async def again():", "    time.sleep(1)" })
  ok = vim.wait(timeout, function()
    return #vim.diagnostic.get(buf) == 1
  end, 50)
  check(ok, "no diagnostic for the newly typed `time.sleep`")
  local again = vim.diagnostic.get(buf)[1]
  local hover = vim.lsp.buf_request_sync(buf, "textDocument/hover", {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    position = { line = again.lnum, character = again.col + 2 },
  }, timeout)
  local hover_text = ""
  for _, response in pairs(hover or {}) do
    local contents = response.result and response.result.contents
    if type(contents) == "table" then
      hover_text = hover_text .. (contents.value or vim.inspect(contents))
    end
  end
  check(hover_text:find("AIO200", 1, true) and hover_text:find("What it does", 1, true), "hover without the rule docs: " .. hover_text)

  vim.cmd("bwipeout!")
  vim.fn.delete(project, "rf")
  finish(true, "diagnostic, quick fix, re-check and hover through the Neovim plugin")
end

-- A watchdog so that nothing can hang the test.
local watchdog = uv.new_timer()
watchdog:start(timeout * 6, 0, vim.schedule_wrap(function()
  finish(false, "watchdog: the test did not finish in time")
end))

local ok, err = xpcall(run, debug.traceback)
if not ok then
  finish(false, tostring(err))
end
