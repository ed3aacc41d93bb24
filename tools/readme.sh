#!/usr/bin/env bash
# make readme: README.md and static/description/index.html from the fragments in readme/
# (tools/build_readme.py), in a small virtualenv with the Markdown renderer (README_PINS).
# Arguments go to the tool: `make readme README_ARGS=--check` only tells whether both are
# up to date.
source "$(dirname "$0")/env.sh"
source "$REPO_DIR/tools/tool_venv.sh"
tool_venv readme "${README_PINS[@]}"
exec "$TOOL_VENV/bin/python" "$REPO_DIR/tools/build_readme.py" "$@"
