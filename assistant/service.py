"""Wiring: build the retriever and assistant from settings (used by the CLI, the UI and eval)."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.answer import Assistant
from assistant.audit import AuditLog
from assistant.generation.chat import ChatModel, chat_model_from_settings
from assistant.index import Index, shared_index
from assistant.keys import derive, secret_key
from assistant.messages import Answer
from assistant.modes import Audience
from assistant.privacy import Pseudonymiser
from assistant.prompts import prompt_version
from assistant.registry import Registry
from assistant.retrieval import Retriever
from assistant.settings import Settings


@dataclass
class Dalil:
    settings: Settings
    index: Index
    retriever: Retriever
    assistant: Assistant
    audit: AuditLog
    owns_index: bool = False  # opened by `open` (not passed in, not the process's shared one)

    @classmethod
    def open(
        cls,
        settings: Settings,
        index: Index | None = None,
        chat: ChatModel | None = None,
        shared: bool = False,
    ) -> Dalil:
        settings.ensure_dirs()
        # the audit log first (checked when opened): a damaged trail fails before any index is
        # opened or any answer computed, never after an answer that could then not be recorded
        key = secret_key(settings)
        audit = AuditLog(settings.audit_path, key=key, privacy_mode=settings.privacy_mode)
        try:
            if settings.audit_retention_days is not None:
                audit.purge(settings.audit_retention_days)
            idx = index or (shared_index(settings) if shared else Index(settings))
            retriever = Retriever(idx)
            model = chat if chat is not None else chat_model_from_settings(settings)
        except BaseException:
            audit.close()
            raise
        # a model on another machine never receives the asker's personal data
        outbound = (
            Pseudonymiser(settings.privacy_mode, key=derive(key, "pseudonyms"))
            if model and model.remote
            else None
        )
        assistant = Assistant(retriever, model, outbound=outbound)
        return cls(settings, idx, retriever, assistant, audit, owns_index=index is None and not shared)

    def close(self) -> None:
        """Close the audit log and the index (a shared index stays open for the process)."""
        self.audit.close()
        if self.owns_index:
            self.index.close()

    def index_version(self) -> str:
        registry = Registry(self.settings.registry_path)
        try:
            return registry.index_version()
        finally:
            registry.close()

    def log(self, answer: Answer, user: str | None = None, audience: Audience | str = Audience.PUBLIC) -> int:
        return self.audit.record(
            answer.as_dict(),
            self.index_version(),
            prompt_version(),
            user=user,
            audience=Audience(audience).value,
        )
