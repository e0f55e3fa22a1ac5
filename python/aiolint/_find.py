"""Locates the ``aiolint`` executable that this package installed."""

import os
import sys
import sysconfig


def _user_scheme() -> str:
    if sys.version_info >= (3, 10):
        return sysconfig.get_preferred_scheme("user")
    if os.name == "nt":
        return "nt_user"
    if sys.platform == "darwin" and getattr(sys, "_framework", None):
        return "osx_framework_user"
    return "posix_user"


def find_aiolint_bin() -> str:
    """Return the path of the ``aiolint`` executable installed with this package.

    It is looked for in the environment's scripts folder, then in the user scheme's
    (``pip install --user``), then in ``bin/`` beside the package (``pip install --target``).
    Raises ``FileNotFoundError`` naming the first place looked at when it is in none.
    """
    exe = "aiolint" + (sysconfig.get_config_var("EXE") or "")
    candidates = [
        os.path.join(sysconfig.get_path("scripts"), exe),
        os.path.join(sysconfig.get_path("scripts", scheme=_user_scheme()), exe),
        os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bin", exe),
    ]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError(candidates[0])
