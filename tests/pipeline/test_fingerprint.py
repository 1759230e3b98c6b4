"""Input fingerprints: content is hashed only when size or mtime moved, a touched file is not a
changed one, and classification finds new, changed, touched, unchanged and removed files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from cinefeat.pipeline import _fingerprint
from cinefeat.pipeline._fingerprint import InputChanges, classify, fingerprint_file, sha256_file
from cinefeat.registry import InputFingerprint


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every path whose content gets hashed, in order."""
    calls: list[Path] = []
    real = _fingerprint.sha256_file

    def counting(path: Path) -> str:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(_fingerprint, "sha256_file", counting)
    return calls


def write(path: Path, content: bytes, mtime_ns: int) -> Path:
    path.write_bytes(content)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def test_first_fingerprint_hashes_the_content(tmp_path: Path, hashed: list[Path]) -> None:
    path = write(tmp_path / "a.json", b'{"id": 1}', 1_700_000_000_123_456_789)
    fp = fingerprint_file("tmdb", path, None)
    assert fp == InputFingerprint(
        "tmdb", str(path), 9, 1_700_000_000_123_456_789, hashlib.sha256(b'{"id": 1}').hexdigest()
    )
    assert hashed == [path]


def test_hashing_is_skipped_when_size_and_mtime_are_unchanged(
    tmp_path: Path, hashed: list[Path]
) -> None:
    path = write(tmp_path / "a.json", b"abc", 1_000)
    previous = InputFingerprint("tmdb", str(path), 3, 1_000, "recorded-hash")
    # The recorded hash comes back as it is (it is not the content's): the file was not read.
    assert fingerprint_file("tmdb", path, previous) == previous
    assert hashed == []
    # Same size and mtime under a new input name: still not read, the key is updated.
    assert fingerprint_file("raw", path, previous).input == "raw"
    assert hashed == []


def test_a_touched_file_is_rehashed_and_classified_touched(
    tmp_path: Path, hashed: list[Path]
) -> None:
    path = write(tmp_path / "a.json", b"abc", 1_000)
    before = fingerprint_file("tmdb", path, None)
    os.utime(path, ns=(2_000, 2_000))  # `touch`: new mtime, same content
    after = fingerprint_file("tmdb", path, before)
    assert len(hashed) == 2
    assert after.sha256 == before.sha256 and after.mtime_ns == 2_000
    changes = classify({after.key: after}, {before.key: before})
    assert changes.touched == (after,)
    assert changes.changed == () and changes.to_process == ()
    assert changes.to_record == (after,)  # its fingerprint is refreshed


def test_changed_content_is_detected(tmp_path: Path) -> None:
    path = write(tmp_path / "a.json", b"abc", 1_000)
    before = fingerprint_file("tmdb", path, None)
    write(path, b"abd", 1_000)  # same size and mtime is invisible, so the mtime moves
    os.utime(path, ns=(1_001, 1_001))
    after = fingerprint_file("tmdb", path, before)
    assert after.sha256 == sha256_file(path) != before.sha256
    assert classify({after.key: after}, {before.key: before}).changed == (after,)


def test_classify_new_removed_unchanged_sorted() -> None:
    def fp(input: str, path: str, sha: str = "s", mtime_ns: int = 1) -> InputFingerprint:
        return InputFingerprint(input, path, 1, mtime_ns, sha)

    processed = {f.key: f for f in [fp("b", "1"), fp("a", "2"), fp("a", "gone"), fp("a", "9")]}
    current = {f.key: f for f in [fp("b", "1"), fp("a", "2", sha="t"), fp("a", "9", mtime_ns=5)]}
    current |= {f.key: f for f in [fp("c", "new"), fp("a", "new")]}
    changes = classify(current, processed)
    assert changes == InputChanges(
        new=(fp("a", "new"), fp("c", "new")),
        changed=(fp("a", "2", sha="t"),),
        touched=(fp("a", "9", mtime_ns=5),),
        unchanged=(fp("b", "1"),),
        removed=(fp("a", "gone"),),
    )
    assert changes.to_process == (fp("a", "2", sha="t"), fp("a", "new"), fp("c", "new"))
    assert changes.removed_keys == (("a", "gone"),)
    assert classify({}, {}) == InputChanges((), (), (), (), ())


def test_large_files_are_streamed(tmp_path: Path) -> None:
    content = os.urandom(3 * (1 << 20) + 17)  # spans several 1 MiB blocks
    path = tmp_path / "big.bin"
    path.write_bytes(content)
    assert sha256_file(path) == hashlib.sha256(content).hexdigest()
