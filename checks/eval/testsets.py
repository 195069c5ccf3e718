"""Testsets that are generated once and reused every night, so scores compare like with like.

A testset is identified by the knowledge base's fingerprint and the generation settings
(question count, types, language). Beside the Giskard ``testset.jsonl`` we keep the
knowledge base's topic assignment, so per-topic scores keep the same topic names night after
night (and no LLM call is spent naming topics again).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from giskard.llm.client.base import LLMClient
from giskard.rag import KnowledgeBase, QATestset, generate_testset
from giskard.rag.question_generators import (
    ComplexQuestionsGenerator,
    ConversationalQuestionsGenerator,
    DistractingQuestionsGenerator,
    DoubleQuestionsGenerator,
    OutOfScopeGenerator,
    SimpleQuestionsGenerator,
    SituationalQuestionsGenerator,
)
from giskard.rag.question_generators.base import QuestionGenerator

from somatrace.checks.eval.config import ServiceConfig
from somatrace.checks.eval.knowledge import Chunk, fingerprint
from somatrace.checks.lint.errors import UsageError

GENERATORS: dict[str, type[Any]] = {
    "simple": SimpleQuestionsGenerator,
    "complex": ComplexQuestionsGenerator,
    "distracting": DistractingQuestionsGenerator,
    "situational": SituationalQuestionsGenerator,
    "double": DoubleQuestionsGenerator,
    "conversational": ConversationalQuestionsGenerator,
    "out_of_scope": OutOfScopeGenerator,
}
TESTSET_FILE = "testset.jsonl"
META_FILE = "testset_meta.json"


@dataclass(frozen=True)
class StoredTestset:
    testset_id: str
    folder: Path
    testset: QATestset
    reused: bool


def testset_id(service: ServiceConfig, language: str) -> str:
    settings = json.dumps(
        {
            "kb": fingerprint(service.knowledge_base, service.chunk_chars),
            "num_questions": service.num_questions,
            "question_types": list(service.question_types),
            "language": language,
        },
        sort_keys=True,
    )
    return f"{service.name}-{hashlib.sha256(settings.encode()).hexdigest()[:12]}"


def knowledge_frame(chunks: list[Chunk]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": [c.content for c in chunks],
            "source": [c.source for c in chunks],
            "heading": [c.heading for c in chunks],
        }
    )


def build_knowledge_base(
    chunks: list[Chunk], *, llm_client: LLMClient, embedding_model: Any, seed: int | None
) -> KnowledgeBase:
    return KnowledgeBase(
        knowledge_frame(chunks),
        columns=["text"],
        seed=seed,
        llm_client=llm_client,
        embedding_model=embedding_model,
    )


def make_generators(types: tuple[str, ...], llm_client: LLMClient) -> list[QuestionGenerator]:
    generators = []
    for name in types:
        generator = GENERATORS[name](llm_client=llm_client)
        if hasattr(type(generator), "_base_generator"):
            # Giskard's modifier generators build their base generator at class level, with the
            # default client: give each its own, with ours.
            generator._base_generator = SimpleQuestionsGenerator(llm_client=llm_client)
        generators.append(generator)
    return generators


def load_or_generate(
    service: ServiceConfig,
    knowledge_base: KnowledgeBase,
    *,
    testsets_dir: Path,
    language: str,
    llm_client: LLMClient,
    regenerate: bool = False,
) -> StoredTestset:
    """Last night's testset for this service and knowledge base, or a new one saved for later."""
    ident = testset_id(service, language)
    folder = testsets_dir / service.name / ident
    if not regenerate and (folder / TESTSET_FILE).is_file() and (folder / META_FILE).is_file():
        testset = QATestset.load(str(folder / TESTSET_FILE))
        _restore_topics(knowledge_base, json.loads((folder / META_FILE).read_text("utf-8")))
        return StoredTestset(ident, folder, testset, reused=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        testset = generate_testset(
            knowledge_base,
            num_questions=service.num_questions,
            question_generators=make_generators(service.question_types, llm_client),
            language=language,
            agent_description=service.description,
        )
    if len(testset) == 0:
        raise UsageError(
            f"{service.name}: the LLM produced no usable question from the knowledge base "
            f"{service.knowledge_base} (every generation failed to parse); use a larger model "
            "or check the LLM endpoint"
        )
    folder.mkdir(parents=True, exist_ok=True)
    testset.save(str(folder / TESTSET_FILE))
    meta = {
        "testset_id": ident,
        "service": service.name,
        "generated_at": datetime.now(UTC).isoformat(),
        "num_questions_requested": service.num_questions,
        "num_questions": len(testset),
        "question_types": list(service.question_types),
        "language": language,
        **knowledge_base.get_savable_data(),
    }
    (folder / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False), "utf-8")
    return StoredTestset(ident, folder, testset, reused=False)


def _restore_topics(knowledge_base: KnowledgeBase, meta: dict[str, Any]) -> None:
    topics = {int(k): v for k, v in meta["topics"].items()}
    assignment = [int(t) for t in meta["documents_topics"]]
    documents = knowledge_base._documents
    if len(assignment) != len(documents):
        raise UsageError(
            "the saved testset's topic assignment does not match the knowledge base; "
            "run again with --regenerate-testset"
        )
    knowledge_base._topics_inst = topics
    for document, topic in zip(documents, assignment, strict=True):
        document.topic_id = topic
