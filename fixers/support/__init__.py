"""Machinery every fixer shares: plans (:mod:`.base`), one merged transform per file
(:mod:`.transform`), imports added once (:mod:`.imports`), atomic byte-faithful writes
(:mod:`.write`), text edits and diffs (:mod:`.edits`), one file in memory (:mod:`.runner`), and a
whole check -> fix -> write -> re-check session (:mod:`.session`)."""
