"""Every file careledger writes about children is readable by its owner only.

A ledger, a chronology, an export or a key is special-category personal data (or the key to
it): another user of the same machine must not be able to read it. Each file is opened here:
created with mode 0600 (whatever the umask), never written through a symbolic link unless
the user forces it (a link planted where a report is to go would otherwise have careledger
overwrite the link's target), and a file that was already there with a looser mode is
tightened to 0600, with a warning naming it and the mode it had.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO

from careledger.ledger.errors import LedgerError

PRIVATE = 0o600


def open_private(
    path: Path, setting: str, *, force: bool = False, exclusive: bool = False
) -> BinaryIO:
    """`path` opened for writing (truncated), owner-only. `setting` names the option or
    argument that gave the path, for the error. `exclusive`: a file that exists is refused
    (a key is never overwritten). `force`: a symbolic link is followed, to its target."""
    if force and path.is_symlink():
        path = path.resolve()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        try:
            return os.fdopen(os.open(path, flags, PRIVATE), "wb")
        except FileExistsError:
            if exclusive:
                raise
        descriptor = os.open(path, flags & ~os.O_EXCL)
    except FileExistsError:
        raise LedgerError(f"{setting}: '{path}' exists; a key is never overwritten") from None
    except OSError as error:
        refuse_links([path], setting)
        raise LedgerError(f"{setting}: cannot write '{path}' ({error.strerror})") from None
    if tighten(descriptor, path):
        os.ftruncate(descriptor, 0)
    return os.fdopen(descriptor, "wb")


def refuse_links(paths: list[Path], setting: str) -> None:
    """Refuse, before anything is written, paths that are symbolic links."""
    for path in paths:
        if path.is_symlink():
            raise LedgerError(
                f"{setting}: '{path}' is a symbolic link; careledger does not write through "
                "one (give --force to write to where it points)"
            )


def write_private(path: Path, data: bytes, setting: str, *, force: bool = False) -> None:
    """Write `data` to `path`, owner-only (see `open_private`)."""
    with open_private(path, setting, force=force) as file:
        file.write(data)


def tighten(descriptor: int, path: Path | str) -> bool:
    """An existing regular file readable or writable by others is made owner-only, with a
    warning on stderr. A device or a pipe (/dev/stdout) is left as it is; returns whether
    the file is a regular file."""
    status = os.fstat(descriptor)
    mode = stat.S_IMODE(status.st_mode)
    if not stat.S_ISREG(status.st_mode):
        return False
    if not mode & 0o077:
        return True
    try:
        os.fchmod(descriptor, PRIVATE)
        done = f"made {PRIVATE:04o} (owner only)"
    except PermissionError:
        done = "not yours to change: ask its owner to make it 0600"
    if str(path) not in _WARNED:  # the ledger and its views open the same file
        _WARNED.add(str(path))
        sys.stderr.write(f"warning: '{path}' was readable by others (mode {mode:04o}); {done}\n")
    return True


_WARNED: set[str] = set()


def tighten_path(path: Path) -> None:
    """`tighten`, for a file that careledger does not open itself (a SQLite database and its
    -wal and -shm files, opened by SQLite); a path that is not there is left alone."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return
    try:
        tighten(descriptor, path)
    finally:
        os.close(descriptor)


def create_private(path: Path) -> None:
    """Create an empty owner-only file at `path` if nothing is there, so that a program that
    then opens it (SQLite) keeps its mode: SQLite gives its -wal and -shm files the mode of
    the database file."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE))
    except FileExistsError:
        pass
    except OSError as error:
        raise LedgerError(f"--db: cannot create '{path}' ({error.strerror})") from None
