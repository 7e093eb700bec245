"""Atomic file output: a file is either completely written or not there at all."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike[str], writer_fn: Callable[[Path], None]) -> Path:
    """Write ``path`` atomically through ``writer_fn``.

    ``writer_fn`` receives the path of a fresh temporary file in the same
    directory as ``path`` and writes the whole content there (opening it
    itself, so it works for text, binary and libraries that take a path).
    On success the temporary file is flushed to disk and moved over ``path``
    with :func:`os.replace`; if ``writer_fn`` raises, the temporary file is
    removed, ``path`` is left as it was and the exception propagates.

    Returns the final path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = atomic_write(d / "out.txt", lambda p: p.write_text("done"))
    >>> (d / "out.txt").read_text()
    'done'
    >>> def fail(p):
    ...     p.write_text("half")
    ...     raise RuntimeError("disk full")
    >>> atomic_write(d / "other.txt", fail)
    Traceback (most recent call last):
    ...
    RuntimeError: disk full
    >>> sorted(x.name for x in d.iterdir())
    ['out.txt']
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    while True:  # like mkstemp, but with the umask's permissions (as a plain open)
        tmp = directory / f".{target.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue
        os.close(fd)
        break
    try:
        writer_fn(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return target
