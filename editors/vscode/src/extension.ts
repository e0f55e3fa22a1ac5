// aiolint for VS Code: runs `aiolint server` for Python files through vscode-languageclient.

import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

/** The server's `workspace/executeCommand` that runs the reference executor on a finding. */
export const CONFIRM_COMMAND = "aiolint.confirm";

let client: LanguageClient | undefined;
let output: vscode.OutputChannel | undefined;
let traceOutput: vscode.OutputChannel | undefined;
/** Serializes start/stop/restart so that a burst of setting changes cannot race. */
let pending: Promise<void> = Promise.resolve();

export function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("aiolint");
  traceOutput = vscode.window.createOutputChannel("aiolint Trace");
  context.subscriptions.push(
    output,
    traceOutput,
    vscode.commands.registerCommand("aiolint.restart", () => serialize(restart)),
    vscode.commands.registerCommand("aiolint.confirmFinding", confirmFinding),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (
        event.affectsConfiguration("aiolint.enable") ||
        event.affectsConfiguration("aiolint.path") ||
        event.affectsConfiguration("aiolint.args")
      ) {
        void serialize(restart);
      }
    }),
  );
  return serialize(start);
}

export function deactivate(): Promise<void> {
  return serialize(stop);
}

function serialize(step: () => Promise<void>): Promise<void> {
  pending = pending.then(step, step);
  return pending;
}

async function restart(): Promise<void> {
  await stop();
  await start();
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) {
    try {
      await running.stop(5000);
    } catch (error) {
      output?.appendLine(`stopping the server failed: ${String(error)}`);
    }
  }
}

async function start(): Promise<void> {
  const config = vscode.workspace.getConfiguration("aiolint");
  if (!config.get<boolean>("enable", true)) {
    output?.appendLine("aiolint.enable is false: the server is not started.");
    return;
  }
  const configured = config.get<string>("path", "").trim();
  const executable = resolveExecutable(configured);
  if (executable === undefined) {
    const message = configured
      ? `aiolint: the executable set in "aiolint.path" was not found: ${configured}`
      : 'aiolint: the `aiolint` executable was not found on PATH. Install it (cargo install --path . in the aiolint repository) or set "aiolint.path".';
    output?.appendLine(message);
    if (!configured) {
      output?.appendLine(`PATH searched: ${process.env.PATH ?? ""}`);
    }
    void vscode.window.showErrorMessage(message, "Open Settings").then((choice) => {
      if (choice === "Open Settings") {
        void vscode.commands.executeCommand("workbench.action.openSettings", "aiolint.path");
      }
    });
    return;
  }
  const args = ["server", ...config.get<string[]>("args", [])];
  output?.appendLine(`starting ${executable} ${args.join(" ")}`);

  const serverOptions: ServerOptions = {
    command: executable,
    args,
    transport: TransportKind.stdio,
    options: { cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "python" },
      { scheme: "untitled", language: "python" },
    ],
    outputChannel: output,
    traceOutputChannel: traceOutput,
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher("**/{*.py,pyproject.toml}"),
    },
  };
  // The id "aiolint" makes the client read "aiolint.trace.server".
  const created = new LanguageClient("aiolint", "aiolint", serverOptions, clientOptions);
  client = created;
  try {
    await created.start();
  } catch (error) {
    client = undefined;
    const message = `aiolint: the language server could not be started (${executable}): ${String(error)}`;
    output?.appendLine(message);
    void vscode.window.showErrorMessage(message);
  }
}

/** `aiolint.path`, or `aiolint` found on PATH; undefined when there is no such executable. */
export function resolveExecutable(configured: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (configured) {
    let candidate = configured;
    if (candidate === "~" || candidate.startsWith("~/")) {
      candidate = path.join(os.homedir(), candidate.slice(1));
    }
    if (!path.isAbsolute(candidate)) {
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
      candidate = path.resolve(folder ?? process.cwd(), candidate);
    }
    return isExecutable(candidate) ? candidate : undefined;
  }
  return findOnPath("aiolint", env);
}

export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = (env.PATH ?? env.Path ?? "").split(path.delimiter).filter((dir) => dir !== "");
  const extensions =
    process.platform === "win32" ? (env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";").concat([""]) : [""];
  for (const dir of dirs) {
    for (const extension of extensions) {
      const candidate = path.join(dir, name + extension);
      if (isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) {
      return false;
    }
    fs.accessSync(file, process.platform === "win32" ? fs.constants.F_OK : fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** "aiolint: Confirm finding": runs `aiolint.confirm` on the aiolint diagnostic under the cursor. */
async function confirmFinding(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showWarningMessage("aiolint: open a Python file and put the cursor on a finding.");
    return;
  }
  const running = client;
  if (!running || !running.isRunning()) {
    void vscode.window.showErrorMessage("aiolint: the language server is not running.");
    return;
  }
  const position = editor.selection.active;
  const candidates = vscode.languages
    .getDiagnostics(editor.document.uri)
    .filter((d) => d.source === "aiolint" && (d.range.contains(position) || d.range.start.line === position.line));
  // Prefer a diagnostic that contains the cursor over one that is merely on its line.
  candidates.sort((a, b) => Number(b.range.contains(position)) - Number(a.range.contains(position)));
  const diagnostic = candidates[0];
  if (!diagnostic) {
    void vscode.window.showWarningMessage("aiolint: there is no aiolint finding under the cursor.");
    return;
  }
  const code = diagnosticCode(diagnostic);
  const args = [
    running.code2ProtocolConverter.asUri(editor.document.uri),
    { range: running.code2ProtocolConverter.asRange(diagnostic.range), code },
  ];
  try {
    const result: unknown = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `aiolint: confirming ${code ?? "finding"}…` },
      () => running.sendRequest(ExecuteCommandRequest.type, { command: CONFIRM_COMMAND, arguments: args }),
    );
    const summary = describeResult(result);
    output?.appendLine(`${CONFIRM_COMMAND} ${code ?? ""}: ${JSON.stringify(result)}`);
    void vscode.window.showInformationMessage(`aiolint: ${code ?? "finding"}: ${summary}`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    output?.appendLine(`${CONFIRM_COMMAND} ${code ?? ""} failed: ${message}`);
    void vscode.window.showErrorMessage(`aiolint: confirming ${code ?? "the finding"} failed: ${message}`);
  }
}

function diagnosticCode(diagnostic: vscode.Diagnostic): string | undefined {
  const code = diagnostic.code;
  if (code === undefined) {
    return undefined;
  }
  if (typeof code === "object") {
    return String(code.value);
  }
  return String(code);
}

/** A one-line summary of the confirm command's answer. */
export function describeResult(result: unknown): string {
  if (result === null || result === undefined) {
    return "done";
  }
  if (typeof result === "object") {
    const record = result as Record<string, unknown>;
    const verdict = typeof record.verdict === "string" ? record.verdict : undefined;
    const detail = typeof record.detail === "string" ? record.detail : undefined;
    if (verdict !== undefined) {
      return detail ? `${verdict}: ${detail}` : verdict;
    }
  }
  return typeof result === "string" ? result : JSON.stringify(result);
}
