"""Seeded bugs that the suites must catch (issue 14, item 6).

A *mutant* is a realistic one-line bug kept as data in ``tests/mutants/``:
a target file under ``components/``, a search text that occurs there exactly
once, its replacement, and the suite selection that should notice. The
runner copies the project, applies one mutant to the copy, runs the
selection there, and reads JUnit to tell a checker's verdict from a harness
error. The harness only edits text: it never imports ``components``.

Modules: ``catalog`` (loading and validating the files), ``selection``
(``--family``/``--id``/``--rotate``), ``apply`` (copy the tree, patch it),
``junit`` (one test's outcome from JUnit XML), ``classify`` (one mutant's
outcome from its tests), ``runner`` (baseline and mutant runs),
``report`` (the table and the JSON file), ``command`` (``js7ha mutants``).
"""
