"""Reads a sweep file and expands it into runs (docs/sweeps.md).

A sweep file is INI:

    [sweep]
    base = ../mqar/quick.ini        # relative to the sweep file
    name = example                  # default: the sweep file's name
    seeds = 0,1,2                   # optional replicates
    seed_keys = train.seed, task.data_seed   # the keys a seed sets (this default)
    threads_per_run = 1             # --train.threads of every run
    jobs = 2                        # parallel runs (default: cores / threads_per_run)
    best_over = train.lr            # optional reduction for the extra table

    [grid]                          # the Cartesian product of these lines
    model.d_model = 64,128
    model.pattern = shortconv,mha | shortconv,retnet
    task.train_segments, train.batch_size =     # linked keys: varied together
        64:4:100000  512
        256:16:100000  256

    [fixed]                         # one value each, applied to every run
    train.max_steps = 200

    [figures]                       # optional: PNGs drawn by `mixlab plot` after each table
    accuracy.png = --figure accuracy --x model.d_model --line-by model.pattern

Grid values are split on `|` (or newlines) when the line holds one, else on
commas, so a value that itself contains commas (a hybrid pattern) is written
with `|` between values. A line naming several keys (comma-separated) links
them: each of its values (split on `|` or newlines) gives every key one
whitespace-separated part; a part `-` leaves that key at the base config's
value. [fixed] values are never split.
"""
import configparser
import itertools
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

# Keys the sweep sets itself: each run's name and directory, and its threads.
RESERVED_KEYS = {
    "train.name": "the sweep names each run from its grid values",
    "train.out_dir": "the sweep puts runs under <out>/<name>/runs (use --out)",
    "train.threads": "set threads_per_run in [sweep] instead",
}
DEFAULT_SEED_KEYS = ("train.seed", "task.data_seed")
SWEEP_KEYS = {"base", "name", "seeds", "seed_keys", "jobs", "threads_per_run", "best_over"}
UNSET = "-"  # a linked key's part that leaves the base config's value (not passed, not in the run name)
KEY_SHAPE = re.compile(r"^[A-Za-z0-9_]+\.[A-Za-z0-9_.]+$")


class SweepError(Exception):
    """A bad sweep file or command line: one line naming what is wrong."""


@dataclass
class Run:
    index: int
    name: str
    settings: dict  # column -> value text: every grid key, then "seed" when seeds are swept
    overrides: list  # (key, value) pairs passed to mixlab, fixed ones first
    run_dir: Path
    command: list  # argv of `mixlab train ...` (fresh start; resuming appends --resume)


@dataclass
class Sweep:
    path: Path
    name: str
    base: Path
    grid: dict = field(default_factory=dict)  # key -> [value, ...] in file order
    axes: list = field(default_factory=list)  # grid lines in file order: (key, ...) linked keys vary together
    fixed: dict = field(default_factory=dict)
    seeds: list = None  # [int] or None
    seed_keys: tuple = DEFAULT_SEED_KEYS
    threads_per_run: int = 1
    jobs: int = None
    best_over: str = None
    figures: dict = field(default_factory=dict)  # NAME.png -> [mixlab plot option, ...]

    def directory(self, out):
        """<out>/<name>: results tables, logs/, locks/, slurm/ and runs/."""
        return Path(out).resolve() / self.name

    def columns(self):
        """The table's setting columns: grid keys in file order, then seed."""
        return list(self.grid) + (["seed"] if self.seeds is not None else [])

    def runs(self, out, mixlab):
        """Every run of the grid x seeds, in a stable order (grid keys in file
        order, the last varying fastest, seeds innermost)."""
        runs_dir = self.directory(out) / "runs"
        labels = _labels(list(self.grid))
        seeds = self.seeds if self.seeds is not None else [None]
        runs, names = [], {}
        for choice in itertools.product(*(range(len(self.grid[keys[0]])) for keys in self.axes)):
            for seed in seeds:
                settings = {k: self.grid[k][i] for keys, i in zip(self.axes, choice) for k in keys}
                chosen = {k: v for k, v in settings.items() if v != UNSET}
                parts = [f"{labels[k]}={_sanitise(v)}" for k, v in chosen.items()]
                overrides = list(self.fixed.items()) + list(chosen.items())
                if seed is not None:
                    settings["seed"] = str(seed)
                    parts.append(f"seed={seed}")
                    overrides += [(k, str(seed)) for k in self.seed_keys]
                name = "-".join(parts) or "run"
                if name in names:
                    raise SweepError(f"{self.path}: runs {names[name]} and {settings} both get the name '{name}' "
                                     "(values differ only in characters replaced by '_')")
                names[name] = settings
                command = [str(mixlab), "train", str(self.base), f"--train.out_dir={runs_dir}",
                           f"--train.name={name}", f"--train.threads={self.threads_per_run}"]
                command += [f"--{k}={v}" for k, v in overrides]
                runs.append(Run(len(runs), name, settings, overrides, runs_dir / name, command))
        return runs


def _labels(keys):
    """Short column labels for run names: the part after the last dot, or the
    whole key where two keys share that part (mha.n_heads, swa.n_heads)."""
    short = [k.rsplit(".", 1)[1] for k in keys]
    return {k: s if short.count(s) == 1 else k for k, s in zip(keys, short)}


def _sanitise(value):
    """A value as a file-name-safe word: anything but letters, digits and
    . _ + - becomes '_' (shortconv,mha -> shortconv_mha)."""
    return re.sub(r"[^A-Za-z0-9._+-]", "_", value)


def split_values(text):
    """Grid values: split on | or newlines when present, else on commas."""
    parts = re.split(r"[|\n]", text) if re.search(r"[|\n]", text) else text.split(",")
    return [p.strip() for p in parts if p.strip()]


def _linked_values(path, line_key, keys, text):
    """The values of a line linking several keys: tuples, one per `|` or
    newline, of whitespace-separated parts, one per key."""
    values = [tuple(p.split()) for p in re.split(r"[|\n]", text) if p.strip()]
    for value in values:
        if len(value) != len(keys):
            raise SweepError(f"{path}: [grid] {line_key}: value '{' '.join(value)}' has {len(value)} parts for "
                             f"{len(keys)} linked keys (one part per key, separated by spaces; values separated "
                             "by | or new lines)")
    return values


def _figure_options(path, name, text):
    """A [figures] entry: a plain PNG file name and `mixlab plot` options
    (the sweep gives the runs, -o and --check itself)."""
    if not re.match(r"^[A-Za-z0-9._+-]+\.png$", name):
        raise SweepError(f"{path}: [figures] {name}: the name must be a plain file name ending in .png")
    try:
        options = shlex.split(" ".join(text.split("\n")))
    except ValueError as e:
        raise SweepError(f"{path}: [figures] {name}: {e}")
    for option in options:
        if option in ("-o", "--output", "--check") or option.startswith(("--output=", "-o")):
            raise SweepError(f"{path}: [figures] {name}: {option}: the sweep sets the output file itself")
    return options


def _check_key(where, key):
    if not KEY_SHAPE.match(key):
        raise SweepError(f"{where} {key}: not a mixlab option (expected section.key, e.g. model.d_model)")
    if key in RESERVED_KEYS:
        raise SweepError(f"{where} {key}: the sweep sets this key itself ({RESERVED_KEYS[key]})")


def _positive_int(path, key, text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise SweepError(f"{path}: [sweep] {key} = '{text}' is not a positive integer")
    return value


def load(path):
    """Parses and checks a sweep file; errors name the file, section and key."""
    path = Path(path)
    if not path.is_file():
        raise SweepError(f"sweep file '{path}' does not exist")
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",), comment_prefixes=("#", ";"),
                                       inline_comment_prefixes=None, empty_lines_in_values=False)
    parser.optionxform = str  # keys are case-sensitive, as in mixlab
    try:
        parser.read(str(path))
    except configparser.Error as e:
        raise SweepError(f"{path}: {' '.join(str(e).split())}")
    unknown = [s for s in parser.sections() if s not in ("sweep", "grid", "fixed", "figures")]
    if unknown:
        raise SweepError(f"{path}: unknown section [{unknown[0]}] (allowed: [sweep], [grid], [fixed], [figures])")
    if not parser.has_section("sweep"):
        raise SweepError(f"{path}: no [sweep] section (it names the base config: base = path/to/experiment.ini)")
    sweep_section = parser["sweep"]
    for key in sweep_section:
        if key not in SWEEP_KEYS:
            raise SweepError(f"{path}: [sweep] {key}: unknown key (allowed: {', '.join(sorted(SWEEP_KEYS))})")
    if not sweep_section.get("base"):
        raise SweepError(f"{path}: [sweep] base is missing (the experiment config the grid overrides)")
    base = (path.parent / sweep_section["base"]).resolve()
    if not base.is_file():
        raise SweepError(f"{path}: [sweep] base = {sweep_section['base']}: {base} does not exist")
    name = sweep_section.get("name", path.stem).strip()
    if not re.match(r"^[A-Za-z0-9._+-]+$", name) or name in (".", ".."):
        raise SweepError(f"{path}: [sweep] name = '{name}' must be a plain file name (letters, digits, . _ + -)")
    sweep = Sweep(path=path, name=name, base=base)

    if parser.has_section("grid"):
        for line_key, text in parser["grid"].items():
            keys = tuple(k.strip() for k in line_key.split(","))
            for key in keys:
                _check_key(f"{path}: [grid]", key)
                if key in sweep.grid or keys.count(key) > 1:
                    raise SweepError(f"{path}: [grid] {key} is named twice")
            values = split_values(text) if len(keys) == 1 else _linked_values(path, line_key, keys, text)
            if not values:
                raise SweepError(f"{path}: [grid] {line_key} has no values")
            if len(set(values)) != len(values):
                raise SweepError(f"{path}: [grid] {line_key} lists a value twice: {' '.join(text.split())}")
            sweep.axes.append(keys)
            for i, key in enumerate(keys):
                sweep.grid[key] = [v if len(keys) == 1 else v[i] for v in values]
    if parser.has_section("fixed"):
        for key, text in parser["fixed"].items():
            _check_key(f"{path}: [fixed]", key)
            if key in sweep.grid:
                raise SweepError(f"{path}: {key} is both in [grid] and in [fixed]")
            sweep.fixed[key] = text.strip()

    if parser.has_section("figures"):
        for name, text in parser["figures"].items():
            sweep.figures[name] = _figure_options(path, name, text)

    if "seed_keys" in sweep_section:
        sweep.seed_keys = tuple(k.strip() for k in sweep_section["seed_keys"].split(",") if k.strip())
        if not sweep.seed_keys:
            raise SweepError(f"{path}: [sweep] seed_keys is empty")
    if "seeds" in sweep_section:
        try:
            sweep.seeds = [int(s) for s in sweep_section["seeds"].split(",")]
        except ValueError:
            sweep.seeds = [-1]
        if any(s < 0 for s in sweep.seeds) or len(set(sweep.seeds)) != len(sweep.seeds):
            raise SweepError(f"{path}: [sweep] seeds = '{sweep_section['seeds']}' must be distinct integers >= 0")
        for key in sweep.seed_keys:
            _check_key(f"{path}: [sweep] seed_keys", key)
            if key in sweep.grid or key in sweep.fixed:
                raise SweepError(f"{path}: {key} is set by seeds (seed_keys) and also in [grid] or [fixed]")
    if "threads_per_run" in sweep_section:
        sweep.threads_per_run = _positive_int(path, "threads_per_run", sweep_section["threads_per_run"])
    if "jobs" in sweep_section:
        sweep.jobs = _positive_int(path, "jobs", sweep_section["jobs"])
    if sweep_section.get("best_over"):
        sweep.best_over = check_best_over(sweep, sweep_section["best_over"].strip())
    return sweep


def check_best_over(sweep, key):
    """The key a table reduces over must be one of its setting columns."""
    if key not in sweep.columns():
        allowed = ", ".join(sweep.columns()) or "none: the sweep has no grid"
        raise SweepError(f"best over '{key}': not a grid key of {sweep.path} (allowed: {allowed})")
    return key
