"""YAML composed under bounds: every reader of YAML in the gate (the env scanners of
``somatrace check``, ``somatrace deploy validate``) gets its nodes from here.

PyYAML's own composer (libyaml's, through ``CSafeLoader``) is recursive in C: 100,000 nested
``[`` crash it, and libyaml's parser is quadratic in flow nesting (28 s for that file). Aliases
and ``<<`` merges share nodes, so a 633-byte file can stand for a tree of billions of nodes that
a walk, a constructor or a JSON schema validator then expands. So:

- before libyaml sees the text, one linear count of flow brackets refuses nesting deeper than
  ``YAML_LIMITS.depth``;
- nodes are composed here from libyaml's event stream, without recursion, counting documents,
  nodes, nesting, and the size of each node's tree with every alias and merge expanded (known
  when the node ends, so an alias adds its anchor's expanded size in constant time); past any
  limit, :class:`~somatrace.checks.lint.bounds.TooComplex` names the bound. A recursive alias
  (a node that contains itself) expands without end and is refused too.

The nodes, tags and marks are the ones PyYAML's composer makes, so callers (and a constructor)
use them unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import yaml
from yaml import events
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from somatrace.checks.lint.bounds import YAML_LIMITS, TooComplex, YamlLimits

# libyaml's scanner and parser when PyYAML has it; they are linear once flow nesting is bounded.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FLOW = re.compile(r"[\[{]|[\]}]")


def flow_depth(text: str, limit: int) -> int:
    """How deep ``[`` / ``{`` nest, counting every bracket (quoted or not: an over-estimate),
    stopping once past ``limit``."""
    depth = deepest = 0
    for match in _FLOW.finditer(text):
        if match.group() in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif depth:
            depth -= 1
    return deepest


class _Open:
    __slots__ = ("node", "pending_key", "size")

    def __init__(self, node: Node) -> None:
        self.node = node
        self.size = 1
        self.pending_key: Node | None = None


def compose_documents(text: str, limits: YamlLimits = YAML_LIMITS) -> Iterator[Node | None]:
    """Each document's root node (``None`` for an empty document), in order.

    Raises ``yaml.YAMLError`` for invalid YAML (as PyYAML does) and :class:`TooComplex` past a
    bound."""
    if flow_depth(text, limits.depth) > limits.depth:
        raise TooComplex(f"YAML nested more than {limits.depth} levels deep")
    resolver = Resolver()
    documents = 0
    nodes = 0
    expanded = 0
    anchors: dict[str, Node] = {}
    sizes: dict[int, int] = {}  # id(node) -> nodes in its tree, aliases and merges expanded
    stack: list[_Open] = []
    root: Node | None = None
    for event in yaml.parse(text, Loader=_LOADER):
        kind = type(event)
        if kind is events.DocumentStartEvent:
            documents += 1
            if documents > limits.documents:
                raise TooComplex(f"more than {limits.documents} YAML documents in one file")
            anchors, sizes, root = {}, {}, None
            continue
        if kind is events.DocumentEndEvent:
            yield root
            continue
        if kind in (events.StreamStartEvent, events.StreamEndEvent):
            continue
        if kind is events.SequenceEndEvent or kind is events.MappingEndEvent:
            done = stack.pop()
            done.node.end_mark = event.end_mark
            sizes[id(done.node)] = done.size
            _attach(stack, done.node, done.size, limits)
            if not stack:
                root = done.node
            continue
        if kind is events.AliasEvent:
            anchor = event.anchor
            if anchor not in anchors:
                raise yaml.composer.ComposerError(
                    None, None, f"found undefined alias {anchor!r}", event.start_mark
                )
            node = anchors[anchor]
            size = sizes.get(id(node))
            if size is None:
                raise TooComplex(f"YAML alias *{anchor} refers to a node that contains it")
            expanded += size
            if expanded > limits.expanded:
                raise TooComplex(
                    f"YAML aliases and merge keys expand to more than {limits.expanded} nodes"
                )
            _attach(stack, node, size, limits)
            if not stack:
                root = node
            continue
        nodes += 1
        if nodes > limits.nodes:
            raise TooComplex(f"more than {limits.nodes} YAML nodes in one file")
        anchor = event.anchor
        if anchor is not None and anchor in anchors:
            raise yaml.composer.ComposerError(
                f"found duplicate anchor {anchor!r}; first occurrence",
                anchors[anchor].start_mark,
                "second occurrence",
                event.start_mark,
            )
        if kind is events.ScalarEvent:
            tag = event.tag
            if tag is None or tag == "!":
                tag = resolver.resolve(ScalarNode, event.value, event.implicit)
            node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
            if anchor is not None:
                anchors[anchor] = node
            sizes[id(node)] = 1
            _attach(stack, node, 1, limits)
            if not stack:
                root = node
            continue
        tag = event.tag
        if kind is events.SequenceStartEvent:
            if tag is None or tag == "!":
                tag = resolver.resolve(SequenceNode, None, event.implicit)
            node = SequenceNode(tag, [], event.start_mark, None, flow_style=event.flow_style)
        else:
            if tag is None or tag == "!":
                tag = resolver.resolve(MappingNode, None, event.implicit)
            node = MappingNode(tag, [], event.start_mark, None, flow_style=event.flow_style)
        if anchor is not None:
            anchors[anchor] = node
        stack.append(_Open(node))
        if len(stack) > limits.depth:
            raise TooComplex(f"YAML nested more than {limits.depth} levels deep")


def _attach(stack: list[_Open], node: Node, size: int, limits: YamlLimits) -> None:
    if not stack:
        return
    parent = stack[-1]
    parent.size += size
    if parent.size > limits.expanded:
        raise TooComplex(f"YAML aliases and merge keys expand to more than {limits.expanded} nodes")
    owner = parent.node
    if isinstance(owner, SequenceNode):
        owner.value.append(node)
    elif parent.pending_key is None:
        parent.pending_key = node
    else:
        owner.value.append((parent.pending_key, node))
        parent.pending_key = None
