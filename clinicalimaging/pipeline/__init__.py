"""The whole chain, for one case and for a cohort: enhance, find the organs, segment, measure, report.

Layers, from the case up:

- :mod:`.chain`: one case at node level (each stage is the module's own node-level
  function; nothing is computed twice);
- :mod:`.case` and :mod:`.case_outputs`: one case from its files to its folder, in a
  scene of its own, every output under a stable name;
- :mod:`.cases` (which cases a cohort has: a folder or a manifest), :mod:`.ledger`
  (what is done), :mod:`.cohort_task` (one case as one task, its folder whole or
  absent), :mod:`.runner` (the tasks on Dask; the only module importing it),
  :mod:`.cohort_outputs` (``summary.csv``, ``cohort.html``) and :mod:`.batch` (the
  cohort run);
- :mod:`.commands`: the ``pipeline`` and ``batch`` commands.
"""
