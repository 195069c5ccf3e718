"""``somatrace server``: a Language Server (pygls) for editors.

:mod:`.documents` turns findings into LSP diagnostics (UTF-16 positions) and back;
:mod:`.server` runs the engine on the open documents' unsaved text, with the workspace folder
as the project root, so a project-level finding (ST101 through an imported module) appears and
goes away as any open file changes. Code actions come from a ``Fixer`` handed in by the command
line (the only layer that imports the fixers).
"""
