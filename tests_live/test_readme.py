"""README.md is built from readme/ by tools/build_readme.py and says what a new user asks."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_is_up_to_date():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_readme.py"), "--check"],
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
