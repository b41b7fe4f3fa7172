"""The command starts without SymPy or NumPy for --help and --version, and lists every subcommand."""

import subprocess
import sys
from pathlib import Path

import pytest

from derive.cli import _PLUGIN_COMMANDS, build_parser

ROOT = Path(__file__).resolve().parent.parent
PROBE = ("import sys, runpy; sys.argv = ['derive', {arg!r}]\n"
         "try:\n    runpy.run_module('derive', run_name='__main__')\nexcept SystemExit:\n    pass\n"
         "print('HEAVY', sorted(m for m in ('sympy', 'numpy', 'derive.check') if m in sys.modules))")


@pytest.mark.parametrize("arg", ["--help", "--version"])
def test_help_and_version_import_no_heavy_module(arg):
    out = subprocess.run([sys.executable, "-c", PROBE.format(arg=arg)], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""}, timeout=60)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_version_is_the_package_version():
    from derive import __version__

    out = subprocess.run([sys.executable, "-m", "derive", "--version"], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""}, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"derive {__version__}"


def test_listed_help_matches_each_subcommands_own():
    # The one-line help shown without importing a plugin is the same as the plugin registers.
    listed = build_parser(["--help"])._subparsers._group_actions[0]
    full = build_parser()._subparsers._group_actions[0]
    helps = lambda action: {c.dest: c.help for c in action._choices_actions}  # noqa: E731
    assert set(helps(listed)) == set(helps(full))
    for name in _PLUGIN_COMMANDS:
        assert helps(listed)[name] == helps(full)[name], name


def test_lazy_package_exports_resolve():
    import derive

    for name in derive.__all__:
        assert getattr(derive, name) is not None, name
    assert callable(derive.gradcheck)
    with pytest.raises(AttributeError):
        derive.no_such_name
