"""``overmix batch plan|run JOB``: many scenes at once on Dask (a thin layer over overmix.batch)."""

from __future__ import annotations

import argparse
from typing import Any

from overmix.cli._ui import UI, new_table
from overmix.commands.options import add_options, check_namespace


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "batch", help="run dump/convert/stitch over many scenes (Dask)",
        description="Plan or run a batch job (TOML or JSON) of dump/convert/stitch tasks, one "
                    "per scene, on a local Dask cluster or on a scheduler.",
    )
    sub = p.add_subparsers(dest="batch_command", metavar="plan|run")
    sub.required = True
    plan = sub.add_parser("plan", help="show the tasks a job would run")
    plan.add_argument("job", metavar="JOB", help="job file (.toml or .json)")
    add_options(plan, "batch plan")
    plan.set_defaults(func=run_plan)
    run = sub.add_parser("run", help="run a job")
    run.add_argument("job", metavar="JOB", help="job file (.toml or .json)")
    add_options(run, "batch run")
    run.set_defaults(func=run_run)


def run_plan(args: argparse.Namespace, ui: UI) -> int:
    from overmix import batch  # on use: other commands do not pay for its import

    job = batch.load_job(args.job)
    manifest = batch.read_manifest(job.output)
    with ui.progress() as progress:  # scenes detected by an earlier run are reused
        plan = batch.make_plan(job, scenes_cache=manifest.get("scenes"), progress=progress)
    done = {t.id for t in plan.tasks if batch.is_done(t, manifest, job.output)}
    if args.json:
        data = plan.to_json()
        for t in data["tasks"]:
            t["done"] = t["id"] in done
        ui.print_json(data)
        return 0
    table = new_table(title=f"{len(plan.tasks)} tasks -> {job.output}", show_lines=False)
    for col in ("task (output)", "input", "scene", "range", "state", "command"):
        table.add_column(col, overflow="fold")
    for t in plan.tasks:
        rng = f"{'' if t.start is None else t.start}..{'' if t.end is None else t.end}"
        cmd = " ".join(w if w != batch.OUT else "OUT" for w in t.argv[2:]).replace(
            batch.OUTDIR, "OUTDIR")
        table.add_row(t.id, _name(t.input), str(t.scene), rng,
                      "done" if t.id in done else "to do", f"{t.command} {cmd}")
    ui.out.print(table)
    for p in plan.problems:
        ui.warn(f"{p.id}: {p.reason}")
    return 0


def run_run(args: argparse.Namespace, ui: UI) -> int:
    from overmix import batch  # on use: other commands do not pay for its import

    check_namespace(args, "batch run")
    job = batch.load_job(args.job)

    def on_start(plan: batch.Plan, todo: list[batch.Task], dashboard: str | None) -> None:
        if dashboard:
            ui.note(f"Dask dashboard: {dashboard}")
        elif not args.scheduler:
            ui.note("Dask dashboard: not available (install bokeh to get one)")
        ui.note(f"{len(plan.tasks)} tasks, {len(todo)} to run, "
                f"{len(plan.tasks) - len(todo)} up to date")

    def on_result(r: batch.TaskResult) -> None:
        # one line per finished task (skipped ones are summed up in the table)
        if args.json or r.status == "skipped":
            return
        if r.status == "done":
            ui.note(f"done    {r.id} ({r.seconds:.1f} s)")
        else:
            ui.note(f"failed  {r.id}: {r.reason}")

    with ui.progress() as progress:
        report = batch.run_job(job, scheduler=args.scheduler, workers=args.workers,
                               force=args.force, progress=progress, on_start=on_start,
                               on_result=on_result, log=args.log)
    if args.json:
        ui.print_json(report.to_json())
    else:
        table = new_table(title=f"batch: {report.count('done')} done, {report.count('skipped')} "
                            f"skipped, {report.failed} failed in {report.seconds:.1f} s")
        for col in ("task (output)", "input", "status", "time", "reason"):
            table.add_column(col, overflow="fold")
        style = {"done": "green", "skipped": "dim", "failed": "red"}
        order = {"failed": 0, "done": 1, "skipped": 2}
        for r in sorted(report.results, key=lambda r: (order[r.status], r.id)):
            table.add_row(r.id, _name(r.input), f"[{style[r.status]}]{r.status}[/]",
                          f"{r.seconds:.1f} s" if r.status == "done" else "", r.reason)
        ui.out.print(table)
    if report.failed:
        ui.error(f"{report.failed} of {len(report.results)} tasks failed")
        return 1
    return 0


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]
