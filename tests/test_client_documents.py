"""Document management through the two `DalilClient`s — in this process (`LocalClient`) and over
HTTP to a real `dalil serve` (`HttpClient`, where each change is a job) — with the same outcomes:
withdraw, restore, re-index one document or everything, edit a document's metadata, list jobs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from assistant.corpus import DocumentMeta, load_metadata_edits
from assistant.errors import InputError
from assistant.http_client import HttpClient
from assistant.index import shared_index
from assistant.modes import Role
from assistant.settings import Settings
from ingest.local_client import LocalClient
from tests.serving import Service, copy_data, running_service
from tests.test_client_congruence import assert_congruent

pytestmark = pytest.mark.integration

DOC = "test_fr:faq_etat_civil.md"


@pytest.fixture()
def clients(indexed: Settings, tmp_path: Path) -> Iterator[tuple[LocalClient, HttpClient, Service]]:
    settings = copy_data(indexed, tmp_path / "data")
    with running_service(settings) as service:
        local = LocalClient(settings, index=shared_index(settings))
        remote = HttpClient(
            settings.model_copy(
                update={"api_url": service.url, "api_key": SecretStr(service.keys[Role.OWNER])}
            )
        )
        yield local, remote, service
        local.close()
        remote.close()


def outcomes(report: dict[str, Any]) -> list[tuple[str, str, int]]:
    """What a run did to each document (not how long it took nor what the cache spared)."""
    return [(d["doc_id"], d["status"], d["chunks"]) for d in report["documents"]]


def status_of(client: LocalClient | HttpClient, doc_id: str) -> str:
    return next(str(d["status"]) for d in client.documents() if d["doc_id"] == doc_id)


def test_document_changes_are_the_same_in_process_and_over_http(
    clients: tuple[LocalClient, HttpClient, Service],
) -> None:
    local, remote, service = clients
    assert DOC in {d["doc_id"] for d in remote.documents()}
    restored = []
    for client in (remote, local):
        client.withdraw(DOC)
        assert status_of(client, DOC) == "withdrawn"
        restored.append(client.restore(DOC))
        assert status_of(client, DOC) == "indexed"
    assert_congruent(outcomes(restored[1]), outcomes(restored[0]), "restore")
    for client in (remote, local):
        with pytest.raises(InputError):
            client.restore(DOC)  # not withdrawn
    again = [client.reindex(DOC) for client in (local, remote)]
    assert_congruent(outcomes(again[0]), outcomes(again[1]), "re-index one document")
    assert [doc for doc, _, _ in outcomes(again[0])] == [DOC]
    everything = [client.reindex() for client in (local, remote)]
    assert_congruent(outcomes(everything[0]), outcomes(everything[1]), "re-index everything")
    for title, client in (("Titre local", local), ("Titre distant", remote)):
        report = client.edit(DOC, DocumentMeta(title=title, reference="Circulaire 1/2026"))
        assert outcomes(report)[0][0] == DOC
        edited = load_metadata_edits(service.settings.metadata_path)[DOC]
        assert (edited.title, edited.reference) == (title, "Circulaire 1/2026")
    kinds = [j["kind"] for j in remote.jobs()]
    assert kinds[:5] == ["edit", "sync", "reindex", "restore", "withdraw"], kinds
    assert local.jobs() == []
