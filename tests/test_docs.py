"""The user's guide builds without a single warning, and the pages that point at files point at real ones."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def test_mkdocs_strict_build(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    log = proc.stdout + proc.stderr
    warnings = [line for line in log.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert proc.returncode == 0 and not warnings, log[-4000:]
    assert (tmp_path / "site" / "reference" / "api" / "problem" / "index.html").exists()
    api = (tmp_path / "site" / "reference" / "api" / "problem" / "index.html").read_text()
    assert "derivative_plan" in api  # the reference really is generated from the docstrings


def test_every_tutorial_runs_a_script_and_shows_its_figure():
    for page in sorted((DOCS / "tutorials").glob("*.md")):
        if page.name == "index.md":
            continue
        text = page.read_text()
        scripts = re.findall(r"examples/(\w+\.py)", text)
        assert scripts, f"{page.name} names no script under examples/"
        assert all((ROOT / "examples" / s).exists() for s in scripts), page.name
        figures = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text)
        assert figures, f"{page.name} shows no figure"
        assert all((page.parent / f).resolve().exists() for f in figures), page.name


def test_readme_links_point_at_files():
    text = (ROOT / "README.md").read_text()
    links = [link for link in re.findall(r"\]\(([^)#]+)", text) if "://" not in link]
    assert links, "the README links to the guide"
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing, missing


def test_docstring_rst_is_rewritten_for_the_site():
    import importlib.util

    spec = importlib.util.spec_from_file_location("griffe_rst", ROOT / "tools" / "griffe_rst.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    text = ("Uses :func:`~.poly.weak_poly` and :class:`fieldlab.Problem`, with :math:`u_t = D u_{xx}`.\n\n"
            ".. math::\n    a = b\n    + c\n\nAfter.")
    assert mod.rst_to_markdown(text) == ("Uses `weak_poly` and `fieldlab.Problem`, with $u_t = D u_{xx}$.\n\n"
                                         "$$\na = b\n+ c\n$$\n\nAfter.")
