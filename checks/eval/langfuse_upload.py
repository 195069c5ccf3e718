"""Upload a run to Langfuse through the official ``langfuse`` client, when credentials are set.

Each service gets a dataset ``<prefix>/<service>`` whose items are the testset's questions
(upserted by question id, so a reused testset adds nothing), and each run's scores become
Langfuse scores in the session ``raget/<service>/<run_id>``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from somatrace.checks.eval.config import LangfuseConfig


def dataset_name(config: LangfuseConfig, service: str) -> str:
    return f"{config.dataset_prefix}/{service}"


def session_id(service: str, run_id: str) -> str:
    return f"raget/{service}/{run_id}"


def dataset_items(
    testset_records: list[Mapping[str, Any]], testset_id: str
) -> list[dict[str, Any]]:
    """Langfuse dataset items for the testset's questions (``QATestset.to_pandas`` records)."""
    items = []
    for record in testset_records:
        metadata = dict(record.get("metadata") or {})
        items.append(
            {
                "id": str(record["id"]),
                "input": {
                    "question": record["question"],
                    "conversation_history": list(record.get("conversation_history") or []),
                },
                "expected_output": record["reference_answer"],
                "metadata": {
                    "testset_id": testset_id,
                    "question_type": metadata.get("question_type"),
                    "topic": metadata.get("topic"),
                    "reference_context": record.get("reference_context", ""),
                },
            }
        )
    return items


def score_records(
    service: str, run_id: str, testset_id: str, scores: Mapping[str, float]
) -> list[dict[str, Any]]:
    return [
        {
            "name": f"raget.{metric}",
            "value": float(value),
            "session_id": session_id(service, run_id),
            "data_type": "NUMERIC",
            "metadata": {"service": service, "run_id": run_id, "testset_id": testset_id},
        }
        for metric, value in sorted(scores.items())
    ]


def upload(
    config: LangfuseConfig,
    *,
    service: str,
    run_id: str,
    testset_id: str,
    testset_records: list[Mapping[str, Any]],
    scores: Mapping[str, float],
) -> str:
    """Upload; returns what was done (or why not). Raises on Langfuse errors."""
    credentials = config.credentials()
    if credentials is None:
        return "skipped: Langfuse credentials are not configured"
    host, public_key, secret_key = credentials
    from langfuse import Langfuse

    client = Langfuse(public_key=public_key, secret_key=secret_key, host=host)
    try:
        name = dataset_name(config, service)
        client.create_dataset(
            name=name,
            description=f"Giskard RAGET testset of {service} (somatrace eval)",
            metadata={"testset_id": testset_id},
        )
        items = dataset_items(testset_records, testset_id)
        for item in items:
            client.create_dataset_item(dataset_name=name, **item)
        records = score_records(service, run_id, testset_id, scores)
        for record in records:
            client.create_score(**record)
        client.flush()
    finally:
        client.shutdown()
    return f"uploaded {len(items)} dataset items to {name!r} and {len(records)} scores"


def testset_records_from_frame(frame: Any) -> list[dict[str, Any]]:
    """Records (with ``id``) of a Giskard testset DataFrame, JSON-safe."""
    records = json.loads(frame.reset_index().to_json(orient="records"))
    return [dict(r) for r in records]
