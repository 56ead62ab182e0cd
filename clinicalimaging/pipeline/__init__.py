"""The whole chain for one case: enhance, find the organs, segment the lesion, measure, report.

Layers: :mod:`.chain` (one case at node level) and :mod:`.commands` (the ``pipeline``
command: one case, its outputs in one folder). Each stage is the module's own
node-level function; nothing is computed twice.
"""
