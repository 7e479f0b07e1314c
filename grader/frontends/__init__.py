"""The ways people reach the engine: the ``grader`` command, the pytest plugin (a student's own
run, pull-request feedback), Gradescope's autograder, an nbgrader gradebook."""
