"""Plain-name imports between the modules of one folder: ``from layers import RMSNorm`` in ``model.py``.

An assignment's modules may import each other (and the assignment's given files) by plain names.
Several folders holding modules of those names can live in one process (a student's local run
loads the reference beside the submission; the project's tests load many submissions), so the
names cannot simply be left in ``sys.modules``. While :func:`plain_names` is active, an import of
one of ``names`` resolves to ``load(name)`` (the module of *this* folder, loaded once by the
caller, under whatever private name it chose); when it ends, ``sys.modules`` holds what it held
before::

    with plain_names({"layers", "model"}, load):
        load("model")          # model.py's `from layers import RMSNorm` gets load("layers")

It never executes a file itself: ``load`` does (the executor for a submission, the reference
loader for the reference). A failing ``load`` makes the import raise ``ImportError``.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Callable, Iterable, Iterator


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``names`` (top-level only) and hands out the module ``load`` returns."""

    def __init__(self, names: frozenset[str], load: Callable[[str], ModuleType]):
        self.names, self.load = names, load

    def find_spec(self, fullname, path=None, target=None):
        if path is None and fullname in self.names:
            return importlib.machinery.ModuleSpec(fullname, self)
        return None

    def create_module(self, spec) -> ModuleType:
        try:
            return self.load(spec.name)
        except ImportError:
            raise
        except Exception as exc:  # noqa: BLE001 - what failed is the import of that module
            raise ImportError(f"{spec.name}: {exc}", name=spec.name) from None

    def exec_module(self, module: ModuleType) -> None:
        """Nothing: ``load`` returned the module already executed."""


@contextlib.contextmanager
def plain_names(names: Iterable[str], load: Callable[[str], ModuleType]) -> Iterator[None]:
    """Within the block, ``import NAME`` for NAME in ``names`` gives ``load(NAME)``."""
    names = frozenset(names)
    saved = {name: sys.modules.pop(name) for name in names if name in sys.modules}
    finder = _Finder(names, load)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name in names:
            sys.modules.pop(name, None)
        sys.modules.update(saved)
