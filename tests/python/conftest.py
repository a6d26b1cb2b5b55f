import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402

from parity_report import REPORT  # noqa: E402


def pytest_terminal_summary(terminalreporter):
    if REPORT:
        terminalreporter.write_sep("=", "parity matrix (step x engine)")
        for line in REPORT.lines():
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def prep_bin():
    path = os.environ.get("PREP_BIN")
    if not path or not os.path.exists(path):
        pytest.fail("PREP_BIN must point at a built prep binary (the README's test command sets it)")
    return path
