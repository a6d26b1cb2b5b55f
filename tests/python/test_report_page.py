"""`prep report`'s page in a real browser: Debian's headless Chromium, driven
by Selenium through chromedriver (tests/run.sh installs both). The page
loads from a file:// URL with no console message and no request but its
own, its numbers as the browser renders them equal prep's (the fitted
statistics of `prep export-sklearn`, the missing values of the data), and
a screenshot is taken."""

import json
import os
import shutil
import subprocess

import pandas as pd
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = os.path.join(ROOT, "examples", "penguins", "penguins.yml")
DATA = os.path.join(ROOT, "examples", "penguins", "penguins.csv")
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"

# What the rendered page shows: per feature, its fitted statistics and its caption.
READ_PAGE = """
return Array.from(document.querySelectorAll('h2')).map(h => {
  let table = h.nextElementSibling;
  let rows = Array.from(table.querySelectorAll('tr')).slice(1).map(
    tr => Array.from(tr.querySelectorAll('td')).map(td => td.innerText));
  let captions = [];
  for (let e = table.nextElementSibling; e && e.tagName !== 'H2'; e = e.nextElementSibling) {
    e.querySelectorAll('figcaption').forEach(c => captions.push(c.innerText));
  }
  let shares = [];
  for (let e = table.nextElementSibling; e && e.tagName !== 'H2'; e = e.nextElementSibling) {
    if (e.classList.contains('shares')) shares.push(e.innerText);
  }
  return {feature: h.querySelector('code').innerText, rows: rows, captions: captions, shares: shares};
});
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER), (
        "the report test needs Debian's chromium and chromium-driver (tests/run.sh installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # No background traffic of Chromium's own: every request logged is the page's.
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--window-size=1200,2400", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def encoder_shares(values, step):
    """Of a column's non-missing values: how many are not among the encoder's
    categories_, and how many are among its infrequent_categories_."""
    values = values.dropna()
    known = [c for c in step["attributes"]["categories_"] if c is not None]
    infrequent = step["attributes"].get("infrequent_categories_") or []
    return int((~values.isin(known)).sum()), int(values.isin(infrequent).sum())


def as_shown(text):
    """A fitted value as the page writes it: numbers in the shortest text that
    reads back as the same double, lists (categories) and null as JSON, a
    fill text as itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def run(prep_bin, *args, cwd):
    done = subprocess.run([prep_bin, *args], capture_output=True, text=True, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_report_page_shows_prep_s_numbers_offline_and_without_errors(prep_bin, browser, tmp_path):
    fitted = tmp_path / "penguins.fitted.yml"
    page = tmp_path / "penguins.html"
    # Fitted without one island: its rows are unknown to the island encoder.
    data = pd.read_csv(DATA)
    train = tmp_path / "train.csv"
    data[data["island"] != "Torgersen"].to_csv(train, index=False)
    run(prep_bin, "fit", SPEC, "--data", str(train), "--out", str(fitted), cwd=tmp_path)
    run(prep_bin, "report", SPEC, "--data", DATA, "--params", str(fitted), "--out", str(page), cwd=tmp_path)
    url = page.as_uri()
    for log in ("browser", "performance"):
        browser.get_log(log)  # what Chromium did before the page (its new tab page)
    browser.get(url)
    shown = browser.execute_script(READ_PAGE)

    console = browser.get_log("browser")
    assert console == [], console
    requests = [json.loads(entry["message"])["message"] for entry in browser.get_log("performance")]
    urls = [m["params"]["request"]["url"] for m in requests if m["method"] == "Network.requestWillBeSent"]
    assert urls == [url], urls

    screenshot = tmp_path / "report.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 10_000

    export = json.loads(run(prep_bin, "export-sklearn", SPEC, "--params", str(fitted), cwd=tmp_path))
    # Every feature, in the spec's order.
    assert [f["feature"] for f in shown] == list(yaml.safe_load(open(SPEC))["features"])
    assert sorted(f["feature"] for f in shown) == sorted(export["features"])
    checked = encoders = 0
    for feature in shown:
        name = feature["feature"]
        values = {(int(step), attribute): as_shown(text) for step, _, attribute, text in feature["rows"]}
        for k, step in enumerate(export["features"][name], start=1):
            for attribute, value in step["attributes"].items():
                assert values.pop((k, attribute)) == value, (name, attribute)
                checked += isinstance(value, float)
        assert values == {}, values
        shares = [encoder_shares(data[name], step) for step in export["features"][name] if "categories_" in step["attributes"]]
        if shares:
            unknown, infrequent = shares[0]
            assert feature["shares"] == [
                f"Encoder: {unknown} of {len(data)} rows ({100 * unknown / len(data):.1f}%) hold a category it did not "
                f"learn (unknown); {infrequent} of {len(data)} rows ({100 * infrequent / len(data):.1f}%) one it "
                "groups as infrequent."], feature["shares"]
            encoders += 1
        else:
            assert feature["shares"] == []
        missing = int(data[name].isna().sum())
        source = f"source {name}: {missing} of {len(data)} rows missing"
        assert any(c.startswith(source) for c in feature["captions"]), (source, feature["captions"])
    assert checked >= 10 and encoders == 3, (checked, encoders)
    unknown_islands = [f["shares"] for f in shown if f["feature"] == "island"][0][0]
    assert unknown_islands.startswith(f"Encoder: {int((data['island'] == 'Torgersen').sum())} of ")


READ_DRIFT = """
let h = Array.from(document.querySelectorAll('h2')).find(h => h.innerText.startsWith('Drift'));
return Array.from(h.nextElementSibling.querySelectorAll('tr')).slice(1).map(
  tr => Array.from(tr.querySelectorAll('td')).map(td => td.innerText));
"""


def test_the_drift_figures_on_the_page_are_prep_drift_s(prep_bin, browser, tmp_path):
    """With --compare, the page shows the drift check's every figure, as
    `prep drift` prints it for the same rows and statistics."""
    spec = tmp_path / "penguins.yml"
    spec.write_text(open(SPEC).read() + "drift: {}\n")
    data = pd.read_csv(DATA)
    late = tmp_path / "late.csv"
    data[data["year"] == 2009].to_csv(late, index=False)
    fitted, page = tmp_path / "p.fitted.yml", tmp_path / "p.html"
    run(prep_bin, "fit", str(spec), "--data", DATA, "--out", str(fitted), cwd=tmp_path)
    run(prep_bin, "report", str(spec), "--data", DATA, "--params", str(fitted), "--compare", str(late),
        "--out", str(page), cwd=tmp_path)
    for log in ("browser", "performance"):
        browser.get_log(log)
    browser.get(page.as_uri())
    shown = browser.execute_script(READ_DRIFT)
    assert browser.get_log("browser") == []
    printed = run(prep_bin, "drift", str(spec), "--data", str(late), "--params", str(fitted), cwd=tmp_path)
    rows = [[cell.strip() for cell in line.split("|")] for line in printed.splitlines()[2:] if "|" in line]
    expected = sorted((f, m, float(v), float(t), s) for f, m, v, t, s in rows)
    assert len(expected) >= 20
    assert sorted((f, m, float(v), float(t), s) for f, m, v, t, s in shown) == expected
