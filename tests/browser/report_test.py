"""An audit report (`hearth audit report --html`) opened in headless Chromium (run by
tests/cli/report_browser.sh): every <canvas> holds a Chart.js chart whose numbers are the ones in
the report's embedded metrics JSON (read here by Python, not by the page), every chart has drawn
pixels, and the page logs no errors. Usage: report_test.py REPORT.html SCREENSHOT.png
"""
import json
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402

failures = []


def check(what, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + what + ("" if ok else ": " + str(detail)[:800]))
    if not ok:
        failures.append(what)
    return ok


KEYS = ["refusal", "soft", "slant", "full", "divergence"]


def expected_charts(html):
    """canvas id -> the datasets' numbers, from the metrics JSON embedded in the report."""
    m = re.search(r'<script type="application/json" id="hearth-metrics">(.*?)</script>', html, re.S)
    metrics = json.loads(m.group(1).replace("<\\/", "</"))
    want = {}
    for i, model in enumerate(metrics["models"]):
        if "worldview" in model:
            w = model["worldview"]
            want["wv-chart-%d" % i] = [[100 * w["probes"][k]["rate"] for k in KEYS],
                                       [100 * w["controls"][k]["rate"] for k in KEYS]]
        if "codesec" in model:
            c = model["codesec"]
            want["cs-chart-%d" % i] = [[100 * c["neutral"]["rate"], 100 * c["trigger"]["rate"]]]
    return want


# Per canvas: the chart's numbers and how many of its pixels are painted.
PROBE = """(() => [...document.querySelectorAll('canvas')].map(c => {
  const chart = window.Chart && Chart.getChart(c);
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let painted = 0, bars = 0;
  for (let i = 0; i < px.length; i += 4) {
    if (px[i + 3] > 0) painted++;
    // The report's bar colours, #c33 and #36c, fully opaque: pixels inside a drawn bar.
    if (px[i + 3] === 255 && ((px[i] === 204 && px[i + 1] === 51 && px[i + 2] === 51) ||
                              (px[i] === 51 && px[i + 1] === 102 && px[i + 2] === 204))) bars++;
  }
  return {id: c.id, chart: !!chart, type: chart ? chart.config.type : null,
          data: chart ? chart.data.datasets.map(d => d.data) : null,
          painted, bars, area: c.width * c.height};
}))()"""


def main(report, shot):
    html = Path(report).read_text(encoding="utf-8")
    want = expected_charts(html)
    check("the report has charts to draw (%d)" % len(want), len(want) >= 2, want)
    with cdp.Browser() as page:
        page.navigate(Path(report).resolve().as_uri())
        page.wait_for("document.readyState === 'complete' && !!window.Chart", what="Chart.js to load")
        # Chart.js animates its bars in; wait until every chart has painted a visible share.
        try:
            page.wait_for("(%s).every(c => c.chart && c.painted > c.area / 50)" % PROBE, timeout=20,
                          what="every chart to draw")
        except cdp.BrowserError as e:
            check("every chart drew", False, e)
        time.sleep(1.0)  # let the animation finish so the numbers below are the final picture
        got = {c["id"]: c for c in page.evaluate(PROBE)}
        check("every <canvas> is a chart the metrics call for", set(got) == set(want), (sorted(got), sorted(want)))
        for cid, numbers in sorted(want.items()):
            c = got.get(cid)
            if not check("%s is a Chart.js bar chart" % cid, bool(c and c["chart"] and c["type"] == "bar"), c):
                continue
            same = len(c["data"]) == len(numbers) and all(
                len(a) == len(b) and all(abs(x - y) < 1e-9 for x, y in zip(a, b)) for a, b in zip(c["data"], numbers))
            check("%s shows the embedded metrics %s" % (cid, numbers), same, c["data"])
            check("%s has drawn pixels (%d of %d)" % (cid, c["painted"], c["area"]), c["painted"] > c["area"] / 50)
            # The legend's colour boxes take under 500 pixels each (two at most); bars add thousands,
            # so an all-zero chart stays under 1,000 and one with a bar goes over 1,500.
            has_bars = any(x > 0 for row in numbers for x in row)
            check("%s has %s bar pixels (%d)" % (cid, "its" if has_bars else "no", c["bars"]),
                  c["bars"] > 1500 if has_bars else c["bars"] < 1000)
        page.evaluate("document.querySelector('canvas').scrollIntoView()")
        size = page.screenshot(shot)
        w, h = cdp.png_size(shot)
        check("screenshot %s (%dx%d, %d bytes)" % (shot, w, h, size), w >= 800 and size > 10000)
        check("no console errors or uncaught exceptions", not page.errors, page.errors)
    if failures:
        print("FAIL: %d check(s) failed: %s" % (len(failures), "; ".join(failures)))
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1], sys.argv[2]))
    except cdp.BrowserError as e:
        print("FAIL: " + str(e))
        sys.exit(1)
