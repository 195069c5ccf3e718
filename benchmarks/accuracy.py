"""Precision and recall of ST101 and ST301 on the hand-labelled corpora.

    python benchmarks/accuracy.py                          # both corpora, the engine of this venv
    python benchmarks/accuracy.py llm-services --json accuracy.json
    python benchmarks/accuracy.py --somatrace /path/to/somatrace --save-findings /tmp/f
    python benchmarks/accuracy.py --findings /tmp/f        # score saved findings, run nothing

Fetch the corpora first (``benchmarks/fetch_corpus.py``). For each corpus this runs the real CLI
as a subprocess, from the corpus root:

    somatrace check --select ST101,ST301 --no-cache --exit-zero --output-format json \
        --config <corpus>/pyproject.toml .

(``somatrace`` is the one next to ``sys.executable`` unless ``--somatrace`` says otherwise) and
matches its findings to ``benchmarks/labels/<corpus>.json``.

Matching rule. A label names a call by (path, line, rule); its span runs from that line to the
last line of the call that starts there (found with ``ast``: the longest call, decorator or
``class``/``def`` header starting on the line; the line alone if none). A label may list
``also`` lines: other lines of the same entrypoint (e.g. the ``uvicorn.run`` of a module-level
app) whose spans count as the label's too. A finding matches a label when the rule and path are
equal and the finding's start line lies inside one of the label's spans; when several labels
match, the one whose own line is nearest wins. Then, per label:

- ``report``: the first matching finding is a true positive (TP), further ones are duplicates
  (DUP, listed, not counted as FP); no matching finding is a false negative (FN);
- ``no-report``: every matching finding is a false positive (FP);
- ``unknown``: matching findings are counted apart (UNK) and never scored.

A finding no label matches is *unlabelled* (UNL): it is printed with its source line so the
labels can be completed, and it is not in precision. Precision = TP / (TP + FP), recall =
TP / (TP + FN). The script exits non-zero only on errors (a CLI failure, unreadable output, a
corpus that is not fetched), never on low scores.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpora import LABELS, load_corpora, tree_root

RULES = ("ST101", "ST301")


class AccuracyError(Exception):
    """The measurement could not be made (not a low score)."""


@dataclass
class Label:
    path: str
    line: int
    rule: str
    expected: str
    kind: str
    reason: str
    also: list[int] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    end_line: int
    rule: str
    message: str


# --------------------------------------------------------------------------- labels and spans
def node_spans(source: str) -> dict[int, int]:
    """Start line -> furthest end line of a call, decorator or def/class header on that line."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    ends: dict[int, int] = {}

    def note(start: int, end: int | None) -> None:
        ends[start] = max(ends.get(start, start), end or start)

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            note(node.lineno, node.end_lineno)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for decorator in node.decorator_list:
                note(decorator.lineno, decorator.end_lineno)
            header_end = node.body[0].lineno - 1 if node.body else node.lineno
            note(node.lineno, max(node.lineno, header_end))
    return ends


def load_labels(corpus: str, root: Path) -> list[Label]:
    path = LABELS / f"{corpus}.json"
    if not path.is_file():
        raise AccuracyError(f"{path}: no labels for corpus {corpus!r}")
    labels = [Label(**entry) for entry in json.loads(path.read_text())]
    sources: dict[str, dict[int, int]] = {}
    for label in labels:
        if label.path not in sources:
            file = root / label.path
            if not file.is_file():
                raise AccuracyError(f"{file}: labelled file missing (corpus not fetched?)")
            sources[label.path] = node_spans(file.read_text(encoding="utf-8", errors="replace"))
        ends = sources[label.path]
        label.spans = [(line, ends.get(line, line)) for line in [label.line, *label.also]]
    return labels


# --------------------------------------------------------------------------- findings
def somatrace_command(executable: str, root: Path) -> list[str]:
    return [
        executable,
        "check",
        "--select",
        ",".join(RULES),
        "--no-cache",
        "--exit-zero",
        "--output-format",
        "json",
        "--config",
        str(root / "pyproject.toml"),
        ".",
    ]


def run_somatrace(executable: str, root: Path) -> list[dict[str, Any]]:
    if not (root / "pyproject.toml").is_file() or not (root / ".git").exists():
        raise AccuracyError(f"{root}: not prepared (python benchmarks/fetch_corpus.py)")
    cmd = somatrace_command(executable, root)
    result = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AccuracyError(
            f"{' '.join(cmd)} exited {result.returncode}:\n{result.stderr.strip()[-2000:]}"
        )
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise AccuracyError(f"somatrace printed no JSON ({exc}): {result.stdout[:300]!r}") from None


def parse_findings(raw: list[dict[str, Any]]) -> list[Finding]:
    out = []
    for item in raw:
        rule = item.get("code", "")
        if rule not in RULES:
            continue
        start = item["location"]["line"]
        end = (item.get("end_location") or {}).get("line", start)
        out.append(Finding(item["path"], start, end, rule, item.get("message", "")))
    return out


# --------------------------------------------------------------------------- matching
def match(labels: list[Label], findings: list[Finding]) -> list[Finding]:
    """Attach each finding to its label; returns the unlabelled findings."""
    index: dict[tuple[str, str], list[Label]] = defaultdict(list)
    for label in labels:
        index[(label.path, label.rule)].append(label)
    unlabelled = []
    for finding in sorted(findings, key=lambda f: (f.path, f.line)):
        hits = [
            label
            for label in index.get((finding.path, finding.rule), [])
            if any(start <= finding.line <= end for start, end in label.spans)
        ]
        if not hits:
            unlabelled.append(finding)
            continue
        min(hits, key=lambda label: abs(label.line - finding.line)).findings.append(finding)
    return unlabelled


@dataclass
class Score:
    corpus: str
    rule: str
    positives: int = 0
    tp: int = 0
    fn: int = 0
    fp: int = 0
    dup: int = 0
    unknown_reported: int = 0
    unknown: int = 0
    unlabelled: int = 0
    findings: int = 0
    recall_by_kind: dict[str, list[int]] = field(default_factory=dict)  # kind -> [tp, total]
    fp_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / self.positives if self.positives else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "corpus": self.corpus,
            "rule": self.rule,
            "labelled_positives": self.positives,
            "findings": self.findings,
            "tp": self.tp,
            "fn": self.fn,
            "fp": self.fp,
            "duplicates": self.dup,
            "unknown_labels": self.unknown,
            "unknown_reported": self.unknown_reported,
            "unlabelled_findings": self.unlabelled,
            "precision": self.precision,
            "recall": self.recall,
            "recall_by_kind": self.recall_by_kind,
            "fp_by_kind": self.fp_by_kind,
        }


def score(corpus: str, rule: str, labels: list[Label], unlabelled: list[Finding]) -> Score:
    s = Score(corpus, rule)
    kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    fps: Counter[str] = Counter()
    for label in labels:
        if label.rule != rule:
            continue
        s.findings += len(label.findings)
        if label.expected == "report":
            s.positives += 1
            kinds[label.kind][1] += 1
            if label.findings:
                s.tp += 1
                s.dup += len(label.findings) - 1
                kinds[label.kind][0] += 1
            else:
                s.fn += 1
        elif label.expected == "no-report":
            s.fp += len(label.findings)
            if label.findings:
                fps[label.kind] += len(label.findings)
        else:
            s.unknown += 1
            s.unknown_reported += bool(label.findings)
    s.unlabelled = sum(1 for f in unlabelled if f.rule == rule)
    s.findings += s.unlabelled
    s.recall_by_kind = dict(sorted(kinds.items(), key=lambda kv: -kv[1][1]))
    s.fp_by_kind = dict(fps.most_common())
    return s


# --------------------------------------------------------------------------- printing
def fmt(value: float | None) -> str:
    return "   -" if value is None else f"{value:5.3f}"


def print_table(scores: list[Score]) -> None:
    head = f"{'corpus':<14}{'rule':<7}{'pos':>5}{'TP':>5}{'FN':>5}{'FP':>5}{'dup':>5}"
    print(head + f"{'unk':>6}{'unlab':>7}{'precision':>11}{'recall':>8}")
    for s in scores:
        unk = f"{s.unknown_reported}/{s.unknown}"
        print(
            f"{s.corpus:<14}{s.rule:<7}{s.positives:>5}{s.tp:>5}{s.fn:>5}{s.fp:>5}{s.dup:>5}"
            f"{unk:>6}{s.unlabelled:>7}{fmt(s.precision):>11}{fmt(s.recall):>8}"
        )


def print_kinds(scores: list[Score]) -> None:
    print("\nrecall by kind of labelled positive (TP/labelled), and FP by kind of negative:")
    for s in scores:
        parts = [f"{kind} {tp}/{total}" for kind, (tp, total) in s.recall_by_kind.items()]
        print(f"  {s.corpus} {s.rule} recall: {', '.join(parts) or '-'}")
        fps = [f"{kind} {n}" for kind, n in s.fp_by_kind.items()]
        print(f"  {s.corpus} {s.rule} FP:     {', '.join(fps) or 'none'}")


def source_line(root: Path, path: str, line: int) -> str:
    try:
        lines = (root / path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return lines[line - 1].strip()[:110] if 0 < line <= len(lines) else ""


def print_details(corpus: str, root: Path, labels: list[Label], unlabelled: list[Finding]) -> None:
    fns = [lb for lb in labels if lb.expected == "report" and not lb.findings]
    fps = [lb for lb in labels if lb.expected == "no-report" and lb.findings]
    dups = [lb for lb in labels if lb.expected == "report" and len(lb.findings) > 1]
    sections = (("false negatives", fns), ("false positives", fps), ("duplicates", dups))
    for title, items in sections:
        print(f"\n{corpus}: {title} ({len(items)})")
        for lb in sorted(items, key=lambda x: (x.rule, x.path, x.line)):
            extra = f" x{len(lb.findings)}" if title != "false negatives" else ""
            print(f"  {lb.rule} {lb.path}:{lb.line}{extra} [{lb.kind}] {lb.reason}")
    print(f"\n{corpus}: unlabelled findings ({len(unlabelled)})")
    for f in unlabelled:
        print(f"  {f.rule} {f.path}:{f.line}: {source_line(root, f.path, f.line)}")


# --------------------------------------------------------------------------- main
def default_somatrace() -> str:
    candidate = Path(sys.executable).parent / "somatrace"
    return str(candidate) if candidate.exists() else "somatrace"


def findings_for(corpus: str, root: Path, args: argparse.Namespace) -> list[Finding]:
    if args.findings:
        path = args.findings / f"{corpus}.json"
        if not path.is_file():
            raise AccuracyError(f"{path}: no saved findings")
        raw = json.loads(path.read_text())
    else:
        raw = run_somatrace(args.somatrace, root)
    if args.save_findings:
        args.save_findings.mkdir(parents=True, exist_ok=True)
        (args.save_findings / f"{corpus}.json").write_text(json.dumps(raw))
    return parse_findings(raw)


def evaluate(corpus: str, args: argparse.Namespace) -> tuple[list[Score], Path, Any]:
    root = tree_root(corpus)
    labels = load_labels(corpus, root)
    findings = findings_for(corpus, root, args)
    if not findings:
        print(f"WARNING: {corpus}: no ST101/ST301 finding at all; is the tree excluded?")
    unlabelled = match(labels, findings)
    return [score(corpus, rule, labels, unlabelled) for rule in RULES], root, (labels, unlabelled)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="*", help="corpus names (default: all labelled)")
    parser.add_argument("--somatrace", default=default_somatrace(), help="the CLI to measure")
    parser.add_argument("--json", type=Path, help="also write the table as JSON here")
    parser.add_argument("--findings", type=Path, help="score saved findings from this folder")
    parser.add_argument("--save-findings", type=Path, help="save the raw findings here")
    args = parser.parse_args()
    corpora = args.corpora or [c for c in load_corpora() if (LABELS / f"{c}.json").exists()]
    scores: list[Score] = []
    details = []
    try:
        for corpus in corpora:
            corpus_scores, root, (labels, unlabelled) = evaluate(corpus, args)
            scores += corpus_scores
            details.append((corpus, root, labels, unlabelled))
    except AccuracyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"engine: {args.somatrace if not args.findings else args.findings}")
    print_table(scores)
    print_kinds(scores)
    for corpus, root, labels, unlabelled in details:
        print_details(corpus, root, labels, unlabelled)
    if args.json:
        args.json.write_text(json.dumps([s.as_dict() for s in scores], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
