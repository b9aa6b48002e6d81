"""The results table of a sweep: one row per run with its settings and the
final and best test metrics of its metrics.csv, written as CSV and as a
Markdown table with a caption line. `best_over(key)` keeps, for every setting
of the other columns, the value of key with the highest mean best test
accuracy over its seeds, with the seeds' spread."""
import csv
import json
import statistics
from pathlib import Path

from .run_dir import run_state
from .sweep_file import SweepError

METRIC_COLUMNS = ["status", "steps", "final_test_acc", "final_test_loss", "best_test_acc", "best_acc_step",
                  "min_test_loss", "tokens_per_s"]
STATUS_TEXT = {"finished": "finished", "resumable": "stopped", "partial": "incomplete", "new": "not run"}


def read_metrics(run_dir):
    """metrics.csv rows as dicts of floats; a row cut short by a kill is dropped."""
    path = Path(run_dir) / "metrics.csv"
    if not path.is_file():
        return []
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                rows.append({k: float(v) for k, v in row.items()})
            except (TypeError, ValueError):
                continue
    return rows


def median_tokens_per_s(run_dir):
    """The median of the tokens/s that metrics.jsonl records at each eval
    (training throughput over the steps since the previous eval); the step-0
    eval of the initial model follows no training and is left out."""
    path = Path(run_dir) / "metrics.jsonl"
    values = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
                if int(record["step"]) > 0:
                    values.append(float(record["tokens_per_s"]))
            except (ValueError, KeyError, TypeError):
                continue
    return statistics.median(values) if values else None


def run_row(run):
    row = {"run": run.name, **run.settings}
    try:
        state, _ = run_state(run.run_dir)
        row["status"] = STATUS_TEXT[state]
    except SweepError:
        row["status"] = "unreadable checkpoint"
    metrics = read_metrics(run.run_dir)
    if metrics:
        last = metrics[-1]
        best = max(metrics, key=lambda r: r["test_accuracy"])  # the first of equal maxima
        row.update(steps=int(last["step"]), final_test_acc=last["test_accuracy"], final_test_loss=last["test_loss"],
                   best_test_acc=best["test_accuracy"], best_acc_step=int(best["step"]),
                   min_test_loss=min(r["test_loss"] for r in metrics))
    row["tokens_per_s"] = median_tokens_per_s(run.run_dir)
    return row


def table(sweep, runs):
    """(columns, rows) in sweep order."""
    return ["run"] + sweep.columns() + METRIC_COLUMNS, [run_row(r) for r in runs]


SUMMARY_COLUMNS = ["n", "acc_mean", "acc_std", "acc_min", "acc_max", "mean_best_acc_step", "mean_min_test_loss",
                   "candidates", "mean_by_value"]


def _mean(values):
    return sum(values) / len(values) if values else None


def _replicates(group):
    """Statistics of best_test_acc over the runs of a group that have metrics:
    mean, sample standard deviation (n - 1; 0 for one run), min, max, n."""
    measured = [r for r in group if r.get("best_test_acc") is not None]
    acc = [r["best_test_acc"] for r in measured]
    return {"n": len(acc), "acc_mean": _mean(acc), "acc_std": statistics.stdev(acc) if len(acc) > 1 else (0.0 if acc else None),
            "acc_min": min(acc) if acc else None, "acc_max": max(acc) if acc else None,
            "mean_best_acc_step": _mean([r["best_acc_step"] for r in measured]),
            "mean_min_test_loss": _mean([r["min_test_loss"] for r in measured])}


def best_over(columns, rows, key):
    """One row per setting of the other setting columns (the seed column
    aside: seeds are replicates). Within a setting, the runs are grouped by
    their value of `key`; each group's runs (its seeds) give the mean, the
    sample standard deviation, min, max and n of best_test_acc; the value with
    the highest mean is kept (ties: lower mean min_test_loss, then sweep
    order), shown in the `key` column. `candidates` counts the values
    compared, `mean_by_value` lists every value's mean. Over `seed` itself,
    the best single run of each setting is kept."""
    replicates = "seed" in columns and key != "seed"
    settings = [c for c in columns[1:columns.index("status")] if c != key and not (replicates and c == "seed")]
    groups = {}
    for row in rows:
        groups.setdefault(tuple(row[c] for c in settings), {}).setdefault(row[key], []).append(row)
    reduced = []
    for setting, by_value in groups.items():
        stats = {value: _replicates(group) for value, group in by_value.items()}
        measured = [v for v in by_value if stats[v]["n"]]
        chosen = max(measured, key=lambda v: (stats[v]["acc_mean"], -stats[v]["mean_min_test_loss"])) if measured \
            else next(iter(by_value))
        means = "; ".join(f"{v}: {stats[v]['acc_mean']:.4f}" for v in by_value if stats[v]["n"])
        reduced.append({**dict(zip(settings, setting)), key: chosen, **stats[chosen], "candidates": len(measured),
                        "mean_by_value": means})
    return settings + [key] + SUMMARY_COLUMNS, reduced


def caption(sweep, rows, reduced_over=None):
    finished = sum(1 for r in rows if r["status"] == "finished")
    fixed = ", ".join(f"{k}={v}" for k, v in sweep.fixed.items())
    text = (f"Sweep {sweep.name}: base {sweep.base.name}" + (f", fixed {fixed}" if fixed else "") +
            f"; {len(rows)} runs, {finished} finished. final_* is the last eval, best_test_acc the highest test "
            "accuracy (at best_acc_step), min_test_loss the lowest test loss; tokens_per_s is the median "
            "training throughput over evals.")
    if reduced_over:
        seeds = sweep.seeds if reduced_over != "seed" else None
        text += (f" Best over {reduced_over}: for each setting of the other columns"
                 + (f", the runs of each {reduced_over} are its {len(seeds)} seeds ({', '.join(map(str, seeds))}): "
                    "acc_mean, acc_std (sample, n - 1), acc_min, acc_max and n of their best_test_acc;" if seeds else
                    ": acc_mean is the run's best_test_acc (n = 1);")
                 + f" the {reduced_over} with the highest acc_mean is kept (ties: lower mean_min_test_loss); "
                 f"candidates counts the {reduced_over} values compared, mean_by_value lists each one's acc_mean.")
    return text


def _text(value, column):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.0f}" if column == "tokens_per_s" else f"{value:.6g}"
    return str(value)


def write(directory, stem, columns, rows, caption_line):
    """Writes <stem>.csv and <stem>.md under `directory`; returns the Markdown."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / f"{stem}.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_text(row.get(c), c) for c in columns])

    def cell(row, c):
        value = row.get(c)
        if value is None:
            return "–"
        if isinstance(value, float) and c not in ("tokens_per_s", "mean_best_acc_step"):
            return f"{value:.4f}"
        if isinstance(value, float):
            return f"{value:.0f}"
        return _text(value, c).replace("|", "\\|")

    lines = [f"**Table.** {caption_line}", "", "| " + " | ".join(columns) + " |",
             "|" + "|".join("---:" if c in METRIC_COLUMNS[1:] + SUMMARY_COLUMNS[:-1] else "---" for c in columns) + "|"]
    lines += ["| " + " | ".join(cell(row, c) for c in columns) + " |" for row in rows]
    markdown = "\n".join(lines) + "\n"
    (directory / f"{stem}.md").write_text(markdown)
    return markdown


def write_tables(sweep, runs, out, reduce_over=None):
    """results.csv/.md, plus results_best_over_<key>.csv/.md when reducing.
    Returns the paths written and the last Markdown text."""
    directory = sweep.directory(out)
    columns, rows = table(sweep, runs)
    markdown = write(directory, "results", columns, rows, caption(sweep, rows))
    written = [directory / "results.csv", directory / "results.md"]
    if reduce_over:
        rcolumns, rrows = best_over(columns, rows, reduce_over)
        stem = f"results_best_over_{reduce_over}"
        markdown = write(directory, stem, rcolumns, rrows, caption(sweep, rows, reduce_over))
        written += [directory / f"{stem}.csv", directory / f"{stem}.md"]
    return written, markdown
