"""``python -m aiolint ARGS...`` runs ``aiolint ARGS...`` with the binary of this package."""

import os
import subprocess
import sys

from aiolint._find import find_aiolint_bin


def main() -> None:
    """Replace this process with the ``aiolint`` executable (a child process on Windows)."""
    aiolint = find_aiolint_bin()
    if sys.platform == "win32":
        sys.exit(subprocess.run([aiolint, *sys.argv[1:]]).returncode)
    os.execv(aiolint, [aiolint, *sys.argv[1:]])


if __name__ == "__main__":
    main()
