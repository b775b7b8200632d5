"""Chat models behind one Protocol; the adapter is the official `mistralai` SDK, which talks to
Mistral's API and to any self-hosted Mistral-compatible server (vLLM, llama.cpp)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol
from urllib.parse import urlsplit

from assistant.egress import check_url, is_loopback
from assistant.endpoints import MISTRAL_API_URL, server_root
from assistant.errors import ConfigError, LLMError
from assistant.settings import Settings, get_settings

Message = dict[str, str]


class ChatModel(Protocol):
    """A chat model. The one adapter, `MistralChat`, is the official `mistralai` SDK."""

    name: str  # the model name, recorded in every answer and audit entry
    remote: bool  # served from another machine: questions are pseudonymised before they are sent

    def complete(self, messages: list[Message]) -> str:
        """The whole reply to `messages` (role/content dicts, system first). Raises LLMError on any
        failure (timeout, refused key, server down, empty choice), never an SDK exception."""
        ...

    def stream(self, messages: list[Message]) -> Iterator[str]:
        """The reply as text deltas, in order; an LLMError may be raised at any point of the
        iteration (the caller then falls back to an extractive answer)."""
        ...


class MistralChat:
    def __init__(
        self,
        server_url: str | None,
        api_key: str | None,
        model: str,
        timeout_s: float = 60.0,
        max_tokens: int = 600,
        temperature: float = 0.1,
        *,
        allowed_hosts: Sequence[str] | None = None,
        setting: str | None = None,
    ) -> None:
        """`server_url` None: Mistral's API. The host is checked against the egress allow-list
        (`allowed_hosts`, default the settings' DALIL_ALLOWED_HOSTS) before the client is built;
        `setting` names where the address came from in the error."""
        from mistralai.client import Mistral

        if allowed_hosts is None:
            allowed_hosts = get_settings().allowed_hosts
        if server_url:
            check_url(server_url, setting or "DALIL_LLM_URL", allowed_hosts)
            server_url = server_root(server_url)
        else:
            server_url = check_url(
                MISTRAL_API_URL, setting or "MISTRAL_API_KEY (Mistral's API)", allowed_hosts
            )
        self.name = model
        self.server_url = server_url
        self.remote = not is_loopback(urlsplit(server_url).hostname or "")
        self._timeout_ms = int(timeout_s * 1000)
        self._max_tokens = max_tokens
        self._temperature = temperature
        self._client = Mistral(api_key=api_key or "none", server_url=server_url, timeout_ms=self._timeout_ms)

    def _wrap(self, exc: Exception) -> LLMError:
        text = str(exc)
        if "401" in text or "Unauthorized" in text or "invalid api key" in text.lower():
            return LLMError(
                f"the model server rejected the API key (401): check MISTRAL_API_KEY. {text[:200]}"
            )
        if "timed out" in text.lower() or "timeout" in type(exc).__name__.lower():
            return LLMError(f"the model did not answer within {self._timeout_ms / 1000:.0f} s: {text[:200]}")
        return LLMError(f"the model call failed ({type(exc).__name__}): {text[:300]}")

    def complete(self, messages: list[Message]) -> str:
        try:
            resp = self._client.chat.complete(
                model=self.name,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=self._max_tokens,
                temperature=self._temperature,
                timeout_ms=self._timeout_ms,
            )
        except Exception as exc:  # the SDK raises httpx, SDKError and validation errors
            raise self._wrap(exc) from exc
        if not resp or not resp.choices:
            raise LLMError("the model returned no choices")
        message = resp.choices[0].message
        content = message.content if message is not None else None
        if isinstance(content, list):
            content = "".join(getattr(c, "text", "") for c in content)
        return content or ""

    def stream(self, messages: list[Message]) -> Iterator[str]:
        try:
            events = self._client.chat.stream(
                model=self.name,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=self._max_tokens,
                temperature=self._temperature,
                timeout_ms=self._timeout_ms,
            )
            for event in events:
                choices = event.data.choices
                if not choices:
                    continue
                delta = choices[0].delta.content
                if isinstance(delta, list):
                    delta = "".join(getattr(c, "text", "") for c in delta)
                if delta:
                    yield delta
        except LLMError:
            raise
        except Exception as exc:
            raise self._wrap(exc) from exc


_SERVER = None


def chat_model_from_settings(settings: Settings) -> ChatModel | None:
    """The configured model, or None when Dalil should answer extractively."""
    global _SERVER
    key = settings.mistral_api_key.get_secret_value() if settings.mistral_api_key else None
    url = settings.llm_url
    model = settings.llm_model
    if settings.llm_gguf and not url:
        from assistant.generation.server import LlamaServer

        if _SERVER is None:
            _SERVER = LlamaServer(settings.llm_gguf)
        url = _SERVER.url
        model = _SERVER.alias
    if not url and not key:
        return None
    if not url and key is None:
        raise ConfigError("set MISTRAL_API_KEY for Mistral's API or DALIL_LLM_URL for a self-hosted server")
    return MistralChat(
        url,
        key,
        model,
        timeout_s=settings.llm_timeout_s,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
        allowed_hosts=settings.allowed_hosts,
        setting=(
            "DALIL_LLM_URL"
            if settings.llm_url
            else "DALIL_LLM_GGUF"
            if url
            else "MISTRAL_API_KEY (Mistral's API, no DALIL_LLM_URL)"
        ),
    )
