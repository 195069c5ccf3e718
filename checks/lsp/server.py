"""The Language Server: diagnostics on open, change and save; code actions for safe fixes.

Every check runs the ordinary engine over the open documents, with their unsaved text as
buffers, the workspace folder as the project root (configs, excludes, the project join) and
``exclude`` applied to them (as ``--force-exclude``). Modules that are not open are read from
disk, so a project-level ST101 appears on an open entrypoint as soon as the module it imports
stops calling ``init_tracing``, saved or not, and goes when it calls it again. The engine's
workers keep one hostile file from taking the server down (it becomes ST900).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from lsprotocol import types
from pygls import uris
from pygls.lsp.server import LanguageServer

from somatrace.checks.lint.engine import CheckSettings, Engine
from somatrace.checks.lint.errors import UsageError
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.version import VERSION
from somatrace.checks.lsp.documents import to_diagnostic, whole_document
from somatrace.checks.reporters.text import fix_safety
from somatrace.rules import all_rules

# (path, text, findings to fix, engine that found them) -> the fixed text, or None.
Fixer = Callable[[Path, str, list[Finding], Engine], "str | None"]
FIX_ALL = types.CodeActionKind.SourceFixAll.value + ".somatrace"


class SomatraceServer(LanguageServer):
    def __init__(self, fixer: Fixer | None = None) -> None:
        super().__init__(
            "somatrace", VERSION, text_document_sync_kind=types.TextDocumentSyncKind.Full
        )
        self.fixer = fixer
        self.findings: dict[str, list[Finding]] = {}  # uri -> findings of the last check
        self.engines: dict[str, Engine] = {}

    @property
    def root(self) -> Path:
        root = self.workspace.root_path
        return Path(os.path.abspath(root)) if root else Path.cwd()

    def open_paths(self) -> dict[str, Path]:
        out = {}
        for uri in self.workspace.text_documents:
            path = uris.to_fs_path(uri)
            if path is not None:
                out[uri] = Path(os.path.abspath(path))
        return out

    def check(self) -> None:
        """Check every open document and publish the diagnostics of each."""
        paths = self.open_paths()
        if not paths:
            return
        buffers = {
            path: self.workspace.get_text_document(uri).source.encode("utf-8")
            for uri, path in paths.items()
        }
        settings = CheckSettings(force_exclude=True, jobs=1)
        try:
            engine = Engine(settings, all_rules(), self.root, buffers=buffers)
            result = engine.run(sorted(paths.values()))
        except UsageError as exc:
            self.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Error, message=f"somatrace: {exc}")
            )
            return
        by_path: dict[Path, list[Finding]] = {}
        for finding in result.findings:
            by_path.setdefault(Path(os.path.abspath(self.root / finding.path)), []).append(finding)
        for uri, path in paths.items():
            document = self.workspace.get_text_document(uri)
            lines = document.source.split("\n")
            found = by_path.get(path, [])
            self.findings[uri] = found
            self.engines[uri] = engine
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=uri,
                    version=document.version,
                    diagnostics=[to_diagnostic(f, lines) for f in found],
                )
            )

    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        path = self.open_paths().get(uri)
        if self.fixer is None or path is None or uri not in self.engines:
            return []
        safe = [f for f in self.findings.get(uri, []) if fix_safety(f) == "safe"]
        if not safe:
            return []
        text = self.workspace.get_text_document(uri).source
        engine = self.engines[uri]
        wanted = params.context.only
        actions: list[types.CodeAction] = []
        first, last = params.range.start.line + 1, params.range.end.line + 1
        if not wanted or any(k.startswith(types.CodeActionKind.QuickFix) for k in wanted):
            for finding in safe:
                if not first <= finding.line <= max(last, first):
                    continue
                fixed = self.fixer(path, text, [finding], engine)
                if fixed is not None and fixed != text:
                    actions.append(
                        self._action(
                            f"Fix {finding.code}: {finding.message.split(';')[0]}",
                            types.CodeActionKind.QuickFix,
                            uri,
                            text,
                            fixed,
                            finding,
                        )
                    )
        if not wanted or any(FIX_ALL.startswith(k) or k.startswith(FIX_ALL) for k in wanted):
            fixed = self.fixer(path, text, safe, engine)
            if fixed is not None and fixed != text:
                actions.append(
                    self._action("somatrace: fix all safe fixes", FIX_ALL, uri, text, fixed, None)
                )
        return actions

    def _action(
        self,
        title: str,
        kind: str,
        uri: str,
        text: str,
        fixed: str,
        finding: Finding | None,
    ) -> types.CodeAction:
        lines = text.split("\n")
        diagnostics = [to_diagnostic(finding, lines)] if finding is not None else None
        edit = types.TextEdit(range=whole_document(text), new_text=fixed)
        return types.CodeAction(
            title=title,
            kind=kind,
            diagnostics=diagnostics,
            edit=types.WorkspaceEdit(changes={uri: [edit]}),
            is_preferred=finding is not None,
        )


def build_server(fixer: Fixer | None = None) -> SomatraceServer:
    server = SomatraceServer(fixer)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SomatraceServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.check()

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: SomatraceServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.check()

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: SomatraceServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.check()

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SomatraceServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.findings.pop(uri, None)
        ls.engines.pop(uri, None)
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )
        ls.check()

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched(ls: SomatraceServer, params: types.DidChangeWatchedFilesParams) -> None:
        ls.check()  # a module on disk changed: re-check what is open

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=False
        ),
    )
    def code_action(ls: SomatraceServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return ls.code_actions(params)

    return server
