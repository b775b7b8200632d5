"""Sovereignty: the egress allow-list (assistant/egress.py) and where configuration comes from
(assistant/settings.py: the environment and ONE configuration file, secrets never in it)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import settings as settings_module
from assistant.egress import check_url, is_loopback, parse_endpoint
from assistant.errors import ConfigError, EgressError
from assistant.settings import Settings
from tests.conftest import settings_env

REMOTE = "http://llm.example.org:8000"
ENDPOINT_VARS = (
    "DALIL_LLM_URL",
    "DALIL_EMBED_URL",
    "DALIL_QDRANT_URL",
    "DALIL_ALLOWED_HOSTS",
    "MISTRAL_API_KEY",
)


@pytest.fixture()
def network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every connection and name resolution attempted while the test runs (all refused)."""
    calls: list[str] = []

    def connect(self, address):  # type: ignore[no-untyped-def]
        calls.append(f"connect {address}")
        raise OSError("network access blocked by test")

    def connect_ex(self, address):  # type: ignore[no-untyped-def]
        calls.append(f"connect_ex {address}")
        return 111

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(f"resolve {host}")
        raise socket.gaierror("name resolution blocked by test")

    def gethostbyname(host):  # type: ignore[no-untyped-def]
        calls.append(f"resolve {host}")
        raise socket.gaierror("name resolution blocked by test")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "gethostbyname", gethostbyname)
    yield calls


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No endpoint, allow-list, configuration file or secrets folder from the caller's environment."""
    for name in (*ENDPOINT_VARS, "DALIL_CONFIG_FILE", "DALIL_SECRETS_DIR", "DALIL_QDRANT_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(settings_module, "DEFAULT_CONFIG_FILE", tmp_path / "etc" / "dalil.env")
    return tmp_path


def _refusal(exc: pytest.ExceptionInfo[EgressError], setting: str, host: str) -> str:
    message = str(exc.value)
    assert setting in message, message
    assert host in message, message
    assert "DALIL_ALLOWED_HOSTS" in message, message
    return message


# ------------------------------------------------------------------ the check itself
@pytest.mark.unit
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://localhost:11434/v1",
        "http://[::1]:6333",
        "127.0.0.5:8000",
        "http://[::ffff:127.0.0.1]:1",
    ],
)
def test_loopback_is_always_allowed(url: str) -> None:
    assert check_url(url, "DALIL_LLM_URL", []) == url


@pytest.mark.unit
def test_allow_list_entries_match_host_and_port() -> None:
    allowed = ["llm.gov.ma", "10.0.0.7:6333", "[fd00::5]:8000", "https://api.mistral.ai"]
    assert check_url("http://LLM.gov.ma./v1", "DALIL_LLM_URL", allowed)  # case and root dot
    assert check_url("https://llm.gov.ma:9443", "DALIL_LLM_URL", allowed)  # any port
    assert check_url("http://10.0.0.7:6333", "DALIL_QDRANT_URL", allowed)
    assert check_url("http://[fd00::5]:8000", "DALIL_EMBED_URL", allowed)
    assert check_url("https://api.mistral.ai", "MISTRAL_API_KEY", allowed)
    with pytest.raises(EgressError) as exc:
        check_url("http://10.0.0.7:6334", "DALIL_QDRANT_URL", allowed)  # another port
    _refusal(exc, "DALIL_QDRANT_URL", "10.0.0.7:6334")
    with pytest.raises(EgressError) as exc:
        check_url("http://llm.gov.ma.evil.org", "DALIL_LLM_URL", allowed)  # not a suffix match
    _refusal(exc, "DALIL_LLM_URL", "llm.gov.ma.evil.org")
    assert not is_loopback("localhost.evil.org") and not is_loopback("0.0.0.0")
    assert parse_endpoint("https://h.example", "X").port == 443


@pytest.mark.unit
def test_malformed_urls_and_entries_say_how_to_fix_them() -> None:
    with pytest.raises(ConfigError, match="names no host"):
        check_url("http://", "DALIL_LLM_URL", [])
    with pytest.raises(ConfigError, match="invalid port"):
        check_url("http://h:99999", "DALIL_LLM_URL", [])
    with pytest.raises(ConfigError, match="DALIL_ALLOWED_HOSTS entry"):
        check_url("http://h", "DALIL_LLM_URL", ["h:port"])


@pytest.mark.unit
def test_allowed_hosts_setting_is_comma_separated(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DALIL_ALLOWED_HOSTS", " llm.gov.ma , 10.0.0.7:6333,,")
    assert Settings().allowed_hosts == ["llm.gov.ma", "10.0.0.7:6333"]


# ------------------------------------------------------------------ every endpoint, before any socket
@pytest.mark.unit
def test_chat_model_url_refused_before_any_connection(clean_env: Path, network: list[str]) -> None:
    from assistant.generation.chat import chat_model_from_settings

    with pytest.raises(EgressError) as exc:
        chat_model_from_settings(Settings(llm_url=REMOTE))
    _refusal(exc, "DALIL_LLM_URL", "llm.example.org:8000")
    assert network == []


@pytest.mark.unit
def test_mistral_api_needs_its_host_allowed(clean_env: Path, network: list[str]) -> None:
    from assistant.generation.chat import MistralChat, chat_model_from_settings

    with pytest.raises(EgressError) as exc:
        chat_model_from_settings(Settings(mistral_api_key="sk-test"))  # type: ignore[arg-type]
    _refusal(exc, "MISTRAL_API_KEY", "api.mistral.ai")
    with pytest.raises(EgressError):
        MistralChat(None, "sk-test", "mistral-small-latest", allowed_hosts=[])
    model = chat_model_from_settings(
        Settings(mistral_api_key="sk-test", allowed_hosts=["api.mistral.ai"])  # type: ignore[arg-type]
    )
    assert isinstance(model, MistralChat) and model.server_url == "https://api.mistral.ai"
    assert network == []  # building a client connects to nothing


@pytest.mark.unit
def test_an_allowed_host_passes_the_check(clean_env: Path, network: list[str]) -> None:
    from assistant.generation.chat import MistralChat, chat_model_from_settings

    settings = Settings(llm_url=REMOTE, allowed_hosts=["llm.example.org"])
    model = chat_model_from_settings(settings)
    assert isinstance(model, MistralChat) and model.server_url == REMOTE
    # a direct construction reads the allow-list from the settings too
    with pytest.raises(EgressError):
        MistralChat("http://other.example.org", None, "m", allowed_hosts=["llm.example.org"])
    assert network == []


@pytest.mark.unit
@pytest.mark.parametrize("embedder", ["openai", "mistral"])
def test_embedding_url_refused_before_any_connection(
    clean_env: Path, network: list[str], embedder: str
) -> None:
    from assistant.embeddings.mistral import MistralEmbedder
    from assistant.embeddings.openai_compat import OpenAICompatEmbedder

    adapter = {"openai": OpenAICompatEmbedder, "mistral": MistralEmbedder}[embedder]
    with pytest.raises(EgressError) as exc:
        adapter(Settings(embedder=embedder, embed_url="http://embed.example.org:8080"))
    _refusal(exc, "DALIL_EMBED_URL", "embed.example.org:8080")
    assert network == []


@pytest.mark.unit
def test_mistral_embed_api_refused_without_its_host(clean_env: Path, network: list[str]) -> None:
    from assistant.embeddings.mistral import MistralEmbedder

    with pytest.raises(EgressError) as exc:
        MistralEmbedder(Settings(embedder="mistral", mistral_api_key="sk-test"))  # type: ignore[arg-type]
    _refusal(exc, "DALIL_EMBEDDER=mistral", "api.mistral.ai")
    assert network == []


@pytest.mark.unit
def test_qdrant_url_refused_before_any_connection(clean_env: Path, network: list[str]) -> None:
    from assistant.store import open_store

    with pytest.raises(EgressError) as exc:
        open_store(Settings(qdrant_url="https://qdrant.example.org:6333", data_dir=clean_env / "d"))
    _refusal(exc, "DALIL_QDRANT_URL", "qdrant.example.org:6333")
    assert network == []


@pytest.mark.unit
def test_judge_url_refused_before_any_question(clean_env: Path, network: list[str], tmp_path: Path) -> None:
    from eval.ragas_metrics import judge_endpoint
    from eval.runner import run

    with pytest.raises(EgressError) as exc:
        run(Settings(data_dir=tmp_path / "d"), tmp_path / "none.jsonl", judge_model="j", judge_url=REMOTE)
    _refusal(exc, "--judge-url", "llm.example.org:8000")
    with pytest.raises(EgressError) as exc:
        judge_endpoint(None, [])
    _refusal(exc, "--judge-model", "api.mistral.ai")
    assert judge_endpoint("http://127.0.0.1:8080", []) == "http://127.0.0.1:8080"
    assert network == []


@pytest.mark.unit
def test_the_check_applies_to_a_url_from_the_configuration_file(
    clean_env: Path, network: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.generation.chat import chat_model_from_settings

    config = clean_env / "dalil.env"
    config.write_text(f"DALIL_LLM_URL={REMOTE}\n", encoding="utf-8")
    monkeypatch.setenv("DALIL_CONFIG_FILE", str(config))
    with pytest.raises(EgressError) as exc:
        chat_model_from_settings(Settings())
    _refusal(exc, "DALIL_LLM_URL", "llm.example.org")
    config.write_text(f"DALIL_LLM_URL={REMOTE}\nDALIL_ALLOWED_HOSTS=llm.example.org:8000\n", encoding="utf-8")
    assert chat_model_from_settings(Settings()) is not None
    assert network == []


# ------------------------------------------------------------------ where configuration comes from
@pytest.mark.unit
def test_a_dotenv_in_the_current_directory_is_ignored(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = clean_env / "work"
    work.mkdir()
    (work / ".env").write_text("DALIL_LLM_URL=http://example.org\nDALIL_TOP_K=3\n", encoding="utf-8")
    monkeypatch.chdir(work)
    settings = Settings()
    assert settings.llm_url is None and settings.top_k != 3


@pytest.mark.unit
def test_the_configuration_file_is_read_from_its_documented_location(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings.model_config.get("env_file") is None
    default = settings_module.DEFAULT_CONFIG_FILE  # /etc/dalil/dalil.env, moved into tmp_path here
    assert settings_module.config_file() is None  # absent: nothing read
    default.parent.mkdir(parents=True)
    default.write_text("DALIL_LLM_MODEL=ministral-8b\nDALIL_TOP_K=11\n", encoding="utf-8")
    settings = Settings()
    assert (settings.llm_model, settings.top_k) == ("ministral-8b", 11)
    monkeypatch.setenv("DALIL_TOP_K", "12")  # the environment wins over the file
    assert Settings().top_k == 12
    other = clean_env / "other.env"
    other.write_text("DALIL_LLM_MODEL=from-other\n", encoding="utf-8")
    monkeypatch.setenv("DALIL_CONFIG_FILE", str(other))  # DALIL_CONFIG_FILE replaces the default
    assert Settings().llm_model == "from-other"
    monkeypatch.setenv("DALIL_CONFIG_FILE", "")  # empty: no configuration file at all
    assert Settings().llm_model == "mistral-small-latest"
    monkeypatch.setenv("DALIL_CONFIG_FILE", str(clean_env / "missing.env"))
    with pytest.raises(ConfigError, match="DALIL_CONFIG_FILE.*no such file"):
        Settings()


@pytest.mark.unit
def test_the_documented_default_location() -> None:
    assert Path("/etc/dalil/dalil.env") == settings_module.DEFAULT_CONFIG_FILE


@pytest.mark.unit
@pytest.mark.parametrize(
    "line", ["MISTRAL_API_KEY=sk-live", "DALIL_QDRANT_API_KEY=qk", "DALIL_PSEUDONYM_KEY=" + "ab" * 32]
)
def test_a_secret_in_the_configuration_file_is_refused(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, line: str
) -> None:
    config = clean_env / "dalil.env"
    config.write_text(f"DALIL_LLM_MODEL=m\n{line}\n", encoding="utf-8")
    monkeypatch.setenv("DALIL_CONFIG_FILE", str(config))
    name = line.split("=")[0]
    with pytest.raises(ConfigError) as exc:
        Settings()
    message = str(exc.value)
    assert name in message and str(config) in message and "environment" in message
    assert line.split("=", 1)[1] not in message  # the secret itself is not repeated


@pytest.mark.unit
def test_secrets_come_from_the_environment_or_the_secrets_folder(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = clean_env / "secrets"
    folder.mkdir()
    (folder / "MISTRAL_API_KEY").write_text("sk-from-file\n", encoding="utf-8")
    (folder / "DALIL_QDRANT_API_KEY").write_text("qk-from-file", encoding="utf-8")
    (folder / "DALIL_LLM_URL").write_text(REMOTE, encoding="utf-8")  # not a secret: not read from here
    monkeypatch.setenv("DALIL_SECRETS_DIR", str(folder))
    settings = Settings()
    assert settings.mistral_api_key is not None
    assert settings.mistral_api_key.get_secret_value() == "sk-from-file"
    assert (
        settings.qdrant_api_key is not None and settings.qdrant_api_key.get_secret_value() == "qk-from-file"
    )
    assert settings.llm_url is None
    monkeypatch.setenv("MISTRAL_API_KEY", "sk-from-env")  # the environment wins
    key = Settings().mistral_api_key
    assert key is not None and key.get_secret_value() == "sk-from-env"
    monkeypatch.setenv("DALIL_SECRETS_DIR", str(clean_env / "nowhere"))
    with pytest.raises(ConfigError, match="DALIL_SECRETS_DIR"):
        Settings()


# ------------------------------------------------------------------ the command line, as a process
# Runs the CLI with every connection and name lookup recorded (the loopback ones let through: the
# embedded engine and nothing else); the attempts are written to a file at exit.
GUARD = textwrap.dedent(
    """
    import atexit, ipaddress, json, runpy, socket, sys
    attempts = []
    def _loop(host):
        if host in ("localhost", "", None):
            return True
        try:
            return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return False
    _connect, _getaddrinfo = socket.socket.connect, socket.getaddrinfo
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loop(address[0]):
            attempts.append(f"connect {address}")
            raise OSError("blocked")
        return _connect(self, address)
    def getaddrinfo(host, *a, **k):
        if not _loop(host):
            attempts.append(f"resolve {host}")
            raise socket.gaierror("blocked")
        return _getaddrinfo(host, *a, **k)
    socket.socket.connect, socket.getaddrinfo = connect, getaddrinfo
    record = sys.argv.pop(1)
    atexit.register(lambda: open(record, "w").write(json.dumps(attempts)))
    sys.argv[0] = "dalil"
    runpy.run_module("assistant.cli", run_name="__main__")
    """
)


def _cli(
    args: list[str], env: dict[str, str], cwd: Path
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    guard = cwd / "guard.py"
    guard.write_text(GUARD, encoding="utf-8")
    record = cwd / "attempts.json"
    out = subprocess.run(
        [sys.executable, str(guard), str(record), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return out, json.loads(record.read_text(encoding="utf-8")) if record.exists() else ["no record"]


def _env(settings: Settings) -> dict[str, str]:
    env = settings_env(settings)
    for name in (*ENDPOINT_VARS, "DALIL_SECRETS_DIR"):
        env.pop(name, None)
    env["DALIL_CONFIG_FILE"] = ""
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH", "")]
    )
    return env


@pytest.mark.integration
def test_cli_ignores_a_dotenv_in_its_working_directory(indexed: Settings, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "DALIL_LLM_URL=http://example.org\nDALIL_ANSWER_MODE=llm\n", encoding="utf-8"
    )
    question = "Combien de semaines dure le congé de maternité ?"
    out, attempts = _cli(["ask", question, "--json"], _env(indexed), tmp_path)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout.splitlines()[-1])
    assert answer["mode"] == "extractive" and answer["model"] is None
    assert answer["citations"]
    assert attempts == []


@pytest.mark.integration
def test_cli_refuses_a_configured_outside_model_before_connecting(indexed: Settings, tmp_path: Path) -> None:
    config = tmp_path / "dalil.env"
    config.write_text("DALIL_LLM_URL=http://example.org\n", encoding="utf-8")
    env = _env(indexed) | {"DALIL_CONFIG_FILE": str(config)}
    out, attempts = _cli(["ask", "Combien de semaines dure le congé de maternité ?", "--json"], env, tmp_path)
    assert out.returncode == 1
    error = " ".join(out.stderr.split())
    assert "example.org" in error and "DALIL_LLM_URL" in error and "DALIL_ALLOWED_HOSTS" in error
    assert attempts == []
