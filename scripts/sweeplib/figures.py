"""The figures of a sweep: each entry of the sweep file's [figures] section,
`NAME.png = <mixlab plot options>`, is drawn by `mixlab plot` over the
sweep's runs into <out>/<name>/NAME.png after every results table, and listed
with its command as a caption in results.md."""
import shlex
import subprocess

from .sweep_file import SweepError


def plot_command(mixlab, sweep, out, name):
    sweep_dir = sweep.directory(out)
    return [str(mixlab), "plot", str(sweep_dir / "runs"), "-o", str(sweep_dir / name), *sweep.figures[name]]


def check_figures(sweep, out, mixlab):
    """`mixlab plot ... --check` for every figure: bad options fail before any run starts."""
    for name in sweep.figures:
        try:
            done = subprocess.run(plot_command(mixlab, sweep, out, name) + ["--check"], capture_output=True, text=True)
        except OSError as e:
            raise SweepError(f"cannot run {mixlab}: {e.strerror} (build mixlab, or pass --mixlab PATH)")
        if done.returncode != 0:
            message = " ".join((done.stderr.strip() or done.stdout.strip()).split())
            raise SweepError(f"{sweep.path}: [figures] {name}: mixlab rejects it: {message}")


def draw_figures(sweep, out, mixlab):
    """Draws every figure from the runs that have metrics; appends a caption per
    figure drawn to results.md. Returns (paths written, failure lines)."""
    sweep_dir = sweep.directory(out)
    written, failures, captions = [], [], []
    for name, options in sweep.figures.items():
        done = subprocess.run(plot_command(mixlab, sweep, out, name), capture_output=True, text=True)
        if done.returncode != 0:
            failures.append(f"[figures] {name}: " + " ".join((done.stderr.strip() or done.stdout.strip()).split()))
            continue
        written.append(sweep_dir / name)
        captions.append(f"\n![{name}]({name})\n\n**Figure.** `{name}`: `mixlab plot runs -o {name} "
                        f"{shlex.join(options)}` over the runs of this sweep.\n")
    results_md = sweep_dir / "results.md"
    if captions and results_md.is_file():
        results_md.write_text(results_md.read_text() + "".join(captions))
    return written, failures
