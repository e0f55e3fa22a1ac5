"""aiolint runtime-check harness.

This file is embedded in the aiolint binary and written into a fresh temporary
directory for every probe.  It runs one probe snippet on a fresh asyncio event
loop next to a heartbeat *task* and reports what it observes on a dedicated
event pipe, one line per event.  The Rust supervisor on the other end of the
pipe is the clock of record: it timestamps every heartbeat on arrival and asks
for a stack dump (SIGUSR1, handled by ``faulthandler``) when the heartbeat
stops for longer than its threshold.

Standard library only; must stay compatible with Python 3.8.

Usage::

    python -u -X dev -B harness.py EVENT_FD PROBE_PATH FLAGGED_LINE ENTRY [SYS_PATH...]

ENTRY is ``statements`` (run the probe's statements as the body of a
synthetic coroutine, top-level ``await`` allowed) or ``function:NAME`` (execute
the probe as a module, then call the zero-argument coroutine function NAME,
which may be dotted, e.g. ``Service.run``).

Event lines (``LINES`` is a comma-separated list of line numbers in the probe
file, innermost frame first, or ``-`` when no frame of the probe file is
involved)::

    READY                      hooks installed, stack dumps may be requested
    H N NS                     heartbeat tick number N, written at time.monotonic_ns() NS
    START NS                   the probe's code starts running on the loop, at NS
    HIT LINE                   the flagged line was executed (first time only)
    END ok|exc NS              the probe's code finished (normally / raised), at NS
    EXC LINES TYPE: MESSAGE    exception raised by the probe's code
    NA LINES QUALNAME          coroutine never awaited (LINES: where created)
    PD LINES TASK              task destroyed while pending (LINES: where created)
    NR LINES MESSAGE           RuntimeError from a nested asyncio.run/run_until_complete
    NET LINES WHAT             network access refused
    LOOPERR LINES MESSAGE      any other call of the loop's exception handler
    FAIL KIND LINES MESSAGE    the probe could not be run (KIND: syntax, setup, entry, harness)
    HBSTOP                     heartbeat stopped, stall measurement ends
    DONE                       harness finished; the process exits right after

Before the interpreter starts, the supervisor's code in the child writes one
more line, ``ISO net=N pid=N proc=N ro=N caps=N pids=LIMIT``: the containment
the kernel allowed (the harness never writes it).

The times (``NS``) are the loop's own clock: the supervisor measures the gaps
between them, which a supervisor that reads the pipe late cannot shorten.

Stack dumps requested by the supervisor arrive on the same pipe in
``faulthandler``'s own format (``Stack (most recent call first):`` followed by
``  File "PATH", line N in NAME`` lines).
"""

import sys
from time import monotonic_ns as loop_clock  # bound before the probe can patch `time`

EVENT_FD = int(sys.argv[1])
PROBE_PATH = sys.argv[2]
FLAGGED_LINE = int(sys.argv[3])
ENTRY = sys.argv[4]
EXTRA_SYS_PATH = sys.argv[5:]

import asyncio  # noqa: E402
import errno  # noqa: E402
import faulthandler  # noqa: E402
import functools  # noqa: E402
import gc  # noqa: E402
import inspect  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import traceback  # noqa: E402
import types  # noqa: E402
import warnings  # noqa: E402

HARNESS_PID = os.getpid()
HEARTBEAT_INTERVAL = 0.005
MAX_LINES = 32
MAX_EVENT_BYTES = 3800  # below PIPE_BUF, so every event is one atomic write
PROBE_MODULE = "__aiolint_probe__"
NESTED_RUN_MESSAGES = (
    "cannot be called from a running event loop",
    "This event loop is already running",
    "Cannot run the event loop while another loop is running",
)


# --------------------------------------------------------------------------- events


def emit(tag, text=""):
    """Write one event line to the event pipe; never raises.

    Only the harness's own process reports: a child the probe forked runs the
    same code (its teardown, its tracer, its warnings), and its events would be
    taken for the probe's.
    """
    if os.getpid() != HARNESS_PID:
        return
    line = tag + " " + text if text else tag
    line = line.replace("\r", "\\r").replace("\n", "\\n")
    data = line.encode("utf-8", "replace")
    if len(data) > MAX_EVENT_BYTES:
        data = data[:MAX_EVENT_BYTES]
    try:
        os.write(EVENT_FD, data + b"\n")
    except OSError:
        pass


def fmt_lines(lines):
    """Render a list of line numbers for an event (``-`` when empty)."""
    if not lines:
        return "-"
    return ",".join(str(n) for n in lines[:MAX_LINES])


def lines_from_frame(frame):
    """Probe-file lines of a live stack, innermost first."""
    lines = []
    while frame is not None and len(lines) < MAX_LINES:
        if frame.f_code.co_filename == PROBE_PATH:
            lines.append(frame.f_lineno)
        frame = frame.f_back
    return lines


def lines_from_summary(summary):
    """Probe-file lines of a ``traceback.StackSummary`` (outermost first), innermost first."""
    lines = []
    for entry in reversed(list(summary or ())):
        if entry.filename == PROBE_PATH and entry.lineno is not None:
            lines.append(entry.lineno)
    return lines


def lines_from_traceback(tb):
    """Probe-file lines of an exception traceback, innermost first."""
    try:
        return lines_from_summary(traceback.extract_tb(tb))
    except Exception:
        return []


def caller_lines():
    """Probe-file lines of the current stack, innermost first."""
    try:
        return lines_from_frame(sys._getframe(1))
    except Exception:
        return []


def describe_exception(exc):
    name = type(exc).__name__
    text = str(exc)
    return name + ": " + text if text else name


# ------------------------------------------------------------- flagged-line tracer

_hit = [False]


def _local_trace(frame, event, arg):
    if _hit[0]:
        return None
    if event == "line" and frame.f_lineno == FLAGGED_LINE:
        _hit[0] = True
        emit("HIT", str(FLAGGED_LINE))
        sys.settrace(None)
        return None
    return _local_trace


def _global_trace(frame, event, arg):
    if _hit[0]:
        return None
    if frame.f_code.co_filename == PROBE_PATH:
        return _local_trace
    return None


# --------------------------------------------------------- never-awaited coroutines

_orig_warn_unawaited = getattr(warnings, "_warn_unawaited_coroutine", None)


def _report_unawaited(coro):
    lines = []
    origin = getattr(coro, "cr_origin", None)
    if origin:
        # cr_origin is ((filename, lineno, funcname), ...), most recent call first.
        for filename, lineno, _funcname in origin:
            if filename == PROBE_PATH:
                lines.append(lineno)
    name = getattr(coro, "__qualname__", None) or repr(coro)
    emit("NA", fmt_lines(lines) + " " + name)


def _warn_unawaited_hook(coro):
    try:
        _report_unawaited(coro)
    except Exception:
        pass
    if _orig_warn_unawaited is not None:
        _orig_warn_unawaited(coro)


_orig_showwarning = warnings.showwarning


def _showwarning(message, category, filename, lineno, file=None, line=None):
    # Only used when this Python has no warnings._warn_unawaited_coroutine hook.
    try:
        text = str(message)
        if (
            _orig_warn_unawaited is None
            and issubclass(category, RuntimeWarning)
            and "was never awaited" in text
        ):
            lines = []
            # "Coroutine created at" section: most recent call last.
            for part in text.split("\n"):
                part = part.strip()
                if part.startswith('File "'):
                    end = part.find('", line ')
                    if end > 6 and part[6:end] == PROBE_PATH:
                        digits = ""
                        for ch in part[end + 8:]:
                            if not ch.isdigit():
                                break
                            digits += ch
                        if digits:
                            lines.insert(0, int(digits))
            if not lines and filename == PROBE_PATH:
                lines.append(lineno)
            name = text.split("'")[1] if text.count("'") >= 2 else text.split("\n")[0]
            emit("NA", fmt_lines(lines) + " " + name)
    except Exception:
        pass
    _orig_showwarning(message, category, filename, lineno, file, line)


# ------------------------------------------------------------- nested event loops


def _is_nested_run(exc):
    text = str(exc)
    return any(m in text for m in NESTED_RUN_MESSAGES)


def _report_nested(exc, lines):
    if getattr(exc, "_aiolint_reported", False):
        return
    try:
        exc._aiolint_reported = True
    except Exception:
        pass
    emit("NR", fmt_lines(lines) + " " + str(exc))


def _observe_nested_run(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RuntimeError as exc:
            if _is_nested_run(exc):
                _report_nested(exc, caller_lines())
            raise

    return wrapper


def install_nested_run_observers():
    import asyncio.base_events
    import asyncio.runners

    observed = _observe_nested_run(asyncio.runners.run)
    asyncio.runners.run = observed
    asyncio.run = observed
    base = asyncio.base_events.BaseEventLoop
    base.run_until_complete = _observe_nested_run(base.run_until_complete)
    runner = getattr(asyncio.runners, "Runner", None)
    if runner is not None:
        runner.run = _observe_nested_run(runner.run)


# ---------------------------------------------------------------- network refusal


def _refused(what):
    emit("NET", fmt_lines(caller_lines()) + " " + what)
    return PermissionError(
        errno.EACCES, "aiolint runtime-check: network access is disabled (" + what + ")"
    )


def _refuse_function(what):
    def refuse(*args, **kwargs):
        raise _refused(what)

    return refuse


def _is_inet(sock):
    return sock.family in (socket.AF_INET, getattr(socket, "AF_INET6", socket.AF_INET))


def install_network_refusal():
    base = socket.socket

    def connect(self, *args, **kwargs):
        raise _refused("socket.connect")

    def connect_ex(self, *args, **kwargs):
        raise _refused("socket.connect_ex")

    orig_bind = base.bind
    orig_sendto = base.sendto

    def bind(self, *args, **kwargs):
        if _is_inet(self):
            raise _refused("socket.bind")
        return orig_bind(self, *args, **kwargs)

    def sendto(self, *args, **kwargs):
        if _is_inet(self):
            raise _refused("socket.sendto")
        return orig_sendto(self, *args, **kwargs)

    base.connect = connect
    base.connect_ex = connect_ex
    base.bind = bind
    base.sendto = sendto
    for name in (
        "create_connection",
        "create_server",
        "getaddrinfo",
        "gethostbyname",
        "gethostbyname_ex",
        "gethostbyaddr",
        "getnameinfo",
        "getfqdn",
    ):
        if hasattr(socket, name):
            setattr(socket, name, _refuse_function("socket." + name))


# ------------------------------------------------------------ loop exception hook


def exception_handler(loop, context):
    try:
        message = str(context.get("message", ""))
        task = context.get("task") or context.get("future")
        source_tb = context.get("source_traceback")
        if source_tb is None and task is not None:
            source_tb = getattr(task, "_source_traceback", None)
        lines = lines_from_summary(source_tb)
        if "was destroyed but it is pending" in message:
            if not lines and task is not None:
                coro = getattr(task, "get_coro", lambda: None)()
                frame = getattr(coro, "cr_frame", None)
                if frame is not None and frame.f_code.co_filename == PROBE_PATH:
                    lines = [frame.f_lineno]
            emit("PD", fmt_lines(lines) + " " + repr(task))
        else:
            exc = context.get("exception")
            if exc is not None:
                lines = lines_from_traceback(exc.__traceback__) or lines
                message = message + " (" + describe_exception(exc) + ")"
            emit("LOOPERR", fmt_lines(lines) + " " + message)
    except Exception:
        pass
    loop.default_exception_handler(context)


# ------------------------------------------------------------------- running


async def heartbeat():
    n = 0
    while True:
        emit("H", f"{n} {loop_clock()}")
        n += 1
        await asyncio.sleep(HEARTBEAT_INTERVAL)


def resolve_entry(module, dotted):
    target = module
    for part in dotted.split("."):
        target = getattr(target, part)
    return target


async def run_probe(module, code):
    loop = asyncio.get_running_loop()
    beat = loop.create_task(heartbeat())
    # Let the heartbeat tick once before the probe's code starts.
    await asyncio.sleep(0)
    ok = True
    emit("START", str(loop_clock()))
    try:
        if code is not None:
            result = eval(code, module.__dict__)
        else:
            result = resolve_entry(module, ENTRY[len("function:"):])()
        if result is not None and inspect.isawaitable(result):
            await result
    except BaseException as exc:  # noqa: B036 - everything the probe raises is reported
        ok = False
        lines = lines_from_traceback(exc.__traceback__)
        if isinstance(exc, RuntimeError) and _is_nested_run(exc):
            _report_nested(exc, lines)
        emit("EXC", fmt_lines(lines) + " " + describe_exception(exc))
    emit("END", ("ok" if ok else "exc") + f" {loop_clock()}")
    sys.settrace(None)
    # Collect dropped coroutines and tasks while the loop is still running so
    # that never-awaited and destroyed-pending reports are attributed here.
    gc.collect()
    await asyncio.sleep(0)
    gc.collect()
    beat.cancel()
    emit("HBSTOP")
    try:
        await beat
    except asyncio.CancelledError:
        pass


def fail(kind, lines, message):
    emit("FAIL", kind + " " + fmt_lines(lines) + " " + message)
    finish(3)


def finish(code):
    emit("DONE")
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    # Skip interpreter shutdown: it would wait for stray non-daemon threads and
    # destroy still-referenced pending tasks, neither of which says anything
    # about the probe.
    os._exit(code)


def main():
    try:
        os.set_inheritable(EVENT_FD, False)
    except OSError:
        pass
    faulthandler.register(signal.SIGUSR1, file=EVENT_FD, all_threads=False, chain=False)
    sys.set_coroutine_origin_tracking_depth(32)
    if _orig_warn_unawaited is not None:
        warnings._warn_unawaited_coroutine = _warn_unawaited_hook
    warnings.showwarning = _showwarning
    warnings.simplefilter("always", RuntimeWarning)
    install_nested_run_observers()
    install_network_refusal()
    for path in EXTRA_SYS_PATH:
        sys.path.append(path)
    emit("READY")

    try:
        with open(PROBE_PATH, "rb") as handle:
            source = handle.read()
    except OSError as exc:
        fail("harness", [], "cannot read probe: " + describe_exception(exc))
        return

    module = types.ModuleType(PROBE_MODULE)
    module.__file__ = PROBE_PATH
    sys.modules[PROBE_MODULE] = module

    statements = ENTRY == "statements"
    if not statements and not ENTRY.startswith("function:"):
        fail("harness", [], "unknown entry " + ENTRY)
        return
    try:
        flags = getattr(__import__("ast"), "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0) if statements else 0
        code = compile(source, PROBE_PATH, "exec", flags=flags, dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        fail("syntax", [line] if line else [], describe_exception(exc))
        return

    sys.settrace(_global_trace)
    if not statements:
        try:
            exec(code, module.__dict__)
        except BaseException as exc:  # noqa: B036
            sys.settrace(None)
            fail("setup", lines_from_traceback(exc.__traceback__), describe_exception(exc))
            return
        try:
            resolve_entry(module, ENTRY[len("function:"):])
        except AttributeError as exc:
            sys.settrace(None)
            fail("entry", [], describe_exception(exc))
            return
        code = None

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.set_exception_handler(exception_handler)
    try:
        loop.run_until_complete(run_probe(module, code))
    except BaseException as exc:  # noqa: B036
        sys.settrace(None)
        emit("EXC", fmt_lines(lines_from_traceback(exc.__traceback__)) + " " + describe_exception(exc))
        emit("END", f"exc {loop_clock()}")
        emit("HBSTOP")
    finally:
        sys.settrace(None)
    gc.collect()
    finish(0)


main()
