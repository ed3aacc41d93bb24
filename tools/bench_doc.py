"""doc/benchmarks*.md from the JSON `make bench` writes (tools/bench.py): the Jinja2 templates
doc/benchmarks.md.j2 (the run's tables, ratios, targets and prose) and doc/benchmarks-series.md.j2
(the main ratios of every series, a section of doc/benchmarks.md) say what is compared; this
gives them the measures."""

import json
import math
import re
from pathlib import Path

import jinja2
from bench_data import SMALL_N, Result, log, median
from doc_section import write_section

DOC_DIR = Path(__file__).resolve().parent.parent / "doc"
FORM_RUNS = 15
SUMMARY = [  # doc/benchmarks-<series>.json's main ratios: key, numerator, denominator
    ("advance_vs_crm_orm", "plus_advance", "crm_orm_advance"),
    ("advance_vs_crm", "plus_advance", "crm_advance"),
    ("close_vs_crm_orm", "plus_close", "crm_orm_close"),
    ("close_vs_crm", "plus_close", "crm_close"),
    ("rpc_vs_crm_orm", "plus_rpc", "crm_orm_rpc"),
    ("rpc_vs_crm", "plus_rpc", "crm_rpc"),
    ("advance_queries", "plus_advance", None),  # queries at N
    ("import_vs_plain", "plus_import", "plain_import"),
    ("suggest_seconds", "plus_suggest", None),  # seconds
]
SERIES = ("<!-- main ratios by Odoo series: written by every make bench run -->",
          "<!-- end of main ratios by Odoo series -->")  # fmt: skip
# Other tools' sections of doc/benchmarks.md (make load's, make tax's, the main ratios by
# series…), between their `<!-- name: … -->` and `<!-- end of name -->` markers: kept as they are.
KEPT_SECTIONS = r"<!-- ([^:>]+): .*?-->.*?<!-- end of \1 -->"


def fmt_time(seconds):
    if seconds is None or math.isnan(seconds):
        return "–"
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def fmt(value, spec=""):
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else format(
        value, spec
    )  # fmt: skip


TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(DOC_DIR),
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)
TEMPLATES.filters.update(num=lambda v: fmt(v, ","), time=fmt_time, fmt=fmt)
TEMPLATES.filters["ratio"] = lambda v: fmt(v, ".2f") + ("×" if fmt(v) != "–" else "")


def render(data):
    """doc/benchmarks*.md's text, from the JSON this script writes."""
    d, n = data["details"], data["n"]
    res = {key: Result(*values) for key, values in d["results"].items()}
    counts_small = d["counts_small"]

    def ratio(a, b):
        return res[a].time / res[b].time if a in res and b in res and res[b].time else math.nan

    def count(key):
        return res[key].counts[-1] if key in res and res[key].counts else None

    def per_record(key):  # 0.01 per grouped write of 100 rows, 1+ when once per record
        return (
            (count(key) - counts_small[key]) / (n - SMALL_N)
            if key in counts_small and key in res
            else None
        )

    def rows(op, operation, keys):
        """The main table's rows of one operation, one per implementation measured."""
        for key in (key for key in keys.split() if key in res):
            r = res[key]
            shares = [s / t for s, t in zip(r.sql_times, r.times, strict=True) if t]
            yield [op, operation, r.label, *map(fmt_time, (r.time, min(r.times), max(r.times))),
                   len(r.times), f"{median(shares) * 100:.0f} %", fmt(counts_small.get(key)),
                   fmt(count(key)), fmt(per_record(key), ".3f")]  # fmt: skip
            op = operation = ""

    def verdict(value, limit, below=False):
        if value is None or math.isnan(value):
            return "not measured"
        return "PASS" if (value < limit if below else value <= limit) else "**MISS**"

    def per_lead(key):
        if per_record(key) is None:
            return "–"
        return f"{res[key].time / n * 1000:.2f} ms and {per_record(key):.2f} queries per lead"

    mismatches = [
        f"{op}: ORM {res[f'plus_{op}'].fingerprint} vs SQL {res[f'sql_{sql_op}'].fingerprint}"
        for op, sql_op in (("assign", "assign"), ("assign_wizard", "assign"),
                           ("advance", "advance"), ("close", "close"))
        if f"plus_{op}" in res and f"sql_{sql_op}" in res
        and res[f"plus_{op}"].fingerprint != res[f"sql_{sql_op}"].fingerprint
    ]  # fmt: skip
    return TEMPLATES.get_template("benchmarks.md.j2").render(
        n=n, d=d, data=d["data"], small=SMALL_N, form_runs=FORM_RUNS,
        time={key: r.time for key, r in res.items()},
        counts_small=counts_small, ratio=ratio, count=count, per_record=per_record, rows=rows,
        verdict=verdict, mismatches=mismatches, per_lead=per_lead,
        posts=fmt(per_record("crm_orm_advance"), ".0f"),
    )  # fmt: skip


def summary(bench):
    """The main ratios, and every measure the document is rendered from."""
    med = {key: r.time for key, r in bench.results.items()}
    data = {"n": bench.n}
    for key, a, b in SUMMARY:
        data[key] = med[a] / med[b] if a in med and b in med and med[b] else None
        if b is None and a in med:
            data[key] = med[a] if key == "suggest_seconds" else bench.results[a].counts[-1]
    data["details"] = {
        "runs": bench.runs,
        "budget": bench.budget,
        "results": {key: list(vars(r).values()) for key, r in bench.results.items()},
        "counts_small": bench.counts_small,
        "form": bench.form,
        "data": bench.data_info,
        "notes": bench.notes,
        "machine": bench.machine,
    }
    return data


def write_doc(data, doc=None):
    """doc/benchmarks-<series>.json, then doc/benchmarks.md (other series:
    doc/benchmarks-<series>.md), and the main ratios by series in doc/benchmarks.md."""
    series = data["details"]["machine"]["series"]
    name = "benchmarks.md" if series == "18.0" else f"benchmarks-{series}.md"
    path = Path(doc or DOC_DIR / name)
    path.with_name(f"benchmarks-{series}.json").write_text(json.dumps(data, indent=1) + "\n")
    previous = path.read_text() if path.exists() else ""
    kept = [m.group(0) for m in re.finditer(KEPT_SECTIONS, previous, re.S)]
    path.write_text(render(data) + "".join(f"\n{section}\n" for section in kept))
    log(f"results written to {path}")
    columns = {
        f.stem.removeprefix("benchmarks-"): json.loads(f.read_text())
        for f in sorted(path.parent.glob("benchmarks-*.json"))
    }
    if (path.parent / "benchmarks.md").exists():
        section = TEMPLATES.get_template("benchmarks-series.md.j2").render(columns=columns)
        write_section(path.parent / "benchmarks.md", *SERIES, section.rstrip("\n"))
