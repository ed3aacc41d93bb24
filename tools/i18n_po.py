"""PO file chores of tools/i18n.sh, with polib (Odoo's own dependency):

i18n_po.py clean-pot FILE          strip the export's dates and Odoo build from the header
i18n_po.py new-po POT LANG OUT     an empty translation file for LANG (pt, pt_BR, nl, es…)
i18n_po.py merge POT PO            msgmerge's job when gettext is not installed
i18n_po.py report DIR [--check] [--list]
                                   per language: translated / fuzzy / untranslated counts and
                                   placeholder mistakes; --list names each msgid that needs
                                   work; --check exits 1 when anything does
"""

import re
import sys
from pathlib import Path

import polib

LANGUAGES = {
    "pt": ("Portuguese (Portugal)", "nplurals=2; plural=(n != 1);"),
    "pt_BR": ("Portuguese (Brazil)", "nplurals=2; plural=(n > 1);"),
    "nl": ("Dutch", "nplurals=2; plural=(n != 1);"),
    "es": ("Spanish", "nplurals=2; plural=(n != 1);"),
}
PLACEHOLDER = re.compile(r"%(?:\([a-zA-Z_][a-zA-Z0-9_]*\))?[-#0 +]*\d*(?:\.\d+)?[sdrfi]")
# Odoo's header, without what changes at every export (dates, build of the day).
POT_METADATA = dict.fromkeys(
    "Report-Msgid-Bugs-To Last-Translator Language-Team Content-Transfer-Encoding "
    "Plural-Forms".split(),
    "",
) | {"Project-Id-Version": "Odoo Server 18.0", "MIME-Version": "1.0"}
POT_METADATA["Content-Type"] = "text/plain; charset=UTF-8"


def pofile(path):
    return polib.pofile(str(path), wrapwidth=0)


def problem(entry):
    """What is wrong with one translation entry (None when nothing)."""
    ids, strs = (
        sorted(PLACEHOLDER.findall(t.replace("%%", ""))) for t in [entry.msgid, entry.msgstr]
    )
    if "fuzzy" in entry.flags:
        return "fuzzy"
    if not entry.msgstr.strip():
        return "untranslated"
    return f"placeholders {ids} != {strs}" if ids != strs else None


def report(directory, *options):
    pot = pofile(Path(directory) / "crm_plus.pot")
    msgids = [entry.msgid for entry in pot if not entry.obsolete]
    print(f"{Path(directory) / 'crm_plus.pot'}: {len(msgids)} msgids")
    needs_work = 0
    for lang in LANGUAGES:
        path = Path(directory) / f"{lang}.po"
        by_id = {e.msgid: e for e in pofile(path) if not e.obsolete} if path.exists() else {}
        problems = {m: problem(by_id[m]) if m in by_id else "untranslated" for m in msgids}
        problems = {msgid: text for msgid, text in problems.items() if text}
        kinds = [text.split()[0] for text in problems.values()]
        print(
            f"{path.name:>9}: {len(msgids) - len(problems)}/{len(msgids)} translated, "
            f"{kinds.count('fuzzy')} fuzzy, {kinds.count('untranslated')} untranslated, "
            f"{kinds.count('placeholders')} placeholder mismatches"
        )
        needs_work += len(problems) + (not path.exists())
        if "--list" in options:
            sys.stdout.writelines(f"           - [{t}] {m!r}\n" for m, t in problems.items())
    if needs_work and "--list" not in options:
        print("(run `make i18n I18N_ARGS=--list` to list the msgids that need work)")
    return 1 if needs_work and "--check" in options else 0


def main(command, *args):
    if command == "clean-pot":
        pot = pofile(args[0])
        pot.metadata = dict(POT_METADATA)
        pot.save()
    elif command == "new-po":  # the .pot's entries, untranslated, under the language's header
        po, (name, plural) = pofile(args[0]), LANGUAGES[args[1]]
        po.header = "Translation of Odoo Server.\n"
        po.header += f"This file contains the {name} translation of crm_plus."
        po.metadata = POT_METADATA | {"Language": args[1], "Plural-Forms": plural}
        po.save(args[2])
    elif command == "merge":  # new msgids untranslated, gone ones dropped
        po = pofile(args[1])
        po.merge(pofile(args[0]))
        for entry in po.obsolete_entries():
            po.remove(entry)
        po.save()
    else:
        return report(*args)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
