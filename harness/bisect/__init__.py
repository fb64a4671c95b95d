"""Flaky-aware bisection (docs/bisect.md): the decision rule (:mod:`.rule`),
the loop (:mod:`.driver`) over a chooser (:mod:`.git`: real ``git bisect``;
:mod:`.chooser`) and a step runner (:mod:`.runner`: the real pipeline, or a
fake), its state (:mod:`.state`), the ``bisect-step`` helper (:mod:`.step`)
and the simulation that backs the rule's figures (:mod:`.sim`)."""
