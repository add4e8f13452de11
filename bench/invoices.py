"""Invoice PDF rendering: python bench/invoices.py [--quick]

Prints the median time to render a one-page invoice (warm process: template, fonts and
stylesheets already loaded) and a 30-page usage annex, invoices per second on 1 and 2
worker processes, and peak memory (RSS). Every render is the full product: HTML,
layout, PDF/A-3b, the bundled font subset, the QR code and the JSON attachment.
The machine's load average is printed too: other work on the 2 cores shows in the times.
"""

from __future__ import annotations

import dataclasses
import io
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

# This file is named like the `invoices` package: import that, not this file.
_HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in ("", _HERE)]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pypdf import PdfReader
from weasyprint import CSS, HTML, Attachment
from weasyprint.text.fonts import FontConfiguration

from invoices.pdf import render_pdf, specimens
from invoices.pdf.attachment import attachment_name, document_json
from invoices.pdf.renderer import _HERE, _engine, _page_css, warm_up
from invoices.pdf.view import build_view

QUICK = "--quick" in sys.argv
ONE_PAGE_RUNS = 15 if QUICK else 60
ANNEX_RUNS = 2 if QUICK else 5
THROUGHPUT_INVOICES = 60 if QUICK else 240
ANNEX_PAGES = 30


def one_invoice(i: int) -> int:
    doc = dataclasses.replace(specimens.invoice(), number=f"INV-2026-{i:06d}")
    return len(render_pdf(doc, fiscal=specimens.fiscal(doc, gc=1000 + i)))


def naive_render(doc, fiscal) -> bytes:
    """The same HTML and CSS the way WeasyPrint's documentation shows: a FontConfiguration
    and stylesheets made per render, WeasyPrint's own parser and UA stylesheet, no
    shared fonts. The yardstick for what the engine saves."""
    html = _engine().template.render(v=build_view(doc, "en", (), fiscal))
    fonts = FontConfiguration()
    css = [
        CSS(filename=str(_HERE / "document.css"), font_config=fonts),
        CSS(string=_page_css("en"), font_config=fonts),
    ]
    data = Attachment(
        string=document_json(doc, fiscal=fiscal, annex=()),
        name=attachment_name(doc),
        relationship="Data",
    )
    return HTML(string=html, base_url=str(_HERE) + "/").write_pdf(
        stylesheets=css, font_config=fonts, pdf_variant="pdf/a-3b", attachments=[data]
    )


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


FASTEST: list[float] = []  # the fastest wall time of the last `timed` call
WAITING: list[float] = []  # the median run-queue wait of the last `timed` call


def run_queue_wait() -> float:
    """Seconds this process has spent runnable but waiting for a CPU (the kernel's
    schedstat): wall time that is neither its own CPU time nor any I/O of its own."""
    try:
        with open("/proc/self/schedstat") as schedstat:
            return int(schedstat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def timed(fn, runs: int) -> tuple[float, float]:
    """Median wall-clock and median CPU seconds of `runs` calls. The fastest call is
    kept too: on a shared machine it is the closest to the uncontended cost. So is the
    median wait for a CPU: a render does no I/O, so wall = CPU + that wait, and the
    wait is the other work on the machine."""
    wall, cpu, waiting = [], [], []
    for _ in range(runs):
        w, c, q = time.perf_counter(), time.process_time(), run_queue_wait()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
        waiting.append(run_queue_wait() - q)
    FASTEST[:] = [min(wall)]
    WAITING[:] = [statistics.median(waiting)]
    return statistics.median(wall), statistics.median(cpu)


def annex_for(page_count: int) -> list:
    """Enough usage rows for a document of `page_count` pages (invoice + annex)."""
    doc = specimens.invoice()
    rows = 57 * (page_count - 1)
    for _ in range(6):
        got = pages(render_pdf(doc, annex=specimens.annex_rows(rows)))
        if got == page_count:
            break
        rows += (page_count - got) * 50 if abs(page_count - got) > 1 else (page_count - got) * 8
    return specimens.annex_rows(rows)


def throughput(processes: int) -> float:
    ctx = multiprocessing.get_context("spawn")  # WeasyPrint is loaded after the start
    with ctx.Pool(processes, initializer=warm_up) as pool:
        pool.map(one_invoice, range(processes * 2))  # warm every worker
        start = time.perf_counter()
        pool.map(one_invoice, range(THROUGHPUT_INVOICES), chunksize=4)
        rate = THROUGHPUT_INVOICES / (time.perf_counter() - start)
        return rate, max(pool.map(worker_peak, range(processes), chunksize=1))


def peak_rss_mib() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss it restarts at exec, so a
    spawned worker does not report the parent's peak)."""
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def worker_peak(_: int) -> float:
    time.sleep(0.2)  # one call per worker
    return peak_rss_mib()


def main() -> None:
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
          f" on {os.cpu_count()} CPUs")  # fmt: skip
    doc = specimens.invoice()
    fiscal = specimens.fiscal(doc)
    first = time.perf_counter()
    pdf = render_pdf(doc, fiscal=fiscal)
    print(f"first render in a fresh process (builds the engine): "
          f"{(time.perf_counter() - first) * 1000:.0f} ms")  # fmt: skip
    assert pages(pdf) == 1
    wall, cpu = timed(lambda: render_pdf(doc, fiscal=fiscal), ONE_PAGE_RUNS)
    print(f"one-page invoice: median {wall * 1000:.1f} ms wall, {cpu * 1000:.1f} ms CPU, "
          f"{WAITING[0] * 1000:.1f} ms waiting for a CPU, "
          f"fastest {FASTEST[0] * 1000:.1f} ms ({ONE_PAGE_RUNS} renders, "
          f"{len(pdf) / 1024:.0f} KiB each)")  # fmt: skip
    sw, _ = timed(lambda: render_pdf(doc, fiscal=fiscal, language="sw"), ONE_PAGE_RUNS // 3)
    print(f"one-page invoice in Swahili: median {sw * 1000:.1f} ms wall")
    naive, naive_cpu = timed(lambda: naive_render(doc, fiscal), ONE_PAGE_RUNS // 3)
    print(
        f"the same invoice rendered naively: median {naive * 1000:.1f} ms wall, "
        f"{naive_cpu * 1000:.1f} ms CPU (the engine is {naive_cpu / cpu:.1f}x faster)"
    )
    print(f"RSS after {ONE_PAGE_RUNS + ONE_PAGE_RUNS // 3 * 2 + 1} renders: {rss_mib():.0f} MiB")

    rows = annex_for(ANNEX_PAGES)
    big = render_pdf(doc, fiscal=fiscal, annex=rows)
    wall, cpu = timed(lambda: render_pdf(doc, fiscal=fiscal, annex=rows), ANNEX_RUNS)
    print(f"{pages(big)}-page document ({len(rows)} usage rows): median {wall:.2f} s wall, "
          f"{cpu:.2f} s CPU, fastest {FASTEST[0]:.2f} s, {wall / pages(big) * 1000:.0f} ms "
          f"a page ({ANNEX_RUNS} renders, {len(big) / 1024:.0f} KiB)")  # fmt: skip
    in_process_peak = peak_rss_mib()

    worker_peaks = []
    for processes in (1, 2):
        rate, peak = throughput(processes)
        worker_peaks.append(peak)
        print(f"throughput, {processes} process{'es' if processes > 1 else ''}: "
              f"{rate:.1f} invoices/s ({THROUGHPUT_INVOICES} one-page invoices)")  # fmt: skip
    print(f"peak RSS: {in_process_peak:.0f} MiB in this process (after the annex), "
          f"{max(worker_peaks):.0f} MiB in the largest worker "
          f"(one-page invoices only)")  # fmt: skip
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
