"""ST203 pii-span-attribute."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import ProviderT, ScopeProvider

from somatrace.checks.analysis.names import (
    SET_ASSOCIATION_PROPERTIES,
    TAGS_BIND,
    callee_names,
    constant_string,
    keyword,
    module_constants,
    qualified_names,
    resolve_constant,
    string_value,
)
from somatrace.checks.lint.rule import FileContext, Invalid, PythonRule, Valid

# Words and phrases that mark a key as personal or secret data (the `pii-words` option replaces
# them). Matched on whole words of the key: `gen_ai.usage.input_tokens` has the word "tokens",
# a count, not "token".
DEFAULT_PII_WORDS: tuple[str, ...] = (
    "email",
    "emails",
    "e mail",
    "emailaddress",
    "phone",
    "phones",
    "phonenumber",
    "phone number",
    "telephone",
    "address",
    "ssn",
    "social security",
    "credit card",
    "creditcard",
    "card number",
    "cardnumber",
    "cvv",
    "iban",
    "passport",
    "date of birth",
    "dob",
    "birthdate",
    "password",
    "passwd",
    "passphrase",
    "token",
    "api key",
    "apikey",
    "secret",
    "secrets",
    "credential",
    "credentials",
    "authorization",
    "cookie",
    "cookies",
    "prompt",
    "prompts",
    "message",
    "messages",
    "content",
    "contents",
    "completion",
    "completions",
)
# A word after the match that makes the key describe the data instead of holding it:
# `prompt_tokens`, `message.count`, `password_length`, `token_type`, `secret_name`.
_DESCRIBES_AFTER = frozenset(
    {
        "count", "counts", "tokens", "length", "len", "size", "bytes", "chars", "id", "ids",
        "type", "types", "kind", "version", "hash", "hashed", "digest", "sha", "md5", "name",
        "names", "role", "roles", "format", "limit", "enabled", "truncated", "redacted",
        "present", "verified", "index", "template", "templates", "domain", "status", "model",
        "provider", "ttl", "expiry", "expires", "valid",
    }
)  # fmt: skip
# Words that, after a content word (prompt, message, ...), name something about the content
# rather than the content: `traceloop.prompt.key` (a registry key), `prompt.managed`.
_CONTENT_WORDS = frozenset(
    {"prompt", "prompts", "message", "messages", "content", "contents", "completion", "completions"}
)
_DESCRIBES_CONTENT_AFTER = frozenset({"key", "managed", "registry", "label", "labels", "source"})
# A word before it that does the same: `num_messages`, `has_email`, `is_secret`.
_DESCRIBES_BEFORE = frozenset({"num", "n", "count", "max", "min", "total", "has", "is", "no"})
# Standard attributes that are not personal data: `server.address`, `exception.message`,
# `page_token` (a pagination cursor).
_NOT_PERSONAL_AFTER: dict[str, frozenset[str]] = {
    "address": frozenset(
        {
            "server",
            "client",
            "peer",
            "host",
            "ip",
            "net",
            "network",
            "socket",
            "sock",
            "local",
            "remote",
            "destination",
            "source",
            "mac",
            "url",
            "http",
            "broker",
            "endpoint",
        }
    ),
    "message": frozenset({"exception", "error", "status", "log", "commit"}),
    "token": frozenset({"page", "next", "continuation", "cursor", "pagination", "sync"}),
}
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
SPAN_METHODS_WITH_ATTRIBUTES = frozenset(
    {"start_span", "start_as_current_span", "add_event", "record_exception"}
)
SEMCONV_PREFIXES = ("opentelemetry.semconv", "opentelemetry.semconv_ai")
# Calls that give a span: what `with ... as x` / `x = ...` binds, or a receiver itself.
SPAN_FACTORIES = frozenset(
    {"start_as_current_span", "start_span", "get_current_span", "use_span", "INVALID_SPAN"}
)


def _last_name(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None


def _is_span_factory(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Call) and _last_name(node.func) in SPAN_FACTORIES


# Pre-filter: `span.set_attribute(`, `current_span.set_attributes(`, `get_current_span().set_…`
_SPAN_RECEIVER = re.compile(rb"span\w*(?:\(\))?\s*\.set_attributes?\(", re.IGNORECASE)
_SPAN_SOURCES = (b"start_span", b"start_as_current_span", b"get_current_span")
_SPAN_ANNOTATION = re.compile(rb"[:\[,(|]\s*(?:[\w.]+\.)?Span\b")


class _SpanNames(cst.CSTVisitor):
    """Names in a module that hold spans: bound from a span factory (``with
    tracer.start_as_current_span(...) as s``, ``s = trace.get_current_span()``) or parameters
    annotated as a span (``s: Span``)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None and isinstance(node.asname.name, cst.Name):
            if _is_span_factory(node.item):
                self.names.add(node.asname.name.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        if _is_span_factory(node.value):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self.names.add(target.target.value)

    def visit_Param(self, node: cst.Param) -> None:
        if node.annotation is not None:
            annotation = node.annotation.annotation
            text = string_value(annotation) or _last_name(annotation) or ""
            if text.rsplit(".", 1)[-1].endswith("Span"):
                self.names.add(node.name.value)


def words(text: str) -> list[str]:
    """``user.emailAddress`` -> ``["user", "email", "address"]``."""
    return [w.lower() for w in _WORD.findall(text)]


def personal_data_phrase(key: str, phrases: tuple[tuple[str, ...], ...]) -> str | None:
    """The phrase in ``key`` that names personal or secret data, or ``None``."""
    key_words = words(key)
    for phrase in phrases:
        size = len(phrase)
        for start in range(len(key_words) - size + 1):
            if tuple(key_words[start : start + size]) != phrase:
                continue
            before = key_words[:start]
            after = key_words[start + size :]
            if _DESCRIBES_AFTER.intersection(after):
                continue
            if phrase[-1] in _CONTENT_WORDS and _DESCRIBES_CONTENT_AFTER.intersection(after):
                continue
            if before and before[-1] in _DESCRIBES_BEFORE:
                continue
            if before and before[-1] in _NOT_PERSONAL_AFTER.get(phrase[-1], frozenset()):
                continue
            return " ".join(phrase)
    return None


def configured_phrases(ctx: FileContext) -> tuple[tuple[str, ...], ...]:
    configured = ctx.config.get("pii-words") or DEFAULT_PII_WORDS
    phrases = {tuple(words(phrase)) for phrase in configured}
    # Longer phrases first, so "api key" is named rather than a part of it.
    return tuple(sorted((p for p in phrases if p), key=lambda p: (-len(p), p)))


class PiiSpanAttribute(PythonRule):
    """A span attribute whose key names personal or secret data.

    ## What it does
    Reports the keys of `span.set_attribute(key, ...)`, `span.set_attributes({...})`,
    `attributes={...}` given to `start_span` / `start_as_current_span` / `add_event` /
    `record_exception`, `Traceloop.set_association_properties({...})` and
    `somatrace.tags.bind(...)` when the key names personal or secret data: email, phone,
    address, SSN, credit card, password, token, API key, secret, credentials, prompt /
    message / content / completion bodies. The word list is the `pii-words` option.

    Keys are split into words (`.`, `_`, `-`, camelCase) and matched as whole words, so
    `gen_ai.usage.input_tokens` ("tokens") is not a token, and a word after the match that
    describes the data instead of holding it (`prompt_tokens`, `message.count`,
    `password_length`, `token_type`, `email_hash`) makes the key fine, as do standard
    attributes like `server.address` and `exception.message`. Keys are read from literals,
    module constants and OpenTelemetry semantic-convention constants
    (`SpanAttributes.LLM_PROMPTS`).

    ## Why is this bad?
    Span attributes are exported to the trace backend, kept for its whole retention and
    readable by everyone with access to traces; association properties are copied onto every
    span of the request. Personal data there breaks the content policy that `init_tracing`
    enforces for prompts (off by default, redacted when a tenant opts in).

    ## Example
    ```python
    span.set_attribute("user.email", user.email)
    span.set_attribute("gen_ai.prompt", prompt)
    ```

    ## Use instead
    ```python
    span.set_attribute("user.id", user.id)
    span.set_attribute("gen_ai.prompt.length", len(prompt))
    ```

    ## Fix safety
    No automatic fix: what to record instead (an ID, a hash, a length) is a decision.
    """

    CODE = "ST203"
    NAME = "pii-span-attribute"
    TRIGGERS = (b"set_attribute", b"attributes", b"association_properties", b"bind")

    @classmethod
    def applies_to(cls, source: bytes, ctx: FileContext) -> bool:
        # "attributes" and "bind" are everyday words (socket.bind, XML attributes): they only
        # matter next to a span API or somatrace's tag binding.
        if b"association_properties" in source:
            return True
        if b"set_attribute" in source and (
            _SPAN_RECEIVER.search(source)
            or any(m in source for m in _SPAN_SOURCES)
            or _SPAN_ANNOTATION.search(source)
        ):
            return True  # a receiver named like a span, a span factory or a `Span` annotation
        if b"bind" in source and b"somatrace" in source:
            return True
        return b"attributes" in source and (
            b"start_span" in source or b"start_as_current_span" in source
        )

    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (ScopeProvider,)

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.constants: dict[str, cst.BaseExpression] = {}
        self.span_names: set[str] = set()
        self.phrases = configured_phrases(ctx)

    def visit_Module(self, node: cst.Module) -> None:
        self.constants = module_constants(self, node)
        collector = _SpanNames()
        node.visit(collector)
        self.span_names = collector.names

    def _is_span(self, receiver: cst.BaseExpression) -> bool:
        """Whether ``receiver`` (of ``.set_attribute``) is a span, as far as the module shows:
        a name bound to a span, a span factory call, or a name that says it is a span
        (``span``, ``self.root_span``) — not ``ldap_entry`` or a DOM ``element``."""
        if _is_span_factory(receiver):
            return True
        name = _last_name(receiver)
        if name is None:
            return False
        return name in self.span_names or "span" in name.lower()

    def visit_Call(self, node: cst.Call) -> None:
        method = node.func.attr.value if isinstance(node.func, cst.Attribute) else None
        if method in ("set_attribute", "set_attributes") and not self._is_span(
            node.func.value  # type: ignore[union-attr]
        ):
            return
        if method == "set_attribute":
            arg = node.args[0] if node.args and node.args[0].keyword is None else None
            arg = arg or keyword(node, "key")
            if arg is not None and not arg.star:
                self._check_key_node(arg.value, "span attribute")
            return
        if method == "set_attributes":
            arg = node.args[0] if node.args and not node.args[0].keyword else None
            arg = arg or keyword(node, "attributes")
            if arg is not None:
                self._check_mapping(arg.value, "span attribute")
            return
        if method in SPAN_METHODS_WITH_ATTRIBUTES:
            arg = keyword(node, "attributes")
            if arg is not None:
                self._check_mapping(arg.value, "span attribute")
            return
        names = callee_names(self, node)
        if names & SET_ASSOCIATION_PROPERTIES or method == "set_association_properties":
            arg = node.args[0] if node.args and not node.args[0].keyword else None
            arg = arg or keyword(node, "properties")
            if arg is not None:
                self._check_mapping(arg.value, "association property")
        elif names & TAGS_BIND:
            self._check_call_arguments(node, "span tag")

    def _check_key_node(self, node: cst.BaseExpression, what: str) -> None:
        key = self._key_text(node)
        if key is not None:
            self._check_key(key, node, what)

    def _key_text(self, node: cst.BaseExpression) -> str | None:
        text = constant_string(self, node, self.constants)
        if text is not None:
            return text
        resolved = resolve_constant(self, node, self.constants)
        if isinstance(resolved, cst.Name | cst.Attribute):
            for name in qualified_names(self, resolved):
                if name.startswith(SEMCONV_PREFIXES):
                    return name.rsplit(".", 1)[-1]
        return None

    def _check_mapping(self, node: cst.BaseExpression, what: str) -> None:
        resolved = resolve_constant(self, node, self.constants)
        if isinstance(resolved, cst.Dict):
            # Report at each key of a dict display.
            for element in resolved.elements:
                if isinstance(element, cst.DictElement):
                    self._check_key_node(element.key, what)
                else:
                    self._check_mapping(element.value, what)
            return
        if isinstance(resolved, cst.Call) and "builtins.dict" in callee_names(self, resolved):
            self._check_call_arguments(resolved, what)

    def _check_call_arguments(self, call: cst.Call, what: str) -> None:
        """Keyword arguments are keys (reported at the keyword); a positional mapping or a
        ``**spread`` is read as a mapping."""
        for arg in call.args:
            if arg.keyword is not None:
                self._check_key(arg.keyword.value, arg.keyword, what)
            elif arg.star in ("", "**"):
                self._check_mapping(arg.value, what)

    def _check_key(self, key: str, node: cst.CSTNode, what: str) -> None:
        phrase = personal_data_phrase(key, self.phrases)
        if phrase is None:
            return
        data: dict[str, Any] = {"key": key, "matched": phrase}
        self.report(
            node,
            f"{what} key '{key}' names personal or secret data ('{phrase}'): it is exported "
            "with every span and kept by the trace backend; record an ID, hash or length "
            "instead, or drop it",
            data=data,
        )

    VALID: ClassVar[list[Valid]] = [
        Valid(
            """
            from opentelemetry import trace

            tracer = trace.get_tracer(__name__)

            def answer(span, usage, request):
                span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
                span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
                span.set_attribute("gen_ai.usage.prompt_tokens", usage.prompt_tokens)
                span.set_attribute("gen_ai.request.max_tokens", 256)
                span.set_attributes({"server.address": "api.openai.com", "user.id": request.uid})
                span.set_attribute("exception.message", "timeout")
                span.set_attribute("gen_ai.prompt.length", len(request.prompt))
                span.set_attribute("auth.token_type", "bearer")
                span.set_attribute("http.response.content_length", 12)
                span.set_attribute("tokenizer", "cl100k")
                with tracer.start_as_current_span("rag", attributes={"retrieval.k": 4}):
                    pass
            """,
            why="usage counts, standard attributes, descriptions of data, not data",
        ),
        Valid(
            """
            def log(span, key, value):
                span.set_attribute(key, value)
                span.set_attribute(f"user.{key}", value)
            """,
            why="keys only known at run time",
        ),
        Valid(
            """
            def sync(ldap_entry, element, password, body):
                ldap_entry.set_attribute("userPassword", password)
                element.set_attributes({"content": body})
            """,
            why="set_attribute on objects that are not spans",
        ),
        Valid(
            """
            span.set_attribute("user.email", email)
            """,
            config={"pii-words": ["ssn"]},
            why="the word list is configurable",
        ),
    ]
    INVALID: ClassVar[list[Invalid]] = [
        Invalid(
            """
            def handle(span, user):
                span.set_attribute("user.email", user.email)
            """,
            line=2,
            col=24,
            message="'email'",
        ),
        Invalid(
            """
            from opentelemetry import trace

            tracer = trace.get_tracer(__name__)
            with tracer.start_as_current_span(
                "chat", attributes={"tenant_id": "t1", "gen_ai.input.messages": "[...]"}
            ):
                pass
            """,
            line=5,
            col=44,
            message="'messages'",
        ),
        Invalid(
            """
            API_KEY_ATTR = "llm.apiKey"

            def call(span, key):
                span.set_attributes(dict(customerPhoneNumber="+41...", model="x"))
                span.set_attribute(API_KEY_ATTR, key)
            """,
            line=4,
            count=2,
        ),
        Invalid(
            """
            from traceloop.sdk import Traceloop

            Traceloop.set_association_properties({"tenant_id": "t1", "user_password": "x"})
            """,
            line=3,
            col=58,
        ),
        Invalid(
            """
            from opentelemetry import trace
            from opentelemetry.trace import Span

            tracer = trace.get_tracer(__name__)

            def a(user):
                with tracer.start_as_current_span("a") as current:
                    current.set_attribute("user.phone", user.phone)
                trace.get_current_span().set_attribute("auth.password", user.pw)

            def b(s: Span, user):
                s.set_attributes({"customer.address": user.address})
            """,
            line=8,
            col=31,
            count=3,
            why="spans bound by with/as, a span factory call, an annotated parameter",
        ),
        Invalid(
            """
            from opentelemetry.semconv_ai import SpanAttributes

            def record(span, prompt):
                span.set_attribute(SpanAttributes.LLM_PROMPTS, prompt)
            """,
            line=4,
            col=24,
        ),
        Invalid(
            """
            from somatrace import tags

            with tags.bind(tenant_id="t1", workflow_name="w", agent_id="a", ssn="123"):
                pass
            """,
            line=3,
            col=65,
        ),
    ]
