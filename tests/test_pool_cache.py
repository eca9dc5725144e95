"""The pool cache: a pool read back from disk is the pool Faker draws, a damaged or missing
file is drawn again, and no cache at all (off, unwritable) changes nothing but the time."""

from __future__ import annotations

import json
import os

import pytest

from dbclone.transform import pools


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """Pools as a new process sees them, caching under tmp_path."""
    monkeypatch.setenv("DBCLONE_CACHE_DIR", str(tmp_path))
    pools.pool.cache_clear()
    yield tmp_path
    pools.pool.cache_clear()


def no_drawing(kind: str, locale: str) -> tuple[str, ...]:
    raise AssertionError(f"drew {locale}.{kind} although it was cached")


def test_a_cached_pool_is_the_drawn_pool(fresh, monkeypatch) -> None:
    drawn = pools.pool("last_name", "de_DE")
    path = pools._cached_path("last_name", "de_DE")
    assert path is not None and path.is_relative_to(fresh)
    assert tuple(json.loads(path.read_text("utf-8"))["values"]) == drawn == pools._draw(
        "last_name", "de_DE")
    pools.pool.cache_clear()
    monkeypatch.setattr(pools, "_draw", no_drawing)
    assert pools.pool("last_name", "de_DE") == drawn


def tampered(doc: dict) -> str:
    """Two values swapped: still a list of strings, still the same count."""
    values = doc["values"]
    values[0], values[1] = values[1], values[0]
    return json.dumps(doc)


def foreign(doc: dict) -> str:
    """Another pool's file, whole, copied over this one."""
    return json.dumps({**doc, "pool": "en_GB.company.json"})


@pytest.mark.parametrize("damage", ["[1, 2", "[]", '{"a": 1}', "[1, 2, 3]", "", tampered,
                                    foreign, '["Alice", "Alice"]'])
def test_a_damaged_file_is_drawn_again_and_replaced(fresh, damage) -> None:
    want = pools.pool("city", "en_GB")
    path = pools._cached_path("city", "en_GB")
    assert path is not None
    whole = path.read_text("utf-8")
    path.write_text(damage if isinstance(damage, str) else damage(json.loads(whole)),
                    encoding="utf-8")
    pools.pool.cache_clear()
    assert pools.pool("city", "en_GB") == want
    assert path.read_text("utf-8") == whole


def test_another_faker_version_or_module_text_is_another_key(fresh) -> None:
    key = pools._cache_key()
    assert key.startswith("faker-") and f"-{pools.POOL_SIZE}-" in key
    path = pools._cached_path("city", "en_US")
    assert path is not None and path.parent.name == key


@pytest.mark.parametrize("setting", ["off", ""])
def test_off_caches_nothing(monkeypatch, tmp_path, setting) -> None:
    monkeypatch.setenv("DBCLONE_CACHE_DIR", setting)
    monkeypatch.chdir(tmp_path)
    pools.pool.cache_clear()
    try:
        assert pools.pool("country", "fr_FR") == pools._draw("country", "fr_FR")
        assert pools._cached_path("country", "fr_FR") is None
        assert list(tmp_path.iterdir()) == []
    finally:
        pools.pool.cache_clear()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
def test_an_unwritable_cache_only_costs_the_drawing(fresh) -> None:
    fresh.chmod(0o500)
    try:
        assert pools.pool("job", "en_US") == pools._draw("job", "en_US")
        assert list(fresh.iterdir()) == []
    finally:
        fresh.chmod(0o700)


def test_a_cache_path_that_is_a_file_only_costs_the_drawing(monkeypatch, tmp_path) -> None:
    """Also as root: a file where the cache directory should be."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("DBCLONE_CACHE_DIR", str(blocker))
    pools.pool.cache_clear()
    try:
        assert pools.pool("job", "en_US") == pools._draw("job", "en_US")
        assert blocker.read_text("utf-8") == "x"
    finally:
        pools.pool.cache_clear()
