"""Output formats, each a function of results: Gradescope's results.json, feedback.md, grades.csv,
the HTML pages. No format knows another; shared views are in :mod:`~grader.reports.summary`."""
