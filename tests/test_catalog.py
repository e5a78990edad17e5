"""Scenario discovery: order, titles, descriptions, broken files and the HTTP marker."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopviz import catalog


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_discovers_python_files_in_name_order_skipping_helpers(tmp_path: Path) -> None:
    write(tmp_path, "10_late.py", '"""Late"""\n')
    write(tmp_path, "02_second.py", '"""Second"""\n')
    write(tmp_path, "01_first.py", '"""First"""\n')
    write(tmp_path, "_helper.py", '"""Not a scenario"""\n')
    write(tmp_path, "notes.txt", "not a program\n")
    (tmp_path / "data.py").mkdir()  # a folder that happens to end in .py
    found = catalog.discover(tmp_path)
    assert [s.name for s in found] == ["01_first", "02_second", "10_late"]
    assert [s.path for s in found] == [tmp_path / f"{s.name}.py" for s in found]


def test_title_is_the_first_docstring_line_and_the_rest_describes(tmp_path: Path) -> None:
    write(
        tmp_path,
        "01_x.py",
        '"""Gather: three at once\n\nWatch the lanes.\nThey end together.\n"""\nimport asyncio\n',
    )
    (scenario,) = catalog.discover(tmp_path)
    assert scenario.title == "Gather: three at once"
    assert scenario.description == "Watch the lanes.\nThey end together."


def test_file_without_docstring_is_titled_by_its_name(tmp_path: Path) -> None:
    write(tmp_path, "05_bare.py", "import asyncio\n")
    (scenario,) = catalog.discover(tmp_path)
    assert (scenario.title, scenario.description) == ("05_bare", "")


def test_file_with_a_syntax_error_is_listed_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    write(tmp_path, "01_ok.py", f'"""Fine"""\nopen({str(marker)!r}, "w")\n')
    write(tmp_path, "02_broken.py", '"""Broken"""\n\ndef oops(:\n    pass\n')
    ok, broken = catalog.discover(tmp_path)
    assert ok.title == "Fine"
    assert broken.title == "02_broken"
    assert "syntax error" in broken.description
    assert "line 3" in broken.description
    assert broken.source.startswith('"""Broken"""')
    assert not marker.exists()  # docstrings are read with ast, the program never runs


def test_source_is_read_when_asked(tmp_path: Path) -> None:
    path = write(tmp_path, "01_x.py", '"""Old"""\n')
    (scenario,) = catalog.discover(tmp_path)
    path.write_text('"""New"""\n', encoding="utf-8")
    assert scenario.source == '"""New"""\n'


def test_needs_http_server_looks_for_the_marker_line(tmp_path: Path) -> None:
    with_marker = write(tmp_path, "a.py", '"""A"""\n# loopviz: needs-http-server\nimport x\n')
    mentioned = write(tmp_path, "b.py", 'print("# loopviz: needs-http-server")\n')
    without = write(tmp_path, "c.py", '"""C"""\n')
    assert catalog.needs_http_server(with_marker)
    assert not catalog.needs_http_server(mentioned)
    assert not catalog.needs_http_server(without)
    assert not catalog.needs_http_server(tmp_path / "missing.py")


def test_bundled_scenarios_are_numbered_and_titled() -> None:
    found = catalog.discover(catalog.bundled_folder())
    assert len(found) >= 17
    for scenario in found:
        assert scenario.name[:2].isdigit(), scenario.name
        assert scenario.title != scenario.name, f"{scenario.name} has no docstring title"
        assert scenario.description, f"{scenario.name} says nothing about what to watch"
    network = {s.name for s in found if catalog.needs_http_server(s.path)}
    assert "05_aiohttp_gather" in network
    assert "03_gather" not in network


def test_top_level_scenarios_folder_is_the_package_one() -> None:
    """``scenarios/`` at the top of the repository is where the README sends people; it must
    be the package's own folder, not a copy that could drift."""
    root = Path(__file__).resolve().parent.parent
    assert (root / "scenarios").resolve() == (root / "src" / "loopviz" / "scenarios").resolve()


def test_installed_package_ships_every_scenario() -> None:
    """The installed package (CI installs it as the README says) has every scenario of the
    source tree, byte for byte."""
    source = Path(__file__).resolve().parent.parent / "src" / "loopviz" / "scenarios"
    bundled = catalog.bundled_folder()
    if bundled.resolve() == source.resolve():
        pytest.skip("an editable install: the package's scenarios are the source tree")
    names = sorted(p.name for p in source.glob("*.py"))
    assert names == sorted(p.name for p in bundled.glob("*.py"))
    for name in names:
        assert (bundled / name).read_bytes() == (source / name).read_bytes(), name
