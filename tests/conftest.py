from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.offline import enforce_offline_env

enforce_offline_env()

from assistant.settings import Settings, get_settings  # noqa: E402
from tests.fixtures.build import build_corpus  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED_CORPUS = REPO.parent / "shared" / "corpora"


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
