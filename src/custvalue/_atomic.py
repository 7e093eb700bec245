"""Safe file output: a file is completely written or left as it was; inputs are never replaced.

The guarantees (SPEC section 9, "Files are never lost"):

* An output path that is one of the inputs — the same path, a symbolic link
  to it or a hard link to it — is refused before any work.
* An output whose directory does not exist, or that is a directory, is
  refused before any work (:func:`check_output`), so a long run does not fail
  at its very end.
* A regular file is written to a temporary file beside it, flushed to disk
  and renamed over the old one; on any failure (an exception, a full disk,
  SIGTERM or Ctrl-C raised as exceptions by the command line) the temporary
  file is removed and the old file is untouched.
* A replaced file keeps its permission bits (and its owner and group where
  the process may set them).
* A named pipe, character or block device is written to directly, never
  replaced by a regular file.
* While :func:`recording_replacements` is on, every file about to be
  renamed into place is noted, so that a command interrupted after one of
  its outputs was replaced can say so (:func:`replaced`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ._errors import CustvalueError

__all__ = ["OutputError", "atomic_write", "check_output"]

PathLike = str | os.PathLike[str]

#: The open recorders: each gets (final path, device, inode of its temporary file).
_RECORDERS: list[list[tuple[Path, int, int]]] = []


@contextlib.contextmanager
def recording_replacements() -> Iterator[list[tuple[Path, int, int]]]:
    """Note every rename into place made by :func:`atomic_write` inside the block.

    A note is taken just before the rename, so :func:`replaced` (which looks
    at the files themselves) is exact however late an interrupt comes.
    """
    notes: list[tuple[Path, int, int]] = []
    _RECORDERS.append(notes)
    try:
        yield notes
    finally:
        _RECORDERS.remove(notes)


def replaced(notes: Iterable[tuple[Path, int, int]]) -> list[Path]:
    """The noted outputs that now are the file written for them (in order, once each)."""
    done: list[Path] = []
    for path, dev, ino in notes:
        try:
            st = os.stat(path)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (dev, ino) and path not in done:
            done.append(path)
    return done


class OutputError(CustvalueError, ValueError):
    """An output path that cannot or must not be written, found before any work was done."""

    def __init__(self, message: str, *, file: str) -> None:
        self.file = file
        super().__init__(f"{message} (file {file})")


def _special(target: Path) -> bool:
    """An existing FIFO or device: written to in place, never replaced."""
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode)


def check_output(path: PathLike, *, inputs: Iterable[PathLike | None] = ()) -> Path:
    """Refuse an output that would replace an input or cannot be written.

    Call it before reading anything.  ``inputs`` are the files the run reads;
    ``None`` entries are skipped.

    Raises
    ------
    OutputError
        The output is an input (also through a symbolic or hard link), is a
        directory, or its directory is missing or not writable.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "in.csv").write_text("x")
    >>> check_output(d / "in.csv", inputs=[d / "in.csv"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    custvalue.io.OutputError: the output is the input .../in.csv; refusing to replace an input (file ...)
    >>> check_output(d / "missing" / "out.csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    custvalue.io.OutputError: the output's directory .../missing does not exist (file ...)
    """
    target = Path(path)
    name = str(target)
    if _special(target):
        return target
    for inp in inputs:
        if inp is None:
            continue
        same = False
        with contextlib.suppress(OSError):
            same = os.path.samefile(target, inp)
        if same or os.path.abspath(target) == os.path.abspath(inp):
            raise OutputError(f"the output is the input {inp}; refusing to replace an input", file=name)
    if target.is_dir():
        raise OutputError("the output is a directory", file=name)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise OutputError(f"the output's directory {directory} does not exist", file=name)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"the output's directory {directory} is not writable", file=name)
    return target


def _keep_metadata(tmp: Path, old: os.stat_result) -> None:
    os.chmod(tmp, stat.S_IMODE(old.st_mode))
    with contextlib.suppress(OSError):  # only root (or the owner, for the group) may
        os.chown(tmp, old.st_uid, old.st_gid)


def atomic_write(
    path: PathLike, writer_fn: Callable[[Path], None], *, inputs: Iterable[PathLike | None] = ()
) -> Path:
    """Write ``path`` through ``writer_fn`` so that it is complete or untouched.

    ``writer_fn`` receives the path to write (a fresh temporary file in the
    same directory as ``path``) and writes the whole content there, opening
    it itself, so it works for text, binary and libraries that take a path.
    On success the temporary file is flushed to disk and renamed over
    ``path``, which keeps the permissions of the file it replaces; if
    ``writer_fn`` raises (any exception, including ``KeyboardInterrupt``), the
    temporary file is removed, ``path`` is left as it was and the exception
    propagates.  A FIFO or device ``path`` is handed to ``writer_fn`` directly.
    :func:`check_output` runs first with ``inputs``.

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
    >>> atomic_write(d / "out.txt", fail)
    Traceback (most recent call last):
    ...
    RuntimeError: disk full
    >>> sorted(x.name for x in d.iterdir()), (d / "out.txt").read_text()
    (['out.txt'], 'done')
    """
    target = check_output(path, inputs=inputs)
    if _special(target):
        writer_fn(target)
        return target
    directory = target.parent if str(target.parent) else Path(".")
    try:
        old: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        old = None
    while True:  # like mkstemp, but with the umask's permissions (as a plain open)
        tmp = directory / f".{target.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600 if old else 0o666)
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue
        os.close(fd)
        break
    try:
        if old is not None:
            _keep_metadata(tmp, old)
        writer_fn(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
            written = os.fstat(f.fileno())
        for notes in _RECORDERS:
            notes.append((target, written.st_dev, written.st_ino))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    return target
