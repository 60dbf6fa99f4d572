"""Sealed PDF production through the app's code against plain WeasyPrint + pyHanko.

For partnership agreements of about 4, 10 and 50 pages (the general template, every field
filled, steps of shared goals added until the page count is reached) it times, in interleaved
rounds. With its cover page, an agreement with every field filled has 5 pages; the size
limits let one version of the general agreement reach about 37 pages (12 goals of 8 full
steps), so the largest size asked for is measured at the largest an agreement can be:

- app: what the PDF job (`careplan.services.pdfs`) does for one agreed version, less the
  database and the file: `pdf.seal_with(pdf.render_pdf(doc), credentials)`, that is the HTML
  from the app's template, rendered in a process forked from the sandboxed render host, and
  sealed;
- plain: the same HTML and stylesheet, with the same write options, rendered by WeasyPrint in
  this process and sealed by pyHanko with a signer loaded once, the same certificate and the
  same signature settings.

Goal: median app ÷ median plain ≤ 1.15 for each size. Writes bench/results/pdf.json and
bench/RESULTS_pdf.md.

    .venv/bin/python -m bench.pdf [--rounds 12] [--sizes 4,10,50]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from io import BytesIO
from pathlib import Path

from careplan import pdf
from careplan.agreement_library import AgreementLibrary
from careplan.domain.canonical import content_hash
from careplan.domain.kinds import kind_for
from careplan.paths import PROJECT_ROOT
from careplan.pdf import engine, seal
from careplan.pdf.fetcher import STYLESHEET

RESULTS = Path(__file__).resolve().parent / "results"
RESULTS_MD = Path(__file__).resolve().parent / "RESULTS_pdf.md"

PARAGRAPH = (
    "When I start missing appointments and stop answering my phone, it usually means things "
    "are getting on top of me. Please text first, then call my sister if you have not heard "
    "back in two days. I do not want the police at my door unless there is no other way."
)


MAX_GOALS, MAX_STEPS, STEP_TEXT = 12, 8, 570  # within what one version may hold


def agreement_content(steps: int) -> tuple[object, dict]:
    """The general agreement with every text field filled and `steps` steps of shared goals
    (up to 8 to a goal, of 570 characters each: the size limits allow no more than 12 goals
    of 8 steps, so longer documents come from fuller steps, not more goals)."""
    template = AgreementLibrary(PROJECT_ROOT / "agreements").current().templates["general"]
    kind = kind_for("agreement", template)
    raw = kind.empty_content()
    for section in raw["sections"].values():
        for key, value in section.items():
            if isinstance(value, dict) and "text" in value:
                section[key] = {"text": PARAGRAPH[:90]}
    text = (PARAGRAPH + " ") * (STEP_TEXT // len(PARAGRAPH) + 1)
    raw["sections"]["shared_goals"]["goals"] = [
        {
            "title": f"Goal {n + 1}: keep my tenancy and get back to college",
            "steps": [
                {
                    "text": f"Step {s + 1}: {text}"[:STEP_TEXT].strip(),
                    "owner": {"kind": "client" if s % 2 else "key_worker"},
                    "due": "2027-01-15",
                }
                for s in range(min(MAX_STEPS, steps - n * MAX_STEPS))
            ],
        }
        for n in range(-(-steps // MAX_STEPS))
    ]
    return kind, kind.validate(raw)


def printable(steps: int) -> pdf.PrintableDocument:
    kind, content = agreement_content(steps)
    return pdf.PrintableDocument(
        kind_label=kind.label,
        agreed_on=date(2026, 11, 22),
        client_name="Sam Taylor",
        sections=pdf.sections_from_kind(kind, content),
        signatures=[
            pdf.SignatureLine(
                "Sam Taylor", "Client", datetime(2026, 11, 22, 14, 5, tzinfo=UTC), "signed"
            ),
            pdf.SignatureLine(
                "Alex Morgan", "Key worker", datetime(2026, 11, 22, 15, 30, tzinfo=UTC), "signed"
            ),
        ],
        content_hash=content_hash(content),
        version_number=3,
        short_code="K7Q4-XM92-ABCD",
        draft=False,
        redisclosure_notice="Confidential record. Do not pass this on without consent.",
        verify_url="https://careplan.example.org/verify",
    )


def page_count(html: str) -> int:
    from weasyprint import CSS, HTML

    return len(HTML(string=html).render(stylesheets=[CSS(filename=str(STYLESHEET))]).pages)


def document_of(pages: int) -> tuple[pdf.PrintableDocument, int]:
    """A document of `pages` pages (the smallest number of steps that reaches it), or the
    largest one version may hold if that is shorter."""
    if page_count(pdf.render_html(printable(0))) >= pages:
        doc = printable(0)
        return doc, page_count(pdf.render_html(doc))
    low, high = 0, MAX_GOALS * MAX_STEPS
    if page_count(pdf.render_html(printable(high))) < pages:
        doc = printable(high)
        return doc, page_count(pdf.render_html(doc))
    while high - low > 1:
        mid = (low + high) // 2
        if page_count(pdf.render_html(printable(mid))) >= pages:
            high = mid
        else:
            low = mid
    doc = printable(high)
    return doc, page_count(pdf.render_html(doc))


class Plain:
    """WeasyPrint and pyHanko used directly, as their documentation shows."""

    def __init__(self, creds: pdf.SealCredentials, signer=None):
        from pyhanko.sign import fields, signers

        self.signers = signers
        self.signer = signer or signers.SimpleSigner.load(
            key_file=str(creds.key_path), cert_file=str(creds.cert_path)
        )
        self.meta = signers.PdfSignatureMetadata(
            field_name=seal.SEAL_FIELD,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            certify=True,
            docmdp_permissions=fields.MDPPerm.NO_CHANGES,
            reason=seal.SEAL_REASON,
        )

    def __call__(self, html: str) -> bytes:
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from weasyprint import CSS, HTML

        data = HTML(string=html).write_pdf(
            stylesheets=[CSS(filename=str(STYLESHEET))], **engine.WRITE_OPTIONS
        )
        writer = IncrementalPdfFileWriter(BytesIO(data))
        return self.signers.sign_pdf(writer, self.meta, signer=self.signer).getvalue()


def app_sealed(doc: pdf.PrintableDocument, creds: pdf.SealCredentials) -> bytes:
    return pdf.seal_with(pdf.render_pdf(doc), creds)


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(pages: int, rounds: int, creds, plain: Plain, kept: Plain, log=print) -> dict:
    doc, actual = document_of(pages)
    html = pdf.render_html(doc)
    sealed = app_sealed(doc, creds)  # warm-up, and the output is checked
    for made in (sealed, plain(html), kept(html)):
        assert pdf.verify_pdf(made, creds.cert_path).valid, "a sealed PDF does not verify"
    runs = {
        "app": lambda: app_sealed(doc, creds),
        "plain": lambda: plain(html),
        "plain_kept_key": lambda: kept(html),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for n in range(rounds):
        # The order turns every round: no side always runs first on a busy machine.
        order = list(runs)[n % 3 :] + list(runs)[: n % 3]
        for name in order if n % 2 == 0 else reversed(order):
            times[name].append(_timed(runs[name]))
    med = {name: statistics.median(t) for name, t in times.items()}
    per_round = [a / p for a, p in zip(times["app"], times["plain"], strict=True)]
    result = {
        "pages": actual,
        "bytes": len(sealed),
        **{f"{name}_median_ms": round(1000 * m, 1) for name, m in med.items()},
        "ratio": round(med["app"] / med["plain"], 3),
        "ratio_of_rounds_median": round(statistics.median(per_round), 3),
        "ratio_to_kept_key": round(med["app"] / med["plain_kept_key"], 3),
        "rounds": rounds,
    }
    log(
        f"{actual:>3} pages: app {result['app_median_ms']} ms, plain "
        f"{result['plain_median_ms']} ms, ratio {result['ratio']} (goal <= 1.15); plain with "
        f"the key kept {result['plain_kept_key_median_ms']} ms, ratio "
        f"{result['ratio_to_kept_key']}"
    )
    return result


def write_results(results: list[dict], load: list[float], label: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    (RESULTS / "pdf.json").write_text(
        json.dumps({"at": stamp, "label": label, "load": load, "sizes": results}, indent=2)
    )
    lines = [
        "# Sealed PDFs: the app against plain WeasyPrint + pyHanko",
        "",
        f"`.venv/bin/python -m bench.pdf`, {stamp}, {label}; {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {load[0]} before, {load[1]} after.",
        "",
        "| pages | sealed size | app | plain | app ÷ plain (goal ≤ 1.15) | median of per-round "
        "ratios | plain, key kept loaded | app ÷ that |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['pages']} | {r['bytes'] // 1024} KiB | {r['app_median_ms']} ms | "
            f"{r['plain_median_ms']} ms | **{r['ratio']}** | {r['ratio_of_rounds_median']} | "
            f"{r['plain_kept_key_median_ms']} ms | {r['ratio_to_kept_key']} |"
        )
    lines += [
        "",
        "Medians of interleaved rounds. *plain*: WeasyPrint and pyHanko as documented (a "
        "`SimpleSigner` loaded once, which still parses its key for each signature it makes); "
        "*plain, key kept loaded*: the same with the app's signer, which parses the key once, "
        "so `app ÷ that` is the app's own overhead (sandbox, template, checks).",
    ]
    RESULTS_MD.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--sizes", default="4,10,50", help="page counts, comma-separated")
    parser.add_argument("--label", default="", help="a note for the results table")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as instance:
        creds = pdf.credentials_from_config({}, instance)
        plain = Plain(creds)
        kept = Plain(creds, seal._signer(creds))
        pdf.warm_up()
        # The render host freezes what it has loaded out of the garbage collector's sight
        # before it forks; do the same here, or plain WeasyPrint pays for collecting a heap
        # the app's renders never scan (three times slower at 50 pages).
        gc.collect()
        gc.freeze()
        load = [round(os.getloadavg()[0], 2)]
        results = [
            # The longest documents take seconds a round: fewer rounds for them.
            measure(
                int(p), args.rounds if int(p) < 20 else max(4, args.rounds // 2), creds, plain, kept
            )
            for p in args.sizes.split(",")
            if p.strip()
        ]
        load.append(round(os.getloadavg()[0], 2))
    if not args.no_write:
        write_results(results, load, args.label or "current code")


if __name__ == "__main__":
    main()
