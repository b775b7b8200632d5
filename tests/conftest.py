from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from assistant.offline import enforce_offline_env

enforce_offline_env()
# the deployment's secret key (assistant/keys.py) comes from the environment in tests: no key file
# is created in the home folder, and subprocesses inherit it
os.environ.setdefault("DALIL_PSEUDONYM_KEY", "5f" * 32)

from assistant.settings import Settings, get_settings  # noqa: E402
from tests.fixtures.build import build_corpus  # noqa: E402
from tests.model_guard import ModelGuard  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED_CORPUS = REPO.parent / "shared" / "corpora"


# ------------------------------------------------------------------ unit tests load no model
_GUARD = pytest.StashKey[ModelGuard]()


@contextmanager
def _unit_guard(item: pytest.Item) -> Iterator[None]:
    """Around each phase of a `unit` test (fixtures included): model entry points raise, and an
    attempt fails the test even where the code under test caught the exception."""
    if item.get_closest_marker("unit") is None:
        yield
        return
    guard = item.stash.setdefault(_GUARD, ModelGuard())
    before = len(guard.calls)

    def failure() -> str | None:
        calls = "".join(f"\n  {what}, called at {site}" for what, site in guard.calls[before:])
        return f"a test marked `unit` tried to load a model or start an engine:{calls}" if calls else None

    with guard.active():
        try:
            yield
        except BaseException as exc:  # the code under test may have wrapped the guard's exception
            message = failure()
            if message:
                raise pytest.fail.Exception(message, pytrace=False) from exc
            raise
    message = failure()
    if message:
        pytest.fail(message, pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    with _unit_guard(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    with _unit_guard(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    with _unit_guard(item):
        return (yield)


@pytest.fixture()
def model_guard(request: pytest.FixtureRequest) -> ModelGuard:
    """The guard of the running `unit` test (for the guard's own tests)."""
    guard = request.node.stash.get(_GUARD, None)
    assert guard is not None, "model_guard is only active in tests marked `unit`"
    return guard


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dalil")


@pytest.fixture(scope="session")
def fixture_root(session_dir: Path) -> Path:
    return build_corpus(session_dir / "fixtures")


@pytest.fixture(scope="session")
def embed_cache(session_dir: Path) -> Path:
    return session_dir / "embedding-cache.sqlite"


def make_settings(root: Path, data_dir: Path, embed_cache: Path, **extra: object) -> Settings:
    return Settings(
        data_dir=data_dir,
        corpus_dir=root / "corpus",
        definitions_dir=root / "defs",
        embed_cache=embed_cache,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture()
def fresh(tmp_path: Path, fixture_root: Path, embed_cache: Path) -> Settings:
    """Settings with an empty data directory over a private copy of the fixture corpus."""
    import shutil

    root = tmp_path / "root"
    shutil.copytree(fixture_root, root)
    return make_settings(root, tmp_path / "data", embed_cache)


@pytest.fixture(scope="session")
def indexed(session_dir: Path, fixture_root: Path, embed_cache: Path) -> Iterator[Settings]:
    """The fixture corpus ingested once for the whole session."""
    from assistant.index import Index
    from ingest.sync import Syncer

    settings = make_settings(fixture_root, session_dir / "indexed-data", embed_cache)
    index = Index(settings)
    report = Syncer(settings, index).run()
    assert not report.failed, report.as_dict()
    index.close()
    yield settings


@pytest.fixture()
def env_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make get_settings() re-read the environment (tests set DALIL_* variables)."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def settings_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DALIL_DATA_DIR": str(settings.data_dir),
            "DALIL_CORPUS_DIR": str(settings.corpus_dir),
            "DALIL_DEFINITIONS_DIR": str(settings.definitions_dir),
            "DALIL_EMBED_CACHE": str(settings.embed_cache),
        }
    )
    return env
