"""Trusted side: starting worker processes, confining them from outside, and policing their limits.

:mod:`~grader.isolation.pool` (worker template, one worker per submission, per-call limits),
:mod:`~grader.isolation.layers` (bubblewrap, which layers were reached),
:mod:`~grader.isolation.cgroups` (memory and process limits, a kill that misses nothing).
"""
