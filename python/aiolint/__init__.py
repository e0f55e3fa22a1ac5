"""aiolint: a static analyzer for Python asyncio code.

The package carries the ``aiolint`` executable (installed into the environment's scripts
folder); ``python -m aiolint`` runs it. :func:`find_aiolint_bin` returns its path.
"""

from aiolint._find import find_aiolint_bin

__all__ = ["find_aiolint_bin"]
