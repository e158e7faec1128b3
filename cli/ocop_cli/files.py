"""Writing the files a user shares (exports, codes, label sheets, manifests, trust lists, policies, drafts).

Atomically: the bytes go to a temporary file next to the target, which replaces the target only once everything
was written and synced, so a failed or interrupted command never leaves half a file. With the permissions of any
new file: the temporary file is created with mode 0666 less the umask (0644 with the usual umask 022), or with
the mode of the file it replaces, so that a file the user restricted stays restricted. Private keys are not
written here: the library writes them with ``O_EXCL`` and mode 0600 (``write_private_key``).

An error names the user's path, never the temporary file's.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .context import CliError, ExitCode
from .render.words import t

__all__ = ["atomic_output", "write_file"]

_ATTEMPTS = 100


def _about(error: OSError, target: Path) -> OSError:
    """The same error (same class, errno and message) about ``target`` instead of a temporary file."""
    if error.errno is None:
        return OSError(f"{error.strerror or error}: {target}")
    return OSError(error.errno, error.strerror or os.strerror(error.errno), str(target))


def _create(target: Path) -> tuple[int, Path]:
    # O_EXCL with a random name, like mkstemp, but with mode 0666 for the umask to reduce (mkstemp's is 0600).
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(_ATTEMPTS):
        tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        try:
            mode = target.stat().st_mode
        except OSError:
            return fd, tmp
        if stat.S_ISREG(mode) and hasattr(os, "fchmod"):
            os.fchmod(fd, stat.S_IMODE(mode))  # replacing a file: keep its permissions
        return fd, tmp
    raise FileExistsError(f"no free temporary name next to {target}")  # pragma: no cover


def _commit(f: BinaryIO, tmp: Path, target: Path) -> None:
    try:
        f.flush()
        os.fsync(f.fileno())
        tmp.replace(target)
    except OSError as e:
        raise _about(e, target) from None


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[BinaryIO]:
    """Write to a temporary file next to ``path`` and move it into place only when everything was written.

    ``-`` writes to stdout (refused when stdout is a terminal: the output is binary).

    Raises:
        CliError: ``-`` while stdout is a terminal (exit 2).
        OSError: The file cannot be created or written; the error names ``path``.
    """
    if path == "-":
        if sys.stdout.isatty():
            raise CliError(t("refusing to write binary data to a terminal: use -o FILE"), exit_code=ExitCode.USAGE)
        sys.stdout.flush()
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with _replacing(Path(path)) as f:
        yield f


@contextlib.contextmanager
def _replacing(target: Path) -> Iterator[BinaryIO]:
    try:
        fd, tmp = _create(target)
    except OSError as e:
        raise _about(e, target) from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            _commit(f, tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_file(path: Path, data: bytes, *, overwrite: bool = True) -> None:
    """Write ``data`` to ``path`` atomically, creating its directory if needed.

    Raises:
        CliError: ``overwrite`` is False and the file exists (``E_EXISTS``, exit 3).
        OSError: The directory or the file cannot be written; the error names ``path``.
    """
    if not overwrite and path.exists():
        raise CliError(t("{path} exists: choose another name or remove it", path=path), code="E_EXISTS")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _about(e, path) from None
    with _replacing(path) as f:
        f.write(data)
