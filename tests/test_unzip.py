"""A student's zip unpacked on the trusted side: the work written, system files left out, every
attack refused with a reason before anything is written (real zips, built byte for byte)."""

import os
import stat
import zipfile
from pathlib import Path

import pytest

from grader.grading.unzip import ArchiveError, ZipLimits, is_junk, unpack


def make_zip(path: Path, members: dict, mode: int | None = None) -> Path:
    """A zip of ``members`` (name -> text or bytes); a name ending with "/" is a folder."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            if mode is not None:
                info.external_attr = mode << 16
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return path


def refused(tmp_path: Path, archive: Path, match: str, limits: ZipLimits = ZipLimits()) -> None:
    target = tmp_path / f"into-{archive.stem}"
    target.mkdir()
    with pytest.raises(ArchiveError, match=match) as caught:
        unpack(archive, target, limits)
    assert "\n" not in str(caught.value) and archive.name in str(caught.value)
    assert not any(target.iterdir()), "nothing may be written before the whole zip is checked"


def test_the_work_is_written_as_plain_readable_files_and_system_files_are_left_out(tmp_path):
    archive = make_zip(tmp_path / "ada.zip", {
        "a01/attention.py": "X = 1\n", "a01/sub/": "", "a01/sub/notes.txt": b"\xff\x00",
        "__MACOSX/a01/._attention.py": "apple", "a01/.DS_Store": "apple", "a01/__pycache__/x.pyc": "",
        ".git/config": "", "a01/Thumbs.db": ""}, mode=stat.S_IFREG | 0o4777)  # setuid, world-writable
    target = tmp_path / "target"
    target.mkdir()
    old = os.umask(0o077)  # the grader's umask must not make the files unreadable to the worker
    try:
        skipped = unpack(archive, target)
    finally:
        os.umask(old)
    assert skipped == ["__MACOSX/", "a01/.DS_Store", "a01/__pycache__/", ".git/", "a01/Thumbs.db"]
    written = sorted(p.relative_to(target).as_posix() for p in target.rglob("*"))
    assert written == ["a01", "a01/attention.py", "a01/sub", "a01/sub/notes.txt"]
    assert (target / "a01" / "attention.py").read_text() == "X = 1\n"
    assert (target / "a01" / "sub" / "notes.txt").read_bytes() == b"\xff\x00"
    assert stat.S_IMODE((target / "a01" / "attention.py").stat().st_mode) == 0o644
    assert stat.S_IMODE((target / "a01" / "sub").stat().st_mode) == 0o755


@pytest.mark.parametrize("name, match", [
    ("../../evil.py", "zip-slip"),
    ("a01/../../evil.py", "zip-slip"),
    ("..\\..\\evil.py", "zip-slip"),
    ("/etc/cron.d/evil", "absolute path"),
    ("C:\\Windows\\evil.py", "absolute path"),
])
def test_a_member_outside_the_folder_is_refused(tmp_path, name, match):
    refused(tmp_path, make_zip(tmp_path / "mallory.zip", {"a01/attention.py": "X = 1\n", name: "x"}), match)


def test_a_symbolic_link_is_refused(tmp_path):
    archive = make_zip(tmp_path / "mallory.zip", {"attention.py": "/etc/passwd"}, mode=stat.S_IFLNK | 0o777)
    refused(tmp_path, archive, "symbolic link")


def test_a_special_file_is_refused(tmp_path):
    refused(tmp_path, make_zip(tmp_path / "mallory.zip", {"fifo": ""}, mode=stat.S_IFIFO | 0o644), "special file")


def test_a_size_bomb_is_refused_from_the_sizes_declared(tmp_path):
    archive = make_zip(tmp_path / "bomb.zip", {"a.txt": b"\0" * (3 << 20), "b.txt": b"\0" * (3 << 20)})
    assert archive.stat().st_size < 100_000  # it compresses a thousandfold
    refused(tmp_path, archive, "would unpack to 6 MiB", ZipLimits(unpacked_bytes=5 << 20))


def test_a_file_count_bomb_is_refused_before_its_member_list_is_read(tmp_path, monkeypatch):
    archive = make_zip(tmp_path / "many.zip", {f"f{i}.txt": "" for i in range(50)})
    monkeypatch.setattr(zipfile.ZipFile, "__init__", lambda *a, **k: pytest.fail("the member list was read"))
    refused(tmp_path, archive, "declares 50 members, over the 40", ZipLimits(entries=40))


def test_a_zip_too_large_or_unreadable_or_locked_is_refused(tmp_path):
    refused(tmp_path, make_zip(tmp_path / "big.zip", {"a.txt": os.urandom(4096)}), "over the 0 MiB",
            ZipLimits(archive_bytes=1024))
    (tmp_path / "fake.zip").write_bytes(b"not a zip at all")
    refused(tmp_path, tmp_path / "fake.zip", "declares too many members")  # no end record
    truncated = make_zip(tmp_path / "cut.zip", {"a.txt": "hello" * 100})
    data = bytearray(truncated.read_bytes())
    data[40:60] = b"\0" * 20  # the member's data corrupted, the directory intact
    truncated.write_bytes(bytes(data))
    target = tmp_path / "cut"
    target.mkdir()
    with pytest.raises(ArchiveError, match="cut.zip"):
        unpack(truncated, target)
    locked = make_zip(tmp_path / "locked.zip", {"a.txt": "x"})
    data = bytearray(locked.read_bytes())
    for signature, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set the encrypted flag
        offset = data.find(signature)
        data[offset + at] |= 1
    locked.write_bytes(bytes(data))
    refused(tmp_path, locked, "password-protected")


def test_two_members_at_one_path_are_refused(tmp_path):
    with pytest.warns(UserWarning, match="Duplicate name"):
        archive = make_zip(tmp_path / "twice.zip", {"a.py": "1"})
        with zipfile.ZipFile(archive, "a") as z:
            z.writestr("a.py", "2")
    refused(tmp_path, archive, "twice")
    refused(tmp_path, make_zip(tmp_path / "both.zip", {"a": "file", "a/b.py": "x"}), "a file and a folder")


def test_system_files_are_recognised_by_name():
    assert all(is_junk(n) for n in ("__MACOSX", ".DS_Store", "._attention.py", ".git", "__pycache__",
                                     "Thumbs.db", "desktop.ini", ".ipynb_checkpoints"))
    assert not any(is_junk(n) for n in ("attention.py", "a01-main", "submission.zip", "_private.py"))
