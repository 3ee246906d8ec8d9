"""The CLI frame: one-line errors, exit codes, --quiet in either place."""

import pytest

from overmix.cli import main


def test_usage_error_is_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["stitch", "--render", "nonsense", "x.mkv", "-o", "y.png"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("overmix: error:")


def test_missing_input_is_one_line_exit_1(tmp_path, capsys):
    rc = main(["convert", str(tmp_path / "missing.mkv"), "-o", str(tmp_path / "o.png")])
    assert rc == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("overmix: error:")
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("argv", [["--quiet", "info"], ["info", "--quiet"], ["-q", "info"]])
def test_quiet_before_or_after_the_command(argv, tmp_path, capsys):
    assert main([*argv, str(tmp_path / "missing.dump")]) == 1


def test_unexpected_exception_is_one_line(monkeypatch, capsys):
    import overmix.cli.info as info

    def boom(args, ui):
        raise ZeroDivisionError("x")

    monkeypatch.delenv("OVERMIX_DEBUG", raising=False)
    monkeypatch.setattr(info, "run", boom)
    rc = main(["info", "whatever"])
    assert rc == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "internal error" in err[0]
