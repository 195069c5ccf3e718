"""Turn a folder of Markdown and text files into knowledge-base chunks.

Markdown is split at headings, then long sections at paragraph boundaries, so each chunk keeps
its heading as context. The fingerprint of the folder (paths, contents, chunking) names the
testset generated from it: a changed knowledge base gets a new testset, an unchanged one
reuses last night's, so scores compare like with like.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from somatrace.checks.lint.errors import ConfigError

KB_SUFFIXES = (".md", ".markdown", ".txt", ".rst")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
CHUNKING_VERSION = "1"


@dataclass(frozen=True)
class Chunk:
    source: str  # path relative to the knowledge-base folder
    heading: str
    text: str

    @property
    def content(self) -> str:
        return f"{self.heading}\n\n{self.text}" if self.heading else self.text


def knowledge_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise ConfigError(f"knowledge base folder not found: {folder}")
    files = sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in KB_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )  # fmt: skip
    if not files:
        raise ConfigError(f"no {'/'.join(KB_SUFFIXES)} files in knowledge base folder {folder}")
    return files


def load_chunks(folder: Path, max_chars: int = 1000) -> list[Chunk]:
    """Every non-empty chunk of every knowledge file, in a stable order."""
    chunks: list[Chunk] = []
    for path in knowledge_files(folder):
        text = path.read_text(encoding="utf-8", errors="replace")
        source = path.relative_to(folder).as_posix()
        for heading, body in split_sections(text, markdown=path.suffix.lower() != ".txt"):
            for piece in split_paragraphs(body, max_chars):
                chunks.append(Chunk(source=source, heading=heading, text=piece))
    if not chunks:
        raise ConfigError(f"the knowledge base folder {folder} holds only empty files")
    return chunks


def split_sections(text: str, *, markdown: bool = True) -> list[tuple[str, str]]:
    """(heading, body) pairs; the heading path is joined with ' > ' (``Billing > Refunds``)."""
    if not markdown:
        return [("", text)]
    sections: list[tuple[str, str]] = []
    trail: list[tuple[int, str]] = []
    body: list[str] = []
    in_fence = False

    def flush() -> None:
        joined = "\n".join(body).strip()
        if joined:
            sections.append((" > ".join(title for _, title in trail), joined))
        body.clear()

    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            trail[:] = [(lvl, title) for lvl, title in trail if lvl < level]
            trail.append((level, match.group(2)))
        else:
            body.append(line)
    flush()
    return sections


def split_paragraphs(body: str, max_chars: int) -> list[str]:
    """Greedy packing of paragraphs into pieces of at most ``max_chars`` (a longer paragraph
    is cut at sentence ends, then hard)."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]
    pieces: list[str] = []
    current = ""
    for paragraph in paragraphs:
        for part in _cut(paragraph, max_chars):
            if current and len(current) + 2 + len(part) > max_chars:
                pieces.append(current)
                current = part
            else:
                current = f"{current}\n\n{part}" if current else part
    if current:
        pieces.append(current)
    return pieces


def _cut(paragraph: str, max_chars: int) -> list[str]:
    if len(paragraph) <= max_chars:
        return [paragraph]
    parts: list[str] = []
    current = ""
    for sentence in re.split(r"(?<=[.!?])\s+", paragraph):
        while len(sentence) > max_chars:
            if current:
                parts.append(current)
                current = ""
            parts.append(sentence[:max_chars])
            sentence = sentence[max_chars:]
        if current and len(current) + 1 + len(sentence) > max_chars:
            parts.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        parts.append(current)
    return parts


def fingerprint(folder: Path, max_chars: int) -> str:
    """A stable hash of the knowledge base and how it is chunked."""
    digest = hashlib.sha256(f"chunking={CHUNKING_VERSION};max_chars={max_chars}\n".encode())
    for path in knowledge_files(folder):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
