"""The scheduler, in its own process (`flask scheduler run`), never inside a web worker.

`jobs.py` is the table of jobs; `lease.py` lets one scheduler act at a time; `runs.py` records
each run under a unique (job, slot); `process.py` runs them; `cli.py` is `flask scheduler`.
"""
