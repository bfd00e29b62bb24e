"""The plugin system: built-ins through the hook, entry points, broken and clashing plugins."""

import inspect
import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from reportgen import hookspecs, plugins
from reportgen.errors import ExportError, PluginError, UsageError

ROOT = Path(__file__).resolve().parent.parent


GOOD = """
from reportgen.hookspecs import Exporter, hookimpl

def write(report, fp, ctx):
    fp.write(b"total " + str(report.totals.quota).encode())

@hookimpl
def register_exporters(register):
    register(Exporter(name="total", extension="txt", description="The net quota", write=write))
"""


def test_builtins_register_through_the_same_hook(fresh_plugins, monkeypatch):
    """Each built-in exporter is registered by its module's ``register_exporters``, called through
    the plugin manager like a third-party plugin's, and comes from nowhere else."""
    found = plugins.exporters()
    builtin = {name for name, e in found.items() if e.plugin == plugins.BUILTIN}
    assert builtin == {"claim", "csv", "csv-summary", "focus", "html", "pdf", "xlsx"}
    implementers = [plugins.pm.get_name(i.plugin) for i in plugins.pm.hook.register_exporters.get_hookimpls()]
    assert implementers and set(implementers) <= set(
        plugins.DEFAULT_PLUGINS
    )  # the hook's only implementations
    registered: list = []
    for module_name in implementers:
        module = sys.modules[module_name]
        assert plugins.pm.get_plugin(module_name) is module
        own: list = []
        module.register_exporters(own.append)
        for exporter in own:  # what the module registers is what the registry holds, its own writer
            assert found[exporter.name].write is exporter.write
            assert exporter.write.__module__.startswith(module_name)
        registered += own
    assert {e.name for e in registered} == builtin
    # a built-in module not loaded as a plugin takes its exporters with it: no other way in
    monkeypatch.setattr(
        plugins, "DEFAULT_PLUGINS", tuple(n for n in plugins.DEFAULT_PLUGINS if not n.endswith(".pdf"))
    )
    plugins.reset_for_tests()
    assert set(plugins.exporters()) == builtin - {"pdf", "claim"}


def test_entry_point_plugin_is_found_with_its_name(fresh_plugins):
    fresh_plugins("rg_total", GOOD)
    found = plugins.exporters()
    assert found["total"].plugin == "rg_total"
    assert plugins.select_exporters("total,csv")[0].name == "total"


def test_broken_plugin_is_skipped_with_one_line(fresh_plugins, capsys):
    fresh_plugins("rg_broken", "raise RuntimeError('boom')\n")
    fresh_plugins("rg_total", GOOD)
    found = plugins.exporters()
    assert "total" in found
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rg_broken" in err[0] and "boom" in err[0]


def test_broken_plugin_is_fatal_when_strict(fresh_plugins, monkeypatch):
    monkeypatch.setenv("REPORTGEN_PLUGINS_STRICT", "1")
    fresh_plugins("rg_broken", "import no_such_module_anywhere\n")
    with pytest.raises(PluginError, match="rg_broken"):
        plugins.exporters()


def test_misspelt_hook_fails_loudly(fresh_plugins):
    fresh_plugins(
        "rg_typo",
        "from reportgen.hookspecs import hookimpl\n\n@hookimpl\ndef register_exporter(register):\n    pass\n",
    )
    with pytest.raises(PluginError, match="register_exporter"):
        plugins.exporters()


def test_two_exporters_with_one_name_name_both_plugins(fresh_plugins):
    fresh_plugins("rg_one", GOOD)
    fresh_plugins("rg_two", GOOD)
    with pytest.raises(PluginError, match="rg_one.*rg_two|rg_two.*rg_one"):
        plugins.exporters()


def test_load_plugins_env_chooses(fresh_plugins, monkeypatch):
    monkeypatch.setenv("REPORTGEN_LOAD_PLUGINS", "")
    fresh_plugins("rg_total", GOOD)
    assert "total" not in plugins.exporters()


def test_unknown_format_suggests_and_lists(fresh_plugins):
    with pytest.raises(UsageError, match=r"did you mean 'xlsx'.*installed: .*csv"):
        plugins.select_exporters("xslx")


def test_every_hook_is_documented_with_its_exact_signature():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    hooks = [name for name in dir(hookspecs) if getattr(getattr(hookspecs, name), "reportgen_spec", None)]
    assert hooks == [
        "register_columns",
        "register_exporters",
        "register_flavors",
        "register_packet_documents",
        "report_prepared",
    ]
    for name in hooks:
        sig = inspect.signature(getattr(hookspecs, name))
        params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
        signature = f"{name}({params}) -> {sig.return_annotation}"
        assert signature in readme, f"README does not document the hook: {signature}"
        assert inspect.getdoc(getattr(hookspecs, name))


def test_report_prepared_hook_sees_the_report(fresh_plugins, tmp_path):
    fresh_plugins(
        "rg_audit",
        """
        from reportgen.hookspecs import hookimpl
        from reportgen.errors import ExportError
        SEEN = []

        @hookimpl
        def report_prepared(report, context):
            SEEN.append((report.period.label, context.lang))
            if report.member_filter == "blocked":
                raise ExportError("audit plugin refused")
        """,
    )
    from reportgen.app.export import export_report
    from reportgen.config import Config
    from reportgen.core.aggregate import aggregate_records
    from reportgen.core.periods import parse_period

    config = Config(timezone="UTC", members={"blocked": ("k",)})
    period = parse_period("2026-04", config.tz)
    report = aggregate_records([], period=period, config=config)
    export_report(report, plugins.select_exporters("csv"), tmp_path / "out", lang="en")
    assert sys.modules["rg_audit"].SEEN == [("2026-04", "en")]
    blocked = aggregate_records([], period=period, config=config, member="blocked")
    with pytest.raises(ExportError, match="audit plugin refused"):
        export_report(blocked, plugins.select_exporters("csv"), tmp_path / "out2", lang="en")
    assert not list((tmp_path / "out2").glob("*")) if (tmp_path / "out2").exists() else True


@pytest.mark.slow
def test_example_plugin_installs_and_is_used(tmp_path):
    """Install plugins/reportgen-markdown into a venv with pip and use it through the CLI."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # The new venv sees this test run's packages (reportgen itself included) through a
    # site dir, so only the plugin is installed into it, the way a user would.
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    ours = sysconfig.get_paths()["purelib"]
    (Path(purelib) / "_reportgen_test_parent.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps",
         str(ROOT / "plugins" / "reportgen-markdown")],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    env = {**os.environ, "REPORTGEN_PLUGINS_STRICT": "1"}
    listed = subprocess.run(
        [python, "-m", "reportgen", "exporters", "--json"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["markdown"]["plugin"] == "reportgen-markdown"
    assert rows["markdown"]["version"] == "0.1.0"
    out = tmp_path / "demo"
    subprocess.run([python, "-m", "reportgen", "demo", "--out", str(out), "--lang", "en"],
                   check=True, capture_output=True, text=True, env=env)  # fmt: skip
    page = next((out / "reports").glob("*.md")).read_text(encoding="utf-8")
    assert "张三" in page and "## Members" in page


RAISES = """
from reportgen.hookspecs import hookimpl

@hookimpl
def register_exporters(register):
    raise RuntimeError("kaput")
"""


def test_plugin_raising_in_register_exporters_costs_one_line(fresh_plugins, capsys):
    fresh_plugins("rg_raises", RAISES)
    fresh_plugins("rg_total", GOOD)
    found = plugins.exporters()
    assert {"total", "csv", "xlsx", "pdf"} <= set(found)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rg_raises" in err[0] and "kaput" in err[0]


def test_plugin_raising_in_register_exporters_is_fatal_when_strict(fresh_plugins, monkeypatch):
    monkeypatch.setenv("REPORTGEN_PLUGINS_STRICT", "1")
    fresh_plugins("rg_raises", RAISES)
    with pytest.raises(PluginError, match="rg_raises.*kaput"):
        plugins.exporters()


def test_plugin_registering_a_wrong_object_is_skipped(fresh_plugins, capsys):
    fresh_plugins(
        "rg_wrong",
        "from reportgen.hookspecs import hookimpl\n\n@hookimpl\ndef register_exporters(register):\n"
        "    register({'name': 'dict'})\n",
    )
    assert "dict" not in plugins.exporters()
    err = capsys.readouterr().err
    assert "rg_wrong" in err and "not an Exporter" in err


def test_trace_shows_which_plugin_registered_what(fresh_plugins, monkeypatch, capsys):
    monkeypatch.setenv("REPORTGEN_TRACE_PLUGINS", "1")
    fresh_plugins("rg_total", GOOD)
    plugins.exporters()
    err = capsys.readouterr().err
    assert "plugin 'rg_total' registered exporter 'total'" in err
    assert "plugin 'reportgen' registered exporter 'csv'" in err


def test_exporters_command_lists_the_rest_when_a_plugin_raises(fresh_plugins):
    from click.testing import CliRunner

    from reportgen.cli import cli

    fresh_plugins("rg_raises", RAISES)
    result = CliRunner().invoke(cli, ["exporters"])
    assert result.exit_code == 0, result.output
    assert "csv" in result.stdout and "Traceback" not in result.output
    assert "rg_raises" in result.stderr and len(result.stderr.strip().splitlines()) == 1
