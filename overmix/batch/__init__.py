"""Many scenes at once on Dask: job files, plans, a resumable manifest and the runner (issue 8).

A **job** (TOML or JSON) names inputs (files or globs), the scenes of each (explicit
``start``/``end`` ranges, ``"auto"`` for the scenes the detector finds, or the whole input) and
what to do with every scene (``dump``, ``convert``, ``stitch`` with their command-line options),
plus where outputs go (a path template below the output root)::

    output = "out"                      # output root, relative to the job file
    inputs = ["clips/*.mkv"]            # files or globs, relative to the job file
    scenes = "auto"                     # default for every input: "auto", a list, or absent

    [[input]]                           # per-input settings (optional, in addition)
    path = "special.mp4"
    scenes = [{start = 0, end = 120}, [120, 300]]

    [[action]]
    command = "stitch"
    output = "{stem}/scene-{scene:03d}.png"
    [action.options]                    # command-line options without the dashes
    render = "median"
    depth = 16

Template fields: ``stem``, ``name`` (file name), ``ext``, ``input`` (0-based input number),
``scene`` (0-based scene number), ``start``, ``end``, ``command``.

Options that name files the command reads (``mask``, ``offsets``, ``logo``) are taken relative
to the job file's folder. Options that name extra files a command writes (``save_offsets``,
``save_project``, ``extract_overlay``) take a file name (a template, e.g.
``"{stem}-{scene:03d}.json"``): the file is written beside the task's main output, through the
same staging folder, and recorded in the manifest with it.

How a task runs
---------------
Every task is one command line, ``python -m overmix -q COMMAND INPUT -o OUT --start A --end B
[options]``, started by a Dask worker as a **subprocess**. This is deliberate:

- *identical output by construction*: a batch result is the output of the very command a user
  would type, with the same code path and options parsing (``overmix.batch`` sits below
  ``overmix.cli`` in the layer contract and may not call it in-process);
- *crash isolation*: a decoder crash or an out-of-memory kill ends one subprocess, not the
  worker and the tasks it holds;
- *no frames on the network*: each command decodes only its own range (frame-accurate seek),
  tasks carry a few hundred bytes of arguments and results.

The price is an interpreter start and imports per task (about a second, measured by
``tools/bench_batch.py``), small next to decoding and stitching a scene.

A command writes into a private staging folder (``.overmix-batch/`` below the output root,
one per attempt); only when it exits with status 0 are its files moved into place with
``os.replace``, so outputs are always complete. The subprocess is tied to the life of its
worker (Linux ``PR_SET_PDEATHSIG``), so a killed worker leaves no orphan writing files.
Tasks are idempotent: a retry after a lost worker (``retries``, and the scheduler's
allowed-failures) redoes the whole command into a fresh staging folder.

With ``--scheduler`` the workers run on other machines: inputs, the job's files and the
output folder must be at the same paths there (a shared filesystem), and overmix installed.

The **manifest** (``batch-manifest.json`` in the output root, rewritten atomically after each
finished task) records per task the input's size and mtime, the command, range and options
(their hash is the task's *key*), and the outputs with sizes and SHA-256. A rerun skips a task
whose key is unchanged and whose outputs are still there with their recorded sizes; a changed
input or option changes the key and the task runs again.

Modules: :mod:`~overmix.batch.job` (reading and validating the job file),
:mod:`~overmix.batch.plan` (tasks), :mod:`~overmix.batch.manifest` (``batch-manifest.json``),
:mod:`~overmix.batch.worker` (one task on a worker) and :mod:`~overmix.batch.runner` (Dask).
"""

from __future__ import annotations

from overmix.batch.job import COMMANDS, Action, InputSpec, Job, job_from_dict, load_job
from overmix.batch.manifest import (
    MANIFEST_NAME,
    STAGING_NAME,
    is_done,
    read_manifest,
    write_manifest,
)
from overmix.batch.plan import (
    INPUT_FILE_OPTIONS,
    OUT,
    OUTDIR,
    OUTPUT_FILE_OPTIONS,
    Plan,
    Problem,
    Task,
    detect_scenes,
    make_plan,
    options_argv,
)
from overmix.batch.runner import (
    RunReport,
    TaskResult,
    dashboard_link,
    import_distributed,
    run_job,
    serial_run,
    start_client,
)
from overmix.batch.worker import client_environment, default_program, detect_task, execute_task
from overmix.errors import OvermixError

__all__ = [
    "COMMANDS",
    "INPUT_FILE_OPTIONS",
    "MANIFEST_NAME",
    "OUT",
    "OUTDIR",
    "OUTPUT_FILE_OPTIONS",
    "STAGING_NAME",
    "Action",
    "InputSpec",
    "Job",
    "OvermixError",
    "Plan",
    "Problem",
    "RunReport",
    "Task",
    "TaskResult",
    "client_environment",
    "dashboard_link",
    "default_program",
    "detect_scenes",
    "detect_task",
    "execute_task",
    "import_distributed",
    "is_done",
    "job_from_dict",
    "load_job",
    "make_plan",
    "options_argv",
    "read_manifest",
    "run_job",
    "serial_run",
    "start_client",
    "write_manifest",
]
