"""The untrusted side: what runs in the worker process, beside submission code.

``python -I -m grader.worker`` is the worker program (:mod:`grader.worker.__main__`); it confines
itself (:mod:`~grader.worker.confine`), runs submission code on request
(:mod:`~grader.worker.executor`) and talks to the grading process over a data-only channel
(:mod:`~grader.worker.wire`). Nothing here imports the grader outside this package (checked by
``tests/test_architecture.py``): a bug here cannot reach the trusted side's state, and the
reference is never one import away.
"""
