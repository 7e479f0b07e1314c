"""Trusted side: running an assignment's tests against submissions and turning outcomes into grades.

A test reaches a submission through :mod:`~grader.grading.proxy`; :mod:`~grader.grading.suite`
collects the tests once; :mod:`~grader.grading.context` holds what one grading process needs;
:mod:`~grader.grading.batch` grades a folder of submissions into a results store.
"""
