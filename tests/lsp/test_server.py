"""``somatrace server`` over stdio, driven by a real LSP client (pygls's), on a real git repo."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from tests.helpers import git, init_repo, write_files, write_pyproject

MAIN = """
from fastapi import FastAPI
from . import telemetry

app = FastAPI()
"""
TELEMETRY_ON = """
from somatrace.tracing import init_tracing
init_tracing("demo")
"""
TELEMETRY_OFF = """
import logging
logging.basicConfig()
"""
DIRECT = 'from traceloop.sdk import Traceloop\nTraceloop.init(app_name="demo")\n'


class Client:
    def __init__(self) -> None:
        self.lsp = LanguageClient("somatrace-tests", "1")
        self.diagnostics: dict[str, list[types.Diagnostic]] = {}
        self.published: dict[str, int] = {}

        @self.lsp.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def publish(params: types.PublishDiagnosticsParams) -> None:
            self.diagnostics[params.uri] = list(params.diagnostics)
            self.published[params.uri] = self.published.get(params.uri, 0) + 1

    async def until(self, condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}: {self.diagnostics}")
            await asyncio.sleep(0.05)

    def codes(self, uri: str) -> list[str]:
        return sorted(str(d.code) for d in self.diagnostics.get(uri, []))


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    init_repo(root)
    write_pyproject(root, {})
    write_files(
        root,
        {
            "services/demo/app/__init__.py": "",
            "services/demo/app/main.py": MAIN,
            "services/demo/app/telemetry.py": TELEMETRY_ON,
            "lib/direct.py": DIRECT,
        },
    )
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


async def _session(root: Path) -> None:
    client = Client()
    await client.lsp.start_io(sys.executable, "-m", "somatrace.checks.cli.main", "server")
    try:
        result = await client.lsp.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(),
                root_uri=root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="repo")],
            )
        )
        assert result.server_info is not None and result.server_info.name == "somatrace"
        client.lsp.initialized(types.InitializedParams())

        main = (root / "services/demo/app/main.py").as_uri()
        telemetry_path = root / "services/demo/app/telemetry.py"
        telemetry = telemetry_path.as_uri()

        def open_doc(uri: str, text: str) -> None:
            client.lsp.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    text_document=types.TextDocumentItem(
                        uri=uri, language_id="python", version=1, text=text
                    )
                )
            )

        def change(uri: str, version: int, text: str) -> None:
            client.lsp.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
                )
            )

        # Open: the entrypoint is compliant through the module it imports.
        open_doc(main, (root / "services/demo/app/main.py").read_text())
        await client.until(lambda: main in client.diagnostics, "diagnostics for main.py")
        assert client.codes(main) == []

        # The imported module stops calling init_tracing (unsaved): ST101 on the entrypoint.
        open_doc(telemetry, telemetry_path.read_text())
        change(telemetry, 2, TELEMETRY_OFF.lstrip("\n"))
        await client.until(lambda: client.codes(main) == ["ST101"], "project-level ST101")
        [diagnostic] = client.diagnostics[main]
        assert diagnostic.source == "somatrace"
        assert diagnostic.range.start == types.Position(line=3, character=6)
        assert "init_tracing" in diagnostic.message
        assert client.codes(telemetry) == []

        # It calls it again: the finding goes.
        change(telemetry, 3, TELEMETRY_ON.lstrip("\n"))
        await client.until(lambda: client.codes(main) == [], "ST101 to go")

        # Saved to disk and closed: the server now reads it from disk, still compliant.
        telemetry_path.write_text(TELEMETRY_OFF.lstrip("\n"))
        client.lsp.text_document_did_close(
            types.DidCloseTextDocumentParams(
                text_document=types.TextDocumentIdentifier(uri=telemetry)
            )
        )
        await client.until(lambda: client.codes(main) == ["ST101"], "ST101 from disk")

        # A safe fix as a code action, computed on the unsaved buffer.
        direct = (root / "lib/direct.py").as_uri()
        open_doc(direct, DIRECT)
        await client.until(lambda: client.codes(direct) == ["ST102"], "ST102")
        [st102] = client.diagnostics[direct]
        actions = await client.lsp.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=direct),
                range=st102.range,
                context=types.CodeActionContext(diagnostics=[st102]),
            )
        )
        assert actions
        quick = [a for a in actions if isinstance(a, types.CodeAction) and a.kind == "quickfix"]
        assert len(quick) == 1 and "ST102" in quick[0].title
        assert quick[0].edit is not None and quick[0].edit.changes is not None
        [edit] = quick[0].edit.changes[direct]
        assert "init_tracing(" in edit.new_text and "Traceloop.init" not in edit.new_text
        assert (root / "lib/direct.py").read_text() == DIRECT  # nothing written

        # The editor applies it: the diagnostic goes on the next change.
        change(direct, 2, edit.new_text)
        await client.until(lambda: client.codes(direct) == [], "ST102 to go after the fix")

        # Saving re-checks too.
        client.lsp.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=main))
        )
        count = client.published[main]
        await client.until(lambda: client.published[main] > count, "a check on save")
        await client.lsp.shutdown_async(None)
        client.lsp.exit(None)
    finally:
        await client.lsp.stop()


def test_language_server_end_to_end(tmp_path: Path) -> None:
    asyncio.run(asyncio.wait_for(_session(_repo(tmp_path)), timeout=300))
