// aiolint for VS Code: runs `aiolint server` for Python files through vscode-languageclient.

import { execFile } from "child_process";
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
  watchPythonEnvironment(context);
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
  const found = await findExecutable(configured);
  if (found === undefined) {
    const message = configured
      ? `aiolint: the executable set in "aiolint.path" was not found: ${configured}`
      : 'aiolint: the `aiolint` executable was not found in the workspace\'s Python environment or on PATH. Install it (pip install aiolint) or set "aiolint.path".';
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
  const executable = found.path;
  output?.appendLine(`found aiolint (${found.source}): ${executable}`);
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

/** An `aiolint` executable and where it was found. */
export interface Found {
  path: string;
  /** "aiolint.path", "the selected Python interpreter", ".venv in the workspace", or "PATH". */
  source: string;
}

/**
 * The executable to run, looked for as ruff-vscode looks for Ruff: `aiolint.path` when set
 * (and nothing else then); else the scripts folder of the Python interpreter selected for the
 * workspace in the Python extension; else `.venv` or `venv` in a workspace folder; else `PATH`.
 */
export async function findExecutable(configured: string): Promise<Found | undefined> {
  if (configured) {
    const file = resolveConfigured(configured);
    return file === undefined ? undefined : { path: file, source: "aiolint.path" };
  }
  const interpreter = await selectedInterpreter();
  if (interpreter !== undefined) {
    const file = await findNextToInterpreter(interpreter);
    if (file !== undefined) {
      return { path: file, source: "the selected Python interpreter" };
    }
    output?.appendLine(`no aiolint in the environment of the selected interpreter ${interpreter}`);
  }
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    for (const venv of [".venv", "venv"]) {
      const file = findInScripts(scriptsOfVenv(path.join(folder.uri.fsPath, venv)));
      if (file !== undefined) {
        return { path: file, source: `${venv} in the workspace` };
      }
    }
  }
  const file = findOnPath("aiolint");
  return file === undefined ? undefined : { path: file, source: "PATH" };
}

/** `aiolint.path` made absolute (`~` is the home folder, relative is from the first workspace folder). */
function resolveConfigured(configured: string): string | undefined {
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

/** The part of the Python extension's API (`ms-python.python`) used here. */
interface PythonExtensionApi {
  environments: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { id: string; path: string };
    resolveEnvironment(
      environment: { id: string; path: string } | string,
    ): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
    onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
  };
}

async function pythonApi(): Promise<PythonExtensionApi | undefined> {
  const extension = vscode.extensions.getExtension<PythonExtensionApi>("ms-python.python");
  if (extension === undefined) {
    return undefined;
  }
  try {
    return extension.isActive ? extension.exports : await extension.activate();
  } catch (error) {
    output?.appendLine(`the Python extension could not be activated: ${String(error)}`);
    return undefined;
  }
}

/** The interpreter the Python extension has selected for the first workspace folder. */
async function selectedInterpreter(): Promise<string | undefined> {
  const api = await pythonApi();
  if (api?.environments === undefined) {
    return undefined;
  }
  try {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const environment = await api.environments.resolveEnvironment(api.environments.getActiveEnvironmentPath(folder));
    return environment?.executable.uri?.fsPath;
  } catch (error) {
    output?.appendLine(`the Python extension did not tell the selected interpreter: ${String(error)}`);
    return undefined;
  }
}

/** Restarts the server when the selected interpreter changes (and `aiolint.path` is not set). */
function watchPythonEnvironment(context: vscode.ExtensionContext): void {
  void pythonApi().then((api) => {
    const changed = api?.environments?.onDidChangeActiveEnvironmentPath;
    if (changed === undefined) {
      return;
    }
    context.subscriptions.push(
      changed(() => {
        if (!vscode.workspace.getConfiguration("aiolint").get<string>("path", "").trim()) {
          output?.appendLine("the selected Python interpreter changed: restarting the server");
          void serialize(restart);
        }
      }),
    );
  });
}

/**
 * `aiolint` in the scripts folder of an interpreter's environment: next to the interpreter (a
 * virtual environment), else where the interpreter's `sysconfig` says scripts go, for the
 * environment and for the user (`pip install --user`).
 */
async function findNextToInterpreter(interpreter: string): Promise<string | undefined> {
  const beside = findInScripts(path.dirname(interpreter));
  if (beside !== undefined) {
    return beside;
  }
  const script = [
    "import os, sys, sysconfig",
    "print(sysconfig.get_path('scripts'))",
    "scheme = sysconfig.get_preferred_scheme('user') if sys.version_info >= (3, 10) else os.name + '_user'",
    "print(sysconfig.get_path('scripts', scheme))",
  ].join("\n");
  const folders = await new Promise<string[]>((resolve) => {
    execFile(interpreter, ["-c", script], { timeout: 10_000 }, (error, stdout) => {
      if (error) {
        output?.appendLine(`asking ${interpreter} for its scripts folder failed: ${error.message}`);
      }
      resolve(error ? [] : stdout.split(/\r?\n/).filter((line) => line !== ""));
    });
  });
  for (const folder of folders) {
    const file = findInScripts(folder);
    if (file !== undefined) {
      return file;
    }
  }
  return undefined;
}

function scriptsOfVenv(venv: string): string {
  return path.join(venv, process.platform === "win32" ? "Scripts" : "bin");
}

function findInScripts(folder: string): string | undefined {
  const file = path.join(folder, process.platform === "win32" ? "aiolint.exe" : "aiolint");
  return isExecutable(file) ? file : undefined;
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
