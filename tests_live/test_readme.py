"""README.md is built from readme/ by tools/build_readme.py and says what a new user asks."""

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
