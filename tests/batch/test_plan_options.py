"""`batch plan` checks `[action.options]` as the command line would: same refusals, same words.

The reference is the command itself: each bad option is given to `overmix <command>` on the
command line and to a job's `[action.options]`; both must stop with exit status 2 and the
same one-line message (the batch names the action in front of it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import overmix
from overmix.cli import main
from overmix.errors import UsageError


def _cli_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The `overmix: error:` message of a command line that must be refused as usage."""
    try:
        rc = main(argv)
    except SystemExit as exc:  # refused by argparse itself
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("overmix: error: ") and err.count("\n") == 1, err
    return err.removeprefix("overmix: error: ").strip()


def _plan_error(tmp_path: Path, command: str, option_lines: str,
                capsys: pytest.CaptureFixture[str]) -> str:
    (tmp_path / "ep0.mkv").write_bytes(b"not decoded by plan")
    job = tmp_path / "job.toml"
    job.write_text(f'output = "out"\ninputs = ["ep0.mkv"]\nscenes = [[0, 8]]\n[[action]]\n'
                   f'command = "{command}"\noutput = "{{stem}}/x.png"\n[action.options]\n'
                   f"{option_lines}\n")
    rc = main(["batch", "plan", str(job)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("overmix: error: ") and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()
    return err.strip()


@pytest.mark.parametrize(("command", "toml", "words", "expected"), [
    ("stitch", 'rendr = "median"', ["--rendr", "median"], "unrecognized arguments: --rendr"),
    ("stitch", "scale = -3", ["--scale", "-3"], "--scale must be greater than 1 (got -3"),
    ("stitch", "scale = 9.5", ["--scale", "9.5"], "--scale 9.5 is absurd: at most 8x"),
    ("stitch", 'render = "medain"', ["--render", "medain"], "invalid choice: 'medain'"),
    ("stitch", "frames = 0", ["--frames", "0"], "--frames must be >= 1 (got 0)"),
    ("stitch", "border = -1", ["--border", "-1"], "--border must be >= 0 (got -1)"),
    ("stitch", 'animation = "x"', ["--animation", "x"], "--animation must be auto, off or"),
    ("stitch", 'dedup_threshold = "many"', ["--dedup-threshold", "many"],
     "invalid number: 'many'"),
    ("stitch", 'save_project = "p.png"', ["--save-project", "p.png"],
     "--save-project must end in .xml.overmix"),
    ("dump", "level = 12", ["--level", "12"], "level 12 is outside 0-9"),
    ("convert", "depth = 12", ["--depth", "12"], "invalid choice: 12"),
])
def test_plan_refuses_what_the_command_refuses(tmp_path, capsys, command, toml, words,
                                               expected) -> None:
    out = "x.png" if command != "dump" else "dumps"
    cli = _cli_error([command, str(tmp_path / "in.mkv"), "-o", str(tmp_path / out), *words],
                     capsys)
    assert expected in cli
    plan = _plan_error(tmp_path, command, toml, capsys)
    assert plan.endswith(f"[action.options] of {command}: {cli}"), (plan, cli)


def test_plan_accepts_good_options(tmp_path, capsys) -> None:
    (tmp_path / "ep0.mkv").write_bytes(b"x")
    (tmp_path / "job.toml").write_text(
        'output = "out"\ninputs = ["ep0.mkv"]\nscenes = [[0, 8]]\n[[action]]\n'
        'command = "stitch"\noutput = "{stem}.png"\n[action.options]\n'
        'render = "sigma-clip"\nscale = 2\nmotion = "x"\nanimation = 2\ndedup = true\n')
    assert main(["batch", "plan", str(tmp_path / "job.toml"), "--json"]) == 0
    assert '"--render",\n' in capsys.readouterr().out


def test_api_keywords_are_checked_with_the_same_words(tmp_path, capsys) -> None:
    cli = _cli_error(["stitch", str(tmp_path / "in.mkv"), "-o", str(tmp_path / "o.png"),
                      "--scale", "-3"], capsys)
    with pytest.raises(UsageError) as exc:
        overmix.stitch(tmp_path / "in.mkv", tmp_path / "o.png", scale=-3.0)
    assert str(exc.value) == cli
    with pytest.raises(UsageError, match="unknown option.*rendr"):
        overmix.stitch(tmp_path / "in.mkv", tmp_path / "o.png", rendr="median")
    with pytest.raises(UsageError, match="--motion must be one of xy, x, y"):
        overmix.align(tmp_path / "in.mkv", motion="diagonal")
    with pytest.raises(UsageError, match="--level"):
        overmix.dump(tmp_path / "in.mkv", tmp_path / "d", level=12)
