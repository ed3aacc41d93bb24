"""README.md and static/description/index.html are built from readme/ by
tools/build_readme.py, and say what a new user asks."""

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# The tool's virtualenv (tools/readme.sh), which has the Markdown renderer; tools/test.sh says
# where it is.
TOOL_PYTHON = os.environ.get("CRM_PLUS_README_PYTHON") or sys.executable


def test_readme_is_up_to_date():
    """Both README.md and the module's description page (index.html): a fragment edited without
    `make readme` fails here."""
    proc = subprocess.run(
        [TOOL_PYTHON, str(ROOT / "tools" / "build_readme.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_readme_answers_the_faq():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for needle in (
        "make run",
        "make test",
        "Why don't I see the Overview page",
        "Can existing contacts join the funnel?",
        "When do close reasons appear?",
        "examples/xmlrpc_client.py",
        "make i18n",
    ):
        assert needle in readme, needle


def test_readme_demo_figures_are_the_demo_data():
    """The demo history the README describes is the one demo/crm_plus_demo.py creates."""
    source = (ROOT / "demo" / "crm_plus_demo.py").read_text(encoding="utf-8")
    tables = {}
    for name in ("DEMO_LEAD_CLOSES", "DEMO_PROSPECT_CLOSES"):
        line = next(ln for ln in source.splitlines() if ln.startswith(f"{name} = "))
        tables[name] = ast.literal_eval(line.split("=", 1)[1].strip())
    lead_lost = sum(lost for lost, _won in tables["DEMO_LEAD_CLOSES"])
    lead_won = sum(won for _lost, won in tables["DEMO_LEAD_CLOSES"])
    prospect_won = sum(won for _lost, won in tables["DEMO_PROSPECT_CLOSES"])
    prospects = sum(map(sum, tables["DEMO_PROSPECT_CLOSES"]))
    leads = lead_lost + lead_won
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"holds {leads + prospects} closed deals" in readme
    assert f"{leads} leads ({lead_won} won, {lead_lost} lost)" in readme
    assert f"{prospects} prospects ({prospect_won} won)" in readme


def test_description_page_is_the_readme_fragments(tmp_path):
    """index.html follows the fragments: a changed fragment makes --check fail on index.html,
    and the page shows the fragments' text as HTML, local links as text."""
    copy = tmp_path / "crm_plus"
    for name in ("__manifest__.py", "README.md", "static/description/index.html"):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes((ROOT / name).read_bytes())
    (copy / "readme").mkdir()
    for fragment in (ROOT / "readme").glob("*.md"):
        (copy / "readme" / fragment.name).write_bytes(fragment.read_bytes())
    (copy / "tools").mkdir()
    (copy / "tools" / "build_readme.py").write_bytes((ROOT / "tools/build_readme.py").read_bytes())
    roadmap = copy / "readme" / "ROADMAP.md"
    roadmap.write_text(roadmap.read_text(encoding="utf-8") + "\nA **new** roadmap line.\n")

    def run(*args):
        return subprocess.run(
            [TOOL_PYTHON, str(copy / "tools" / "build_readme.py"), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    checked = run("--check")
    assert checked.returncode == 1
    assert "static/description/index.html is not up to date" in checked.stdout
    assert run().returncode == 0
    page = (copy / "static/description/index.html").read_text(encoding="utf-8")
    assert "<p>A <strong>new</strong> roadmap line.</p>" in page
    assert run("--check").returncode == 0
    # The committed page: title, every fragment's section, no link into the repository.
    page = (ROOT / "static/description/index.html").read_text(encoding="utf-8")
    assert '<h1 class="title">CRM+ Sales Funnel</h1>' in page
    for heading in ("Configuration", "Usage", "Known issues / Roadmap", "Contributors"):
        assert f">{heading}</h" in page, heading
    assert "<table>" in page
    assert "<code>examples/xmlrpc_client.py</code>" in page
    assert 'href="examples/' not in page
