"""Variants as data (grader.authoring.variants): how a patch applies, and every way a variant
file can be wrong, each a clear error naming the file and the variant."""

import ast
import json

import pytest

from grader.assignment import load
from grader.authoring import variants

MODULE = '''"""A module."""
from __future__ import annotations

import math


def f(x):
    return x + 1


def g(x):
    return f(x) * 2


class C:
    def a(self):
        return f(1)

    def b(self):
        return 2
'''

CONFIG = '''id = "77"
title = "Patches"
student_modules = ["m", "other"]
given_files = ["helpers.py"]

[[exercises]]
id = "f"
title = "f"
points = 40
names = ["m.f"]

[[exercises]]
id = "g"
title = "g"
points = 30
names = ["m.g"]

[[exercises]]
id = "c"
title = "C"
points = 30
names = ["m.C", "other.h"]
'''


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "assignment.toml").write_text(CONFIG)
    (tmp_path / "m.py").write_text(MODULE)
    (tmp_path / "other.py").write_text("def h():\n    return 0\n")
    (tmp_path / "helpers.py").write_text("VALUE = 1\n")
    (tmp_path / "variants").mkdir()
    return tmp_path


def write(folder, *tables, name="v.toml"):
    """A variants file of ``tables`` (dicts; strings with newlines become TOML literal blocks)."""
    def value(v):
        if isinstance(v, str) and "\n" in v:
            return "'''\n" + v + "'''"
        return json.dumps(v)

    text = "\n".join("[[variant]]\n" + "".join(f"{k} = {value(v)}\n" for k, v in t.items()) for t in tables)
    (folder / "variants" / name).write_text(text)


def table(name="v", **fields):
    return {"name": name, "about": "A change.", "module": "m", "expect": "loses", "exercises": ["f"], **fields}


def only(folder):
    [variant] = variants.load_all(load(folder))
    return variant


def test_replace_puts_a_function_in_place_and_isolates_its_callers(folder):
    write(folder, table(replace="import numpy as np\n\n\ndef f(x):\n    return x - 1\n"))
    variant = only(folder)
    source = variants.patched_module(variant, load(folder))
    tree = ast.parse(source)
    assert source.startswith('"""A module."""\nfrom __future__ import annotations\nimport numpy as np\n')
    assert "def f(x):\n    return x - 1\n" in source
    assert "return _reference_f(x) * 2" in source and "return _reference_f(1)" in source
    assert [n.name for n in tree.body if isinstance(n, ast.FunctionDef)] == ["f", "g", "_reference_f"]
    assert variants.touched_exercises(variant, load(folder)) == ("f",)


def test_without_isolation_the_callers_call_the_changed_function_and_every_exercise_counts(folder):
    write(folder, table(replace="def f(x):\n    return x - 1\n", isolate=False))
    variant = only(folder)
    source = variants.patched_module(variant, load(folder))
    assert "return f(x) * 2" in source and "_reference_" not in source
    assert variants.touched_exercises(variant, load(folder)) == ("f", "g", "c")


def test_a_class_of_methods_only_patches_them_and_a_class_with_more_replaces_it(folder):
    write(folder, table(exercises=["c"], replace="class C:\n    def b(self):\n        return 3\n\n"
                                                  "    def d(self):\n        return 4\n"))
    source = variants.patched_module(only(folder), load(folder))
    assert "    def a(self):\n        return f(1)\n" in source
    assert "    def b(self):\n        return 3\n" in source and "    def d(self):\n        return 4" in source
    write(folder, table(exercises=["c"], replace='class C:\n    """Whole."""\n\n    def b(self):\n        return 3\n'))
    source = variants.patched_module(only(folder), load(folder))
    assert "def a(" not in source and '"""Whole."""' in source


def test_edits_apply_in_order_and_new_definitions_are_appended(folder):
    write(folder, table(exercises=["g"], edit=[["f(x) * 2", "f(x) * 3"], ["* 3", "* 4"]]))
    source = variants.patched_module(only(folder), load(folder))
    assert "return f(x) * 4" in source
    write(folder, table(exercises=["f"], replace="def f(x):\n    return k(x)\n\n\ndef k(x):\n    return x\n"))
    names = [n.name for n in ast.parse(variants.patched_module(only(folder), load(folder))).body
             if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert names == ["f", "g", "C", "k", "_reference_f"]


def test_build_writes_the_student_modules_and_given_files(folder, tmp_path_factory):
    write(folder, table(edit=[["x + 1", "x + 2"]]))
    out = variants.build(only(folder), load(folder), tmp_path_factory.mktemp("built") / "v")
    assert sorted(p.name for p in out.iterdir()) == ["helpers.py", "m.py", "other.py"]
    assert "return x + 2" in (out / "m.py").read_text()


@pytest.mark.parametrize(("fields", "message"), [
    ({"edit": [["x + 1", "x + 2"]], "colour": "red"}, r"unknown field\(s\) colour"),
    ({"edit": [["x + 7", "x"]]}, r"edit 1: its old text 'x \+ 7' does not occur in m.py"),
    ({"edit": [["return", "yield"]]}, r"edit 1: its old text 'return' occurs 4 times in m.py; it must occur "
                                      "exactly once"),
    ({"edit": [["x + 1", "x + 2"]], "replace": "def f(x):\n    return 0\n"}, "give exactly one of `replace` and `edit`"),
    ({"edit": [["# nothing", "# still nothing"]]}, r"its old text '# nothing' does not occur"),
    ({"edit": [["x + 1", "x +  1"]]}, "the patch changes no definition of m.py"),
    ({"edit": [["x + 1", "x + 2"]], "exercises": ["g"]}, "expects to lose points in g, but its patch changes "
                                                          "only definitions of f"),
    ({"edit": [["x + 1", "x + 2"]], "exercises": ["nope"]}, "has no exercise 'nope'"),
    ({"edit": [["x + 1", "x + 2"]], "expect": "full"}, "`exercises` lists where it loses points"),
    ({"edit": [["x + 1", "x + 2"]], "expect": "worse"}, "`expect` is 'worse'; use one of full, loses, zero"),
    ({"edit": [["x + 1", "x + 2"]], "module": "missing"}, "module 'missing' is not a student module"),
    ({"edit": [["x + 1", "x +"]]}, "the patched m.py does not parse"),
    ({"edit": "x"}, "`edit` must be a non-empty list of \\[old, new\\] string pairs"),
    ({"replace": "x = 1\n"}, r"`replace` may hold only imports, functions and classes \(line 1\)"),
    ({"name": "Bad Name", "edit": [["x + 1", "x + 2"]]}, "`name` must be a string of"),
])
def test_a_wrong_variant_is_a_clear_error_naming_file_and_variant(folder, fields, message):
    write(folder, table(**fields))
    with pytest.raises(variants.VariantError, match=message) as caught:
        variants.load_all(load(folder))
    assert str(caught.value).startswith(str(folder / "variants" / "v.toml"))
    if "name" not in fields:
        assert "variant 'v'" in str(caught.value)


def test_names_are_unique_across_files_and_a_file_holds_only_variants(folder):
    write(folder, table(edit=[["x + 1", "x + 2"]]), name="a.toml")
    write(folder, table(edit=[["x + 1", "x + 3"]]), name="b.toml")
    with pytest.raises(variants.VariantError, match="b.toml: variant 'v': the name is also used in .*a.toml"):
        variants.load_all(load(folder))
    (folder / "variants" / "b.toml").write_text("[settings]\nx = 1\n")
    with pytest.raises(variants.VariantError, match=r"b.toml: expected only \[\[variant\]\] tables"):
        variants.load_all(load(folder))


def test_a_change_to_a_helper_alone_must_not_be_isolated(folder):
    (folder / "m.py").write_text(MODULE + "\n\ndef _helper():\n    return 1\n")
    write(folder, table(edit=[["return 1\n", "return 2\n"]]))
    with pytest.raises(variants.VariantError, match="it changes only _helper, which belong to no exercise"):
        variants.load_all(load(folder))


def test_no_variants_folder_means_no_variants(folder):
    (folder / "variants").rmdir()
    assert variants.load_all(load(folder)) == ()
