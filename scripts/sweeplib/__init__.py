"""The pieces of scripts/sweep (docs/sweeps.md), one concept per module:

sweep_file  reads a sweep file and expands it into runs (names, commands)
run_dir     what state a run directory is in (finished, resumable, partial)
launcher    validates runs with `mixlab train --check`, runs them in parallel
results     the results table (CSV and Markdown), with a best-over reduction
slurm       the sbatch job-array script and its runs list
"""
