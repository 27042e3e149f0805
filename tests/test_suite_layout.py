"""The test suite's own layout: no test module imports another (shared helpers live in modules
without the ``test_`` prefix, docs/layout.md), so each test file can run, move or go alone."""
import ast
import glob
import os

TESTS = os.path.dirname(os.path.abspath(__file__))


def test_no_test_module_imports_another():
    found = []
    for path in glob.glob(os.path.join(TESTS, "**", "*.py"), recursive=True):
        for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{os.path.relpath(path, TESTS)} imports {n}" for n in names
                      if n.startswith("tests.") and n.rsplit(".", 1)[-1].startswith("test_")]
    assert found == []
