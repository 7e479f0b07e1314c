"""Unpacking a student's zip on the trusted side: data only, every attack refused with a reason.

    skipped = unpack(Path("alice.zip"), target)     # target: an empty folder of the grader's
    # -> ["__MACOSX/", ".DS_Store"]: system files left out

The archive is read as bytes and its members are written as plain files (mode 0644) and folders
(0755) under ``target``; nothing is executed or imported, no permission bit, owner or link of
the archive is kept. The whole archive is checked before anything is written, and refused with
:class:`ArchiveError` (one line saying why) when it

- is not a readable zip, or is larger than :attr:`ZipLimits.archive_bytes`;
- declares more than :attr:`ZipLimits.entries` members (read from its end record, before the
  member list is parsed: a file-count bomb costs no memory);
- would unpack to more than :attr:`ZipLimits.unpacked_bytes` (a size bomb: the sizes the
  archive declares are the sizes written, as zipfile ends each member at its declared size and
  checks its CRC);
- has a member with an absolute path (``/etc/x``, ``C:\\x``), a ``..`` component (zip-slip), a
  symbolic link or any other special file, or a password; or two members at one path (or one
  that is a file and a folder).

System files (:func:`is_junk`: ``__MACOSX/``, ``.DS_Store``, ``._*``, ``.git/``, ``__pycache__/``,
``Thumbs.db``...) are not written; their names are returned. An archive that fails while being
written (a corrupt member, a full disk) is refused too, and may have left part of ``target``
written: the caller removes ``target``.
"""

from __future__ import annotations

import lzma
import os
import re
import shutil
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

_SYSTEM_FILES = {"__macosx", "__pycache__", "thumbs.db", "desktop.ini"}
_END_RECORD = b"PK\x05\x06"  # the zip's end of central directory record


class ArchiveError(ValueError):
    """A zip that was not unpacked; the message says which and why, in one line."""


@dataclass(frozen=True)
class ZipLimits:
    archive_bytes: int = 64 << 20  # the zip file itself
    entries: int = 5000  # members, folders and system files included
    unpacked_bytes: int = 128 << 20  # everything written


def is_junk(name: str) -> bool:
    """Whether a file or folder name is one that systems and tools add, never a student's work:
    hidden names (``.DS_Store``, ``._layers.py``, ``.git``, ``.ipynb_checkpoints``),
    ``__MACOSX``, ``__pycache__``, ``Thumbs.db``, ``desktop.ini``."""
    return name.startswith(".") or name.lower() in _SYSTEM_FILES


def unpack(archive: Path, target: Path, limits: ZipLimits = ZipLimits()) -> list[str]:
    """Write the members of the zip ``archive`` into the empty folder ``target``; returns the
    system files left out (each path up to its first such component, ``"__MACOSX/"``, once each).
    Raises :class:`ArchiveError` for an archive that must not be unpacked (see the module)."""
    label = archive.name
    size = archive.stat().st_size
    if size > limits.archive_bytes:
        raise ArchiveError(f"{label} is {size >> 20} MiB, over the {limits.archive_bytes >> 20} MiB "
                           "a submission's zip may be; nothing was unpacked")
    declared = _declared_entries(archive)
    if declared is None or declared > limits.entries:
        raise ArchiveError(f"{label} declares {'too many' if declared is None else declared} members, "
                           f"over the {limits.entries} a submission may hold; nothing was unpacked")
    try:
        with zipfile.ZipFile(archive) as zipped:
            plan, skipped = _checked(label, zipped.infolist(), limits)
            _write(label, zipped, plan, target)
    except ArchiveError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError,
            zlib.error, lzma.LZMAError, struct.error) as exc:
        raise ArchiveError(f"{label} is not a zip that can be read ({exc})") from None
    return skipped


def _declared_entries(archive: Path) -> int | None:
    """The member count the end record of ``archive`` declares; None for a zip64 count (more
    than 65535) or no end record. zipfile would parse every member first: this reads 64 KiB."""
    with open(archive, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        length = handle.tell()
        handle.seek(max(0, length - (1 << 16) - 22))
        tail = handle.read()
    at = tail.rfind(_END_RECORD)
    if at < 0 or len(tail) < at + 22:
        return None
    count = struct.unpack("<H", tail[at + 10:at + 12])[0]
    return None if count == 0xFFFF else count


def _checked(label: str, members: list[zipfile.ZipInfo], limits: ZipLimits):
    """The members to write as (path parts, member), after refusing any dangerous one; and the
    system files left out."""
    if len(members) > limits.entries:
        raise ArchiveError(f"{label} holds {len(members)} members, over the {limits.entries} a "
                           "submission may hold; nothing was unpacked")
    plan, skipped, declared, files, folders = [], [], 0, set(), set()
    for member in members:
        parts = _parts(label, member.filename)
        kind = stat.S_IFMT(member.external_attr >> 16)
        if kind == stat.S_IFLNK:
            raise ArchiveError(f"{label}: {member.filename!r} is a symbolic link, which a submission may "
                               "not hold; nothing was unpacked")
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise ArchiveError(f"{label}: {member.filename!r} is a special file, which a submission may "
                               "not hold; nothing was unpacked")
        if member.flag_bits & 0x1:
            raise ArchiveError(f"{label} is password-protected ({member.filename!r}); submit it "
                               "without a password")
        junk = next((i for i, part in enumerate(parts) if is_junk(part)), None)
        if junk is not None:
            name = "/".join(parts[:junk + 1]) + ("/" if junk < len(parts) - 1 or member.is_dir() else "")
            if name not in skipped:
                skipped.append(name)
            continue
        if not parts:
            continue
        path = "/".join(parts)
        above = {"/".join(parts[:i]) for i in range(1, len(parts) + (1 if member.is_dir() else 0))}
        if path in files or (not member.is_dir() and path in folders) or above & files:
            raise ArchiveError(f"{label} holds {path!r} twice (or as a file and a folder); "
                               "nothing was unpacked")
        (folders if member.is_dir() else files).add(path)
        folders |= above
        plan.append((parts, member))
        declared += member.file_size
    if declared > limits.unpacked_bytes:
        raise ArchiveError(f"{label} would unpack to {declared >> 20} MiB, over the "
                           f"{limits.unpacked_bytes >> 20} MiB a submission may hold; nothing was unpacked")
    return plan, skipped


def _parts(label: str, name: str) -> list[str]:
    """The path components of a member's name, refusing absolute paths and ``..`` (zipfile has
    already cut the name at a NUL byte)."""
    clean = name.replace("\\", "/")  # some Windows tools write backslashes
    if clean.startswith("/") or re.match(r"[A-Za-z]:(/|$)", clean):
        raise ArchiveError(f"{label}: {name!r} is an absolute path; nothing was unpacked")
    parts = [p for p in clean.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"{label}: {name!r} would be written outside the submission's folder "
                           "(zip-slip); nothing was unpacked")
    return parts


def _write(label: str, zipped: zipfile.ZipFile, plan, target: Path) -> None:
    """Write the planned members under ``target``."""
    for parts, member in plan:
        try:
            _folders(target, parts if member.is_dir() else parts[:-1])
            if member.is_dir():
                continue
            # O_EXCL and O_NOFOLLOW: a path checked above, never a file or link already there
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            descriptor = os.open(target.joinpath(*parts), flags, 0o644)
            os.fchmod(descriptor, 0o644)  # whatever the umask: the worker's user reads it
            with os.fdopen(descriptor, "wb") as out, zipped.open(member) as source:
                shutil.copyfileobj(source, out)
        except OSError as exc:
            raise ArchiveError(f"{label}: {member.filename!r} cannot be written ({exc.strerror})") from None


def _folders(target: Path, parts: list[str]) -> None:
    """Make the folders ``target/parts...`` (mode 0755, readable by the worker's user)."""
    path = target
    for part in parts:
        path = path / part
        if not path.is_dir():  # made here, or by an earlier member: never a link
            os.mkdir(path, 0o755)
            os.chmod(path, 0o755)  # whatever the umask
