// A stand-in for the Python extension (ms-python.python), which the npm registry does not
// carry: the aiolint editor test installs it in code-server in its place. It implements the
// part of the Python extension's `environments` API that the aiolint extension uses:
// getActiveEnvironmentPath, resolveEnvironment and onDidChangeActiveEnvironmentPath. The
// selected interpreter is the first line of the file named by AIOLINT_TEST_INTERPRETER_FILE;
// a change of that file fires onDidChangeActiveEnvironmentPath, as selecting another
// interpreter in the real extension does.

const fs = require("fs");
const vscode = require("vscode");

function activate(context) {
  const file = process.env.AIOLINT_TEST_INTERPRETER_FILE;
  if (!file) {
    throw new Error("AIOLINT_TEST_INTERPRETER_FILE is not set");
  }
  const selected = () => fs.readFileSync(file, "utf8").split("\n")[0].trim();
  const changed = new vscode.EventEmitter();
  let last = selected();
  const poll = setInterval(() => {
    const now = selected();
    if (now !== last) {
      last = now;
      changed.fire({ id: now, path: now, resource: undefined });
    }
  }, 200);
  context.subscriptions.push(changed, { dispose: () => clearInterval(poll) });
  return {
    environments: {
      getActiveEnvironmentPath: () => ({ id: selected(), path: selected() }),
      resolveEnvironment: async (environment) => {
        const interpreter = typeof environment === "string" ? environment : environment.path;
        return fs.existsSync(interpreter) ? { executable: { uri: vscode.Uri.file(interpreter) } } : undefined;
      },
      onDidChangeActiveEnvironmentPath: changed.event,
    },
  };
}

module.exports = { activate };
