"""The ``somatrace`` command line: :mod:`.main` parses, one module per sub-command does the work.
The only layer that imports :mod:`somatrace.fixers`."""
