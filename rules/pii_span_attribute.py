"""ST203 pii-span-attribute."""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable
from typing import Any, ClassVar

from somatrace.checks.analysis import otel
from somatrace.checks.analysis.values import (
    constant_string,
    fstring_display,
    fstring_literal_parts,
    resolve_constant,
)
from somatrace.checks.lint.codes import PII_SPAN_ATTRIBUTE
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.module import Module, Scope, argument, keyword_arg
from somatrace.checks.lint.project import ModuleFacts, ProjectModel, to_term
from somatrace.checks.lint.provenance import VALUES_FACET, terms_for, values_facet
from somatrace.checks.lint.rule import (
    Expect,
    FileContext,
    FixAvailability,
    Invalid,
    PythonRule,
    Valid,
)

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
# Pre-filter: `span.set_attribute(`, `current_span.set_attributes(`, `get_current_span().set_…`
# A word containing `span`, taken whole from its start (atomic): `span\w*` unanchored rescanned
# the rest of a long word from every `span` in it (181 s on `span` * 40,000).
_SPAN_RECEIVER = re.compile(
    rb"(?<!\w)(?=\w*?span)(?>\w*)(?:\(\))?\s*\.set_attributes?\(", re.IGNORECASE
)
_SPAN_SOURCES = (b"start_span", b"start_as_current_span", b"get_current_span")
_SPAN_ANNOTATION = re.compile(rb"[:\[,(|]\s*(?:[\w.]+\.)?Span\b")
# A project helper given the span first and a key literal after it: `record(span, "user.email",
# v)`, `set_attr(\n    span, f"gen_ai.prompt.{i}.content", m\n)` (up to a nested call). A span
# passed alone (`use_span(span)`, `isinstance(span, Span)`, `len(spans)`) hands over no key: on
# llm-stack 61 files were parsed for those only, 1.9 MB, and none holds a finding.
_SPAN_THEN_LITERAL = re.compile(rb"\(\s*span\w*\s*,[^()]*?[\"']")
# After a content word, only these may follow for the key to hold the content itself
# (`gen_ai.prompt.0.content`, `chat.messages.user`); anything else describes it
# (`prompt.round`, `prompt_versions`, `prompt.best_reward`).
_CONTENT_HOLDERS = frozenset(
    {"content", "contents", "text", "body", "value", "values", "raw", "full", "parts", "user",
     "system", "assistant", "input", "output", "prompt", "prompts", "message", "messages",
     "completion", "completions"}
)  # fmt: skip
_KEY_METHODS = frozenset({"set_attribute", "set_attributes"})
SPAN_KEYS_FACET = "span-keys"


def words(text: str) -> list[str]:
    """``user.emailAddress`` -> ``["user", "email", "address"]``."""
    return [w.lower() for w in _WORD.findall(text)]


@functools.lru_cache(maxsize=4096)
def personal_data_phrase(key: str, phrases: tuple[tuple[str, ...], ...]) -> str | None:
    """The phrase in ``key`` that names personal or secret data, or ``None``. (Memoised: a
    file passes the same keys to its helpers many times.)"""
    key_words = words(key)
    present = set(key_words)
    for phrase in phrases:
        if phrase and phrase[0] not in present:
            continue
        size = len(phrase)
        for start in range(len(key_words) - size + 1):
            if tuple(key_words[start : start + size]) != phrase:
                continue
            before = key_words[:start]
            after = key_words[start + size :]
            if _DESCRIBES_AFTER.intersection(after):
                continue
            if phrase[-1] in _CONTENT_WORDS and (
                _DESCRIBES_CONTENT_AFTER.intersection(after)
                or not all(w.isdigit() or w in _CONTENT_HOLDERS for w in after)
            ):
                continue
            if before and before[-1] in _DESCRIBES_BEFORE:
                continue
            if before and before[-1] in _NOT_PERSONAL_AFTER.get(phrase[-1], frozenset()):
                continue
            return " ".join(phrase)
    return None


def _shown(key: str, node: ast.AST) -> str:
    """The key as a finding names it: an f-string as written (``gen_ai.prompt.{i}.content``;
    it is matched on its literal parts alone, ``gen_ai.prompt.`` and ``.content``)."""
    return fstring_display(node) if type(node) is ast.JoinedStr else key


def configured_words(ctx: FileContext) -> tuple[str, ...]:
    return tuple(ctx.config.get("pii-words") or DEFAULT_PII_WORDS)


@functools.lru_cache(maxsize=16)
def _screen_phrases(configured: tuple[str, ...]) -> tuple[tuple[bytes, ...], ...]:
    """Every phrase as the lowercased words it is matched by. A key names a phrase only when
    each of its words is a word of the key, so a file's lowercased bytes hold all of them
    (``apiKey``, ``API_KEY``, ``api-key`` all hold "api" and "key"); one word of a phrase is
    not enough (the "e" of "e mail" is in every file, the "of" of "date of birth" in most)."""
    return tuple(tuple(w.encode() for w in phrase) for phrase in _phrases(configured))


def _near_a_span_api(source: bytes) -> bool:
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
    if b"attributes" in source and (b"start_span" in source or b"start_as_current_span" in source):
        return True
    # A call of a project helper that sets the attribute for the caller passes the span.
    return b"span" in source and (
        b"set_attribute" in source or _SPAN_THEN_LITERAL.search(source) is not None
    )


def configured_phrases(ctx: FileContext) -> tuple[tuple[str, ...], ...]:
    return _phrases(configured_words(ctx))


@functools.lru_cache(maxsize=16)
def _phrases(configured: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """The configured phrases as their (lowercase) words; longer phrases first, so "api key" is
    named rather than a part of it. Once per configuration: the rule and its screen share it."""
    phrases = {tuple(words(phrase)) for phrase in configured}
    return tuple(sorted((p for p in phrases if p), key=lambda p: (-len(p), p)))


def span_keys_facet(module: Module) -> dict[str, list[list[Any]]]:
    """Functions that set one of their parameters as an attribute key on a receiver:
    qualname -> [[parameter index, parameter name, receiver term, receiver name], ...]."""
    terms = terms_for(module)
    out: dict[str, list[list[Any]]] = {}
    for call, scope in module.calls:
        func = call.func
        if type(func) is not ast.Attribute or func.attr != "set_attribute":
            continue
        function = scope.function
        key = argument(call, 0, "key")
        if function is None or function.kind != "function" or type(key) is not ast.Name:
            continue
        found = scope.lookup(key.id)
        if found is None or found[0] is not function:
            continue
        params = [a.arg for a in (*function.node.args.posonlyargs, *function.node.args.args)]  # type: ignore[attr-defined]
        if key.id not in params:
            continue
        receiver = func.value
        out.setdefault(function.qualname, []).append(
            [params.index(key.id), key.id, terms.of(receiver, scope), otel.receiver_name(receiver)]
        )
    return out


class PiiSpanAttribute(PythonRule):
    """A span attribute whose key names personal or secret data.

    ## What it does
    Reports the keys of `span.set_attribute(key, ...)`, `span.set_attributes({...})`,
    `attributes={...}` given to `start_span` / `start_as_current_span` / `add_event` /
    `record_exception`, `Traceloop.set_association_properties({...})` and
    `somatrace.tags.bind(...)` when the key names personal or secret data: email, phone,
    address, SSN, credit card, password, token, API key, secret, credentials, prompt /
    message / content / completion bodies. The word list is the `pii-words` option. A literal
    key handed to a project helper that sets that parameter as the key of a span attribute
    (`record(span, "user.email", v)` with `def record(span, key, value):
    span.set_attribute(key, value)` in any module) is reported at the caller, when the caller
    hands the span over first (`record(span, ...)`) or sets span attributes itself.

    Keys are split into words (`.`, `_`, `-`, camelCase) and matched as whole words, so
    `gen_ai.usage.input_tokens` ("tokens") is not a token, and a word after the match that
    describes the data instead of holding it (`prompt_tokens`, `message.count`,
    `password_length`, `token_type`, `email_hash`) makes the key fine, as do standard
    attributes like `server.address` and `exception.message`. Keys are read from literals,
    f-strings (their literal parts: `f"gen_ai.prompt.{i}.content"` holds "prompt" and
    "content"), module constants and OpenTelemetry semantic-convention constants
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

    CODE = PII_SPAN_ATTRIBUTE
    NAME = "pii-span-attribute"
    TRIGGERS = (b"set_attribute", b"attributes", b"association_properties", b"bind")
    FIX = FixAvailability.NONE
    API = (otel.TABLE,)
    FACETS = {VALUES_FACET: values_facet, SPAN_KEYS_FACET: lambda m, ctx: span_keys_facet(m)}

    @classmethod
    def applies_to(cls, source: bytes, ctx: FileContext) -> bool:
        # A key can only name personal data where a span API is near and one of the words is
        # in the file (in a literal, a constant or a semantic-convention name). The span test
        # is the cheaper one, so it goes first.
        if not _near_a_span_api(source):
            return False
        lowered = ctx.lowered(source)
        return any(
            all(word in lowered for word in phrase)
            for phrase in _screen_phrases(configured_words(ctx))
        )

    def check(self, module: Module) -> None:
        self.phrases = configured_phrases(self.ctx)
        self.terms = terms_for(module)
        self.module_ = module
        for call, scope in module.calls:
            func = call.func
            method = func.attr if type(func) is ast.Attribute else None
            if method in _KEY_METHODS:
                receiver = func.value  # type: ignore[union-attr]
                if method == "set_attribute":
                    key = argument(call, 0, "key")
                    if key is not None and type(key) is not ast.Starred:
                        self._key_node(key, scope, "span attribute", receiver)
                else:
                    mapping = argument(call, 0, "attributes")
                    if mapping is not None:
                        self._mapping(mapping, scope, "span attribute", receiver)
                continue
            if method in otel.SPAN_METHODS_WITH_ATTRIBUTES:
                kw = keyword_arg(call, "attributes")
                if kw is not None:
                    self._mapping(kw.value, scope, "span attribute", None)
                continue
            names = module.qualified_names(func, scope)
            if names & otel.SET_ASSOCIATION_PROPERTIES or method == "set_association_properties":
                mapping = argument(call, 0, "properties")
                if mapping is not None:
                    self._mapping(mapping, scope, "association property", None)
            elif names & otel.BIND:
                self._call_arguments(call, scope, "span tag", None)
            else:
                self._forwarded(call, scope)

    # -- keys -------------------------------------------------------------------------------

    def _key_text(self, node: ast.expr, scope: Scope) -> str | None:
        module = self.module_
        text = constant_string(module, node, scope)
        if text is not None:
            return text
        parts = fstring_literal_parts(node)
        if parts is not None:
            return ".".join(parts)
        resolved = resolve_constant(module, node, scope)
        if type(resolved) in (ast.Name, ast.Attribute):
            for name in module.qualified_names(resolved, scope):
                if name.startswith(otel.SEMCONV_PREFIXES):
                    return name.rsplit(".", 1)[-1]
        return None

    def _key_node(self, node: ast.expr, scope: Scope, what: str, receiver: ast.expr | None) -> None:
        key = self._key_text(node, scope)
        if key is not None:
            self._key(key, node, what, receiver, scope)

    def _mapping(self, node: ast.expr, scope: Scope, what: str, receiver: ast.expr | None) -> None:
        module = self.module_
        resolved = resolve_constant(module, node, scope)
        inner_scope = scope if resolved is node else module.scope
        if type(resolved) is ast.Dict:
            for key, value in zip(resolved.keys, resolved.values, strict=True):
                if key is None:
                    self._mapping(value, inner_scope, what, receiver)
                else:
                    self._key_node(key, inner_scope, what, receiver)
            return
        if type(resolved) is ast.Call and "builtins.dict" in module.qualified_names(
            resolved.func, inner_scope
        ):
            self._call_arguments(resolved, inner_scope, what, receiver)

    def _call_arguments(
        self, call: ast.Call, scope: Scope, what: str, receiver: ast.expr | None
    ) -> None:
        """Keyword arguments are keys (reported at the keyword); a positional mapping or a
        ``**spread`` is read as a mapping."""
        for arg in call.args:
            if type(arg) is not ast.Starred:
                self._mapping(arg, scope, what, receiver)
        for kw in call.keywords:
            if kw.arg is not None:
                self._key(kw.arg, kw, what, receiver, scope)
            else:
                self._mapping(kw.value, scope, what, receiver)

    def _key(
        self, key: str, node: ast.AST, what: str, receiver: ast.expr | None, scope: Scope
    ) -> None:
        phrase = personal_data_phrase(key, self.phrases)
        if phrase is None:
            return
        shown = _shown(key, node)
        data: dict[str, Any] = {"key": shown, "matched": phrase}
        message = (
            f"{what} key '{shown}' names personal or secret data ('{phrase}'): it is exported "
            "with every span and kept by the trace backend; record an ID, hash or length "
            "instead, or drop it"
        )
        if receiver is None or otel.local_span_evidence(self.module_, receiver, scope):
            self.report(node, message, data=data)
            return
        term = self.terms.of(receiver, scope)
        self.defer(node, message, ["span", term, otel.receiver_name(receiver)], data=data)

    # -- keys given to a project helper that sets them on a span ----------------------------

    def _forwarded(self, call: ast.Call, scope: Scope) -> None:
        candidates: list[tuple[int, str | None, ast.expr, str]] = []
        for index, arg in enumerate(call.args):
            if type(arg) is ast.Starred:
                break
            text = (
                self._key_text(arg, scope) if type(arg) in (ast.Constant, ast.JoinedStr) else None
            )
            if text is not None:
                candidates.append((index, None, arg, text))
        for kw in call.keywords:
            if kw.arg is not None and type(kw.value) in (ast.Constant, ast.JoinedStr):
                text = self._key_text(kw.value, scope)
                if text is not None:
                    candidates.append((-1, kw.arg, kw.value, text))
        for index, name, node, key in candidates:
            phrase = personal_data_phrase(key, self.phrases)
            if phrase is None:
                continue
            shown = _shown(key, node)
            data: dict[str, Any] = {"key": shown, "matched": phrase, "via": "helper"}
            message = (
                f"span attribute key '{shown}' names personal or secret data ('{phrase}'), "
                f"and `{self.module_.source_of(call.func)}` sets it on a span: it is exported "
                "with every span and kept by the trace backend; record an ID, hash or length "
                "instead, or drop it"
            )
            callee = self.terms.of(call.func, scope)
            self.defer(node, message, ["forward", callee, index, name], data=data)

    @classmethod
    def settle(
        cls, finding: Finding, query: Any, project: ProjectModel, facts: ModuleFacts
    ) -> Iterable[Finding]:
        if query[0] == "span":
            _, term, name = query
            if otel.is_span_kinds(project.kinds(to_term(term), facts), name):
                yield finding
            return
        _, callee, index, name = query
        for kind in project.kinds(to_term(callee), facts):
            if not kind.startswith(("func:", "bound:")):
                continue
            path, _, qualname = kind.split(":", 1)[1].rpartition(":")
            offset = 1 if kind.startswith("bound:") else 0
            keys = (project.facet(path, SPAN_KEYS_FACET) or {}).get(qualname)
            target = project.module(path)
            if not keys or target is None:
                continue
            for param_index, param_name, receiver, receiver_name in keys:
                hit = (index >= 0 and param_index == index + offset) or (
                    name is not None and param_name == name
                )
                if hit and otel.is_span_kinds(
                    project.kinds(to_term(receiver), target), receiver_name
                ):
                    yield finding
                    return

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
            expect=(
                Expect(
                    4, 30, "span attribute key 'customerPhoneNumber' names personal or secret data"
                ),
                Expect(
                    5, 24, "span attribute key 'llm.apiKey' names personal or secret data ('api ke"
                ),
            ),
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
            expect=(
                Expect(
                    8, 31, "span attribute key 'user.phone' names personal or secret data ('phone'"
                ),
                Expect(
                    9, 44, "span attribute key 'auth.password' names personal or secret data ('pas"
                ),
                Expect(
                    12, 23, "span attribute key 'customer.address' names personal or secret data ('"
                ),
            ),
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
