"""Variant submissions: the reference with a few top-level definitions replaced.

A variant is one file ``tests/variants/<name>.py``::

    \"\"\"Softmax over the query dimension instead of the keys.\"\"\"
    VARIANT = {"module": "attention", "breaks": ["sdpa"], "misconception": "sdpa.softmax_wrong_dim"}

    def scaled_dot_product_attention(query, key, value, mask=None, scale=None):
        ...

``breaks`` lists the exercises it must lose points in (empty for a correct variant written
differently); ``misconception`` (optional) the catalogue id it exhibits. :func:`build` writes a
submission folder: the reference's student modules, with every top-level function or class the
variant defines replaced in ``module`` (definitions the module lacks are appended, after the
variant's imports and module-level assignments).
"""

from __future__ import annotations

import ast
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
REFERENCE = HERE.parent.parent / "reference" / "01"


@dataclass(frozen=True)
class Variant:
    name: str
    path: Path
    module: str
    breaks: tuple[str, ...]
    misconception: str | None


def all_variants() -> list[Variant]:
    return [load(p) for p in sorted(HERE.glob("*.py")) if p.name != "__init__.py"]


def load(path: Path) -> Variant:
    tree = ast.parse(path.read_text())
    spec = next(ast.literal_eval(n.value) for n in tree.body
                if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "VARIANT")
    return Variant(path.stem, path, spec["module"], tuple(spec["breaks"]), spec.get("misconception"))


def build(variant: Variant, out: Path, reference: Path = REFERENCE) -> Path:
    """Write the variant's submission folder at ``out`` and return it."""
    out.mkdir(parents=True, exist_ok=True)
    for source in reference.glob("*.py"):
        if not source.name.startswith("test_"):
            shutil.copy(source, out / source.name)
    target = out / f"{variant.module}.py"
    target.write_text(splice(target.read_text(), variant.path.read_text()))
    return out


def splice(module_source: str, variant_source: str, isolate: bool = True) -> str:
    """``module_source`` with its top-level defs replaced by the same-named ones of the variant.

    With ``isolate``, the module's own definitions keep calling the reference version of a
    replaced function (renamed ``_reference_<name>``), so a variant's mistake stays in the
    exercise it lives in; without, they call the variant's (as a student's code would).
    """
    variant_tree = ast.parse(variant_source)
    variant_lines = variant_source.splitlines(keepends=True)
    replacements = {node.name: "".join(variant_lines[_first_line(node) - 1: node.end_lineno])
                    for node in variant_tree.body
                    if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    lines = module_source.splitlines(keepends=True)
    tree = ast.parse(module_source)
    replaced = [n.name for n in tree.body
                if isolate and isinstance(n, ast.FunctionDef) and n.name in replacements]
    originals = "".join("\n\n" + re.sub(rf"^def {n.name}\(", f"def _reference_{n.name}(",
                                          "".join(lines[_first_line(n) - 1: n.end_lineno]))
                        for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in replaced)
    for node in sorted(tree.body, key=lambda n: -n.lineno):
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            continue
        span = slice(_first_line(node) - 1, node.end_lineno)
        if node.name in replacements:
            lines[span] = [replacements.pop(node.name)]
        else:
            lines[span] = [_call_reference("".join(lines[span]), replaced)]
    extra = "".join("\n\n" + text for text in replacements.values())
    imports = "".join(ast.get_source_segment(variant_source, n) + "\n" for n in variant_tree.body
                      if isinstance(n, (ast.Import, ast.ImportFrom)))
    constants = "".join("\n" + ast.get_source_segment(variant_source, n) + "\n" for n in variant_tree.body
                        if isinstance(n, (ast.Assign, ast.AnnAssign)) and not _is_variant_spec(n))
    head = _header_length(tree)  # imports go after the docstring and `from __future__` lines
    return "".join(lines[:head]) + imports + "".join(lines[head:]) + constants + originals + extra


def _header_length(tree: ast.Module) -> int:
    """How many lines the module's docstring and ``from __future__`` imports take."""
    end = 0
    for node in tree.body:
        is_docstring = isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant)
        if not (is_docstring or (isinstance(node, ast.ImportFrom) and node.module == "__future__")):
            break
        end = node.end_lineno
    return end


def _call_reference(source: str, names: list[str]) -> str:
    for name in names:
        source = re.sub(rf"(?<![\w.]){name}\(", f"_reference_{name}(", source)
    return source


def _is_variant_spec(node: ast.AST) -> bool:
    return isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "VARIANT"


def _first_line(node: ast.AST) -> int:
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
