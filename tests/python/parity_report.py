"""Collects, per step kind and engine, how many cases ran and the worst error."""

from collections import defaultdict


class Report:
    def __init__(self):
        self.cells = defaultdict(lambda: {"cases": 0, "passed": 0, "max_rel": 0.0})
        self.engines = []
        self.not_executed = set()

    def __bool__(self):
        return bool(self.cells)

    def add(self, step, engine, passed, max_rel):
        cell = self.cells[(step, engine)]
        cell["cases"] += 1
        cell["passed"] += int(passed)
        cell["max_rel"] = max(cell["max_rel"], max_rel)
        if engine not in self.engines:
            self.engines.append(engine)

    def lines(self):
        steps = sorted({s for s, _ in self.cells})
        engines = sorted(self.engines)
        yield f"{'step':28}" + "".join(f"{e:>30}" for e in engines)
        for s in steps:
            row = f"{s:28}"
            for e in engines:
                c = self.cells.get((s, e))
                row += f"{'-':>30}" if not c else f"{c['passed']}/{c['cases']} passed, max rel {c['max_rel']:.1e}".rjust(30)
            yield row
        for d in sorted(self.not_executed):
            yield f"{d}: not executed here (no engine on this machine); its SQL is checked by sqlparser and snapshots"


REPORT = Report()
