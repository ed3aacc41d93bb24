"""PO file chores of tools/i18n.sh (polib, from the project's virtualenv).

    i18n_po.py clean-pot FILE            strip the export's dates and Odoo build from the header
    i18n_po.py new-po POT LANG OUT       an empty translation file for LANG (pt, pt_BR, nl, es…)
    i18n_po.py merge POT PO              msgmerge's job when gettext is not installed
    i18n_po.py report [--check] [--list] DIR
                                         per language: translated / fuzzy / untranslated counts
                                         and placeholder mistakes; --list names every msgid that
                                         needs work; --check exits 1 when anything needs work

The translations live in the .po files themselves: translate an entry there (clear its
``#, fuzzy`` flag once reviewed), then run ``make i18n`` again.
"""

import argparse
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
POT_METADATA = {
    "Project-Id-Version": "Odoo Server 18.0",
    "Report-Msgid-Bugs-To": "",
    "Last-Translator": "",
    "Language-Team": "",
    "MIME-Version": "1.0",
    "Content-Type": "text/plain; charset=UTF-8",
    "Content-Transfer-Encoding": "",
    "Plural-Forms": "",
}


def placeholders(text):
    return sorted(PLACEHOLDER.findall(text.replace("%%", "")))


def clean_pot(path):
    pot = polib.pofile(path, wrapwidth=0)
    pot.metadata = dict(POT_METADATA)
    pot.save(path)


def new_po(pot_path, lang, out):
    pot = polib.pofile(pot_path, wrapwidth=0)
    name, plural = LANGUAGES.get(lang, (lang, "nplurals=2; plural=(n != 1);"))
    po = polib.POFile(wrapwidth=0)
    po.header = (
        f"Translation of Odoo Server.\nThis file contains the {name} translation of crm_plus."
    )
    po.metadata = dict(POT_METADATA, Language=lang, **{"Plural-Forms": plural})
    for entry in pot:
        po.append(
            polib.POEntry(
                msgid=entry.msgid,
                msgstr="",
                occurrences=entry.occurrences,
                comment=entry.comment,
                flags=list(entry.flags),
            )
        )
    po.save(out)


def merge(pot_path, po_path):
    po = polib.pofile(po_path, wrapwidth=0)
    po.merge(polib.pofile(pot_path, wrapwidth=0))
    for entry in po.obsolete_entries():
        po.remove(entry)
    po.save(po_path)


def entry_problems(entry):
    """What is wrong with one translation entry ('' when nothing)."""
    if entry.obsolete:
        return ""
    if "fuzzy" in entry.flags:
        return "fuzzy"
    if not entry.msgstr.strip():
        return "untranslated"
    if placeholders(entry.msgid) != placeholders(entry.msgstr):
        return f"placeholders {placeholders(entry.msgid)} != {placeholders(entry.msgstr)}"
    return ""


def report(directory, check=False, listing=False):
    directory = Path(directory)
    pot = polib.pofile(str(directory / "crm_plus.pot"))
    msgids = [entry.msgid for entry in pot if not entry.obsolete]
    print(f"{directory / 'crm_plus.pot'}: {len(msgids)} msgids")
    needs_work = 0
    for lang in LANGUAGES:
        path = directory / f"{lang}.po"
        if not path.exists():
            print(f"{path.name:>9}: missing")
            needs_work += 1
            continue
        po = polib.pofile(str(path))
        by_id = {entry.msgid: entry for entry in po if not entry.obsolete}
        problems = {}
        for msgid in msgids:
            entry = by_id.get(msgid)
            problem = entry_problems(entry) if entry else "untranslated (not in the .po)"
            if problem:
                problems[msgid] = problem
        fuzzy = sum(1 for p in problems.values() if p == "fuzzy")
        other = sum(1 for p in problems.values() if p.startswith("placeholders"))
        untranslated = len(problems) - fuzzy - other
        print(
            f"{path.name:>9}: {len(msgids) - len(problems)}/{len(msgids)} translated, "
            f"{fuzzy} fuzzy, {untranslated} untranslated, {other} placeholder mismatches"
        )
        needs_work += len(problems)
        if listing:
            for msgid, problem in problems.items():
                print(f"           - [{problem}] {msgid!r}")
    if needs_work and not listing:
        print("(run `make i18n I18N_ARGS=--list` to list the msgids that need work)")
    return 1 if (check and needs_work) else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("clean-pot").add_argument("file")
    new = sub.add_parser("new-po")
    new.add_argument("pot")
    new.add_argument("lang")
    new.add_argument("out")
    mrg = sub.add_parser("merge")
    mrg.add_argument("pot")
    mrg.add_argument("po")
    rep = sub.add_parser("report")
    rep.add_argument("directory")
    rep.add_argument("--check", action="store_true")
    rep.add_argument("--list", action="store_true", dest="listing")
    args = parser.parse_args(argv)
    if args.command == "clean-pot":
        clean_pot(args.file)
    elif args.command == "new-po":
        new_po(args.pot, args.lang, args.out)
    elif args.command == "merge":
        merge(args.pot, args.po)
    else:
        return report(args.directory, check=args.check, listing=args.listing)
    return 0


if __name__ == "__main__":
    sys.exit(main())
