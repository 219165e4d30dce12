"""A SQLite store that cannot be written, or whose file is damaged, through the library and the
CLI: real files made read-only, a real file with a page overwritten."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from memstrata import Memory
from memstrata.cli import main
from memstrata.errors import CorruptStoreError, ReadOnlyStoreError, StoreError
from memstrata.stores.sqlite import SQLiteStore

TEXTS = [f"note {i}: the dog walked along the river before work" for i in range(300)]


def build(path: Path) -> None:
    with Memory(path, embedder="hashing") as mem:
        mem.add(["Ada moved to Lisbon in May", *TEXTS], user_id="ada")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refuses_every_write(mem: Memory, error: type[Exception], message: str) -> None:
    memory_id = mem.list(user_id="ada", limit=1).records[0].id
    for write in (
        lambda: mem.add("one more", user_id="ada"),
        lambda: mem.remember("a note", kind="procedure", user_id="ada"),
        lambda: mem.update(memory_id, "changed", user_id="ada"),
        lambda: mem.delete(memory_id, user_id="ada"),
        lambda: mem.reset(user_id="ada", confirm=True),
    ):
        with pytest.raises(error, match=message):
            write()


def test_a_store_opened_read_only_is_searched_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    build(path)
    before = digest(path)
    with Memory(f"sqlite://{path}?mode=ro", embedder="hashing") as mem:
        assert mem.store.read_only
        found = mem.search("Lisbon", user_id="ada")
        assert found.hits[0].text == "Ada moved to Lisbon in May"
        with pytest.raises(ReadOnlyStoreError, match=r"read-only \(as asked\)") as error:
            mem.add("one more", user_id="ada")
        assert error.value.code == "read_only"
        refuses_every_write(mem, ReadOnlyStoreError, "read-only")
        with pytest.raises(ReadOnlyStoreError, match="feedback needs a writable store"):
            mem.feedback(found.search_id, [found.hits[0].id], user_id="ada")
    assert digest(path) == before
    with pytest.raises(StoreError, match="no store there"):
        Memory(f"sqlite://{tmp_path / 'new.db'}?mode=ro", embedder="hashing")
    assert not (tmp_path / "new.db").exists()


@contextmanager
def unwritable(*paths: Path) -> Iterator[None]:
    """Make files and directories unwritable for this process, for real: by their mode, and,
    for root (whom modes do not stop), with the immutable attribute; skip where neither
    works."""
    modes = {p: p.stat().st_mode for p in paths}
    for p in paths:
        p.chmod(0o555 if p.is_dir() else 0o444)
    immutable = False
    try:
        if not all(os.access(p, os.W_OK) is False for p in paths):
            chattr = shutil.which("chattr")
            done = chattr and subprocess.run([chattr, "+i", *map(str, paths)],
                                             capture_output=True).returncode == 0  # fmt: skip
            immutable = bool(done)
            if not immutable or any(os.access(p, os.W_OK) for p in paths):
                pytest.skip("cannot make a file unwritable here (root without chattr +i)")
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", *map(str, paths)], check=True)
        for p, mode in modes.items():
            p.chmod(mode)


def test_a_store_whose_file_and_directory_are_not_writable_opens_read_only(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "m.db"
    build(path)
    with unwritable(path, folder):
        with Memory(path, embedder="hashing") as mem:
            assert mem.search("Lisbon", user_id="ada").hits[0].text.startswith("Ada")
            refuses_every_write(mem, ReadOnlyStoreError, "is not writable")
        assert (
            main(["search", "--db", str(path), "--embedder", "hashing", "--user", "ada", "x"]) == 0
        )


def corrupt(path: Path) -> None:
    """Overwrite two pages in the middle of the file with garbage."""
    page = 4096
    middle = path.stat().st_size // page // 2 * page
    with path.open("r+b") as fh:
        fh.seek(middle)
        fh.write(bytes(range(256)) * (2 * page // 256))


def test_a_damaged_page_is_a_typed_error_and_the_store_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    build(path)
    corrupt(path)
    damaged = digest(path)
    with Memory(path, embedder="hashing") as mem:
        with pytest.raises(CorruptStoreError, match="restore it from a backup") as error:
            mem.search("Lisbon", user_id="ada")
        assert error.value.code == "corrupt_store"
        with pytest.raises(CorruptStoreError, match="memstrata export"):
            mem.add("one more", user_id="ada")
        with pytest.raises(CorruptStoreError, match="refuses every write"):
            mem.remember("a note", kind="procedure", user_id="ada")
    assert digest(path) == damaged  # closing checkpoints the WAL: nothing was written


def test_the_cli_reports_a_damaged_store_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.db"
    build(path)
    corrupt(path)
    assert main(["search", "--db", str(path), "--embedder", "hashing", "--user", "ada", "x"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the SQLite store at") and "damaged" in err
    assert err.count("\n") == 1


def test_a_read_only_store_is_never_written_by_opening_it(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    build(path)
    store = SQLiteStore(path, read_only=True)
    try:
        assert store.read_only and store.embedder_info() is not None
        with pytest.raises(ReadOnlyStoreError):
            store.put_setting("k", "v")
    finally:
        store.close()
