"""The report set is published as a whole: after a kill at any step, a full disk, a read-only
or locked reports/, readers find the last published set or the new one, complete, never a mix;
the next run cleans up; a failure of the machine is one line naming the path."""
from __future__ import annotations

import errno
import fcntl
import os
import shutil
import signal
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest

from clientlens.publishing import release
from clientlens.publishing.release import KILL_AT_VARIABLE, PublishError
from clientlens.tooling import pipeline

PAGES = 30
CLIENTS = 8

# Runs one publish in a process of its own, which the kill hook may SIGKILL at a checkpoint.
# A kill loses nothing the kernel holds, so syncing to disk is left out: it is what makes a
# publish slow, and the order of the steps is what these runs test.
PUBLISH_SCRIPT = """
import os
import sys
from pathlib import Path
from clientlens.publishing import release
os.fsync = lambda fd: None
if sys.argv[3] == "fallback":
    release._exchange = lambda first, second: False
release.release(Path(sys.argv[1]), Path(sys.argv[2]))
"""


def fake_site(folder: Path, build: str, extra_page: str) -> Path:
    """A rendered site whose every file names its build; each build has a page the other lacks."""
    (folder / "clients").mkdir(parents=True)
    (folder / "executed").mkdir()
    (folder / "downloads").mkdir()
    (folder / "index.html").write_text(f"<h1>index of build {build}</h1>")
    (folder / "pages.json").write_text(f'{{"build": "{build}"}}')
    (folder / f"{extra_page}.html").write_text(f"only in build {build}")
    for i in range(PAGES):
        (folder / f"page-{i:02d}.html").write_text(f"build {build} page {i} " + "x" * (i * 37))
    for i in range(CLIENTS):
        (folder / "clients" / f"c{i:03d}.html").write_text(f"build {build} client {i}")
    for i in range(4):
        (folder / "executed" / f"0{i}-stage.ipynb").write_text(f'{{"build": "{build}", "stage": {i}}}')
    for name in ("pnl", "segments", "actions"):
        (folder / "downloads" / f"{name}.csv").write_text(f"build,{build}\n{name},1\n")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(reports: Path) -> list[str]:
    """Anything an interrupted or failed publish may leave: staged or previous sets beside
    reports/, the old scheme's hidden files inside it."""
    beside = [p.name for p in reports.parent.iterdir() if p.name.startswith(f".{reports.name}-")]
    inside = [str(p) for p in reports.rglob("*.publishing")] if reports.exists() else []
    return beside + inside


@pytest.fixture
def sets(tmp_path):
    """(reports/, the new site, the old set as published, the new set as it must be published)."""
    old_site = fake_site(tmp_path / "old-site", "OLD", "retired")
    new_site = fake_site(tmp_path / "new-site", "NEW", "brand-new")
    reports = tmp_path / "share" / "reports"

    def publish_old():
        if reports.parent.exists():
            shutil.rmtree(reports.parent)
        reports.mkdir(parents=True)
        (reports / ".gitkeep").write_bytes(b"")
        (reports / "notes.txt").write_text("left here by a reader")
        release.release(old_site, reports)
        return snapshot(reports)

    old = publish_old()
    new = snapshot(new_site) | {".gitkeep": b"", "notes.txt": b"left here by a reader"}
    assert old != new and old["index.html"] != new["index.html"]
    assert set(old) - set(new) == {"retired.html"}
    return reports, new_site, old, new, publish_old


def test_publish_switches_the_whole_set_and_carries_what_it_does_not_write(sets):
    reports, new_site, old, new, _ = sets
    assert old[".gitkeep"] == b"" and old["index.html"] == b"<h1>index of build OLD</h1>"
    release.release(new_site, reports)
    assert snapshot(reports) == new
    assert not leftovers(reports)


def run_killed(new_site: Path, reports: Path, kill_at: int, mode: str) -> int:
    env = os.environ | {KILL_AT_VARIABLE: str(kill_at)}
    run = subprocess.run([sys.executable, "-c", PUBLISH_SCRIPT, str(new_site), str(reports), mode],
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode in (0, -signal.SIGKILL), run.stderr
    return run.returncode


def kill_at_checkpoints(sets, mode: str, monkeypatch, step: int) -> dict[int, str]:
    """Kill a publish at every `step`-th checkpoint and at each one around the switch, until a
    run gets to the end; {checkpoint: what reports/ held after the kill (old, new, missing)}.
    After each kill the next publish completes the new set.

    Checkpoints: one per file staged (the new set has len(new) files), one before the switch,
    one between the two renames of the fallback, one after the switch, one per entry of the old
    set removed."""
    reports, new_site, old, new, publish_old = sets
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    around_switch = set(range(len(new) - 1, len(new) + 5))
    outcomes = {}
    kill_at = 1
    while run_killed(new_site, reports, kill_at, mode) != 0:
        found = snapshot(reports) if reports.exists() else None
        assert found in (old, new, None), f"a mix after a kill at checkpoint {kill_at}"
        if found is not None:
            assert found["index.html"] in (old["index.html"], new["index.html"])
            assert found["index.html"] == (old if found == old else new)["index.html"]
        outcomes[kill_at] = "old" if found == old else "new" if found == new else "missing"
        if found is None:
            release.recover(reports)
            assert snapshot(reports) == old, "the previous set is put back"
        release.release(new_site, reports)
        assert snapshot(reports) == new and not leftovers(reports)
        publish_old()
        kill_at = next(n for n in range(kill_at + 1, kill_at + step + 1) if n % step == 1 or n in around_switch)
    assert snapshot(reports) == new and not leftovers(reports)
    assert kill_at > len(new) + 2, "the run ended before the switch"
    return outcomes


def test_a_kill_at_any_step_leaves_the_old_set_or_the_new_one(sets, monkeypatch):
    outcomes = kill_at_checkpoints(sets, "exchange", monkeypatch, step=4)
    staged_files = len(sets[3])
    # a kill while staging and before the switch finds the old set; after it, the new one
    assert {outcomes[n] for n in outcomes if n <= staged_files + 1} == {"old"}
    assert {outcomes[n] for n in outcomes if n > staged_files + 1} == {"new"}
    assert len([n for n in outcomes if n > staged_files + 2]) >= 3, "kills while the old set is removed"


def test_where_folders_cannot_be_exchanged_two_renames_and_the_next_run_restores(sets, monkeypatch):
    outcomes = kill_at_checkpoints(sets, "fallback", monkeypatch, step=10)
    between_renames = len(sets[3]) + 2
    assert outcomes[between_renames] == "missing"  # restored from the previous set by the next run
    assert {outcomes[n] for n in outcomes if n < between_renames} == {"old"}
    assert {outcomes[n] for n in outcomes if n > between_renames} == {"new"}
    reports, new_site, old, new, publish_old = sets
    monkeypatch.setattr(release, "_exchange", lambda first, second: False)
    publish_old()
    release.release(new_site, reports)
    assert snapshot(reports) == new and not leftovers(reports)


def test_exchange_is_what_switches_on_linux(sets, monkeypatch):
    if not sys.platform.startswith("linux"):
        pytest.skip("renameat2 is Linux's")
    reports, new_site, _, new, _ = sets
    renames = []
    real_rename = os.rename
    monkeypatch.setattr(release.os, "rename", lambda a, b: renames.append((a, b)) or real_rename(a, b))
    release.release(new_site, reports)
    assert renames == [] and snapshot(reports) == new


def test_leftovers_of_an_interrupted_run_are_removed(sets):
    reports, new_site, _, new, _ = sets
    (reports.parent / ".reports-staging-99999" / "clients").mkdir(parents=True)
    (reports.parent / ".reports-staging-99999" / "clients" / "half.html").write_text("half")
    (reports.parent / ".reports-previous-99998").mkdir()
    (reports / ".page-01.html.publishing").write_text("old scheme")
    (reports / "clients" / ".c001.html.publishing").write_text("old scheme")
    release.release(new_site, reports)
    assert snapshot(reports) == new and not leftovers(reports)


def test_a_missing_reports_folder_comes_back_from_the_kept_previous_set(sets):
    reports, _, old, _, _ = sets
    reports.rename(reports.parent / ".reports-previous-99999")
    release.recover(reports)
    assert snapshot(reports) == old and not leftovers(reports)


def assert_one_line(message: str, *names: str) -> None:
    assert "\n" not in message and "Traceback" not in message, message
    assert "the last published reports are untouched" in message, message
    for name in names:
        assert name in message, message


def test_not_enough_free_space_stops_before_writing(sets, monkeypatch):
    reports, new_site, old, _, _ = sets
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(release.shutil, "disk_usage", lambda path: usage(10 * 2**30, 10 * 2**30 - 2**20, 2**20))
    with pytest.raises(PublishError) as failure:
        release.release(new_site, reports)
    assert_one_line(str(failure.value), str(reports), "MB needed", "1 MB free")
    assert snapshot(reports) == old and not leftovers(reports)


def test_a_disk_that_fills_while_staging_leaves_the_old_set(sets, monkeypatch):
    reports, new_site, old, _, _ = sets
    copied = []
    real_copy = release._copy_synced

    def copy_until_full(source, target):
        if len(copied) == 17:
            target.write_bytes(b"half")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # a failed write names no file
        copied.append(target)
        real_copy(source, target)

    monkeypatch.setattr(release, "_copy_synced", copy_until_full)
    with pytest.raises(PublishError) as failure:
        release.release(new_site, reports)
    assert_one_line(str(failure.value), str(reports), "the disk is full", "free space")
    assert snapshot(reports) == old and not leftovers(reports)


@pytest.mark.parametrize("failing", ["reports aside", "new set in"])
def test_a_locked_file_is_one_line_and_the_old_set_stays(sets, monkeypatch, failing):
    """On a Windows-like share, renaming a folder with a page open in it is refused."""
    reports, new_site, old, _, _ = sets
    real_rename = os.rename

    def refusing_rename(source, target):
        reports_aside = Path(source) == reports.resolve()
        new_set_in = Path(target) == reports.resolve() and Path(source).name.startswith(".reports-staging-")
        if (reports_aside and failing == "reports aside") or (new_set_in and failing == "new set in"):
            raise PermissionError(errno.EACCES, "Permission denied", str(source))
        real_rename(source, target)

    monkeypatch.setattr(release, "_exchange", lambda first, second: False)
    monkeypatch.setattr(release.os, "rename", refusing_rename)
    with pytest.raises(PublishError) as failure:
        release.release(new_site, reports)
    assert_one_line(str(failure.value), str(reports), "locked", "close")
    monkeypatch.setattr(release.os, "rename", real_rename)
    assert snapshot(reports) == old and not leftovers(reports)


def test_a_busy_folder_is_one_line(sets, monkeypatch):
    reports, new_site, old, _, _ = sets

    def busy(first, second):
        raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(second))

    monkeypatch.setattr(release, "_exchange", busy)
    with pytest.raises(PublishError) as failure:
        release.release(new_site, reports)
    assert_one_line(str(failure.value), str(reports), "locked or in use")
    assert snapshot(reports) == old and not leftovers(reports)


def test_another_publish_into_the_same_folder_waits_its_turn(sets):
    reports, new_site, old, _, _ = sets
    fd = os.open(reports.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(PublishError) as failure:
            release.release(new_site, reports)
    finally:
        os.close(fd)
    assert_one_line(str(failure.value), str(reports.parent), "another publish")
    assert snapshot(reports) == old


def test_a_symlinked_reports_folder_stays_a_link_to_the_share(sets, tmp_path):
    reports, new_site, old, new, _ = sets
    link = tmp_path / "project-reports"
    link.symlink_to(reports)
    release.release(new_site, link)
    assert link.is_symlink() and snapshot(reports) == new and not leftovers(reports)


def executed_workspace(root: Path) -> pipeline.Workspace:
    """A workspace whose stages all ran, so publish goes as far as rendering."""
    ws = pipeline.Workspace.under(root)
    ws.executed.mkdir(parents=True)
    for stage in pipeline.stages():
        (ws.executed / f"{stage}.ipynb").write_text("{}")
    ws.params_file.write_text('{"report_lang": "en"}')
    ws.reports.mkdir()
    (ws.reports / "index.html").write_text("last published")
    return ws


@pytest.mark.parametrize("read_only", ["reports", "its parent"])
def test_a_read_only_reports_folder_is_found_before_rendering(tmp_path, monkeypatch, capsys, read_only):
    root = tmp_path / "firm"
    ws = executed_workspace(root)
    rendered = []
    monkeypatch.setattr("clientlens.publishing.publish.build_site", lambda *a, **k: rendered.append(a) or [])
    folder = ws.reports if read_only == "reports" else root
    folder.chmod(0o555)
    try:
        try:
            (folder / "probe").mkdir()
            (folder / "probe").rmdir()
            privileged = True  # root writes through a read-only mode: refuse access as a share would
        except PermissionError:
            privileged = False
        if privileged:
            real_access = os.access
            monkeypatch.setattr(os, "access", lambda path, mode, **kw: (
                False if Path(path) == folder and mode & os.W_OK else real_access(path, mode, **kw)))
        status = pipeline.main(["--workdir", str(root), "publish"])
    finally:
        folder.chmod(0o755)
    err = capsys.readouterr().err.strip()
    assert status == 1 and rendered == []
    assert err.startswith("make report: ") and "write permission" in err
    assert_one_line(err, str(folder))
    assert (ws.reports / "index.html").read_text() == "last published"


def test_a_read_only_drive_says_so(tmp_path, monkeypatch):
    reports = tmp_path / "reports"
    reports.mkdir()
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False)
    monkeypatch.setattr(release, "_read_only_drive", lambda path: True)
    with pytest.raises(PublishError) as failure:
        release.check_writable(reports)
    assert_one_line(str(failure.value), str(tmp_path), "read-only")


@pytest.mark.parametrize("code, what", [(errno.ENOSPC, "the disk is full"), (errno.EDQUOT, "quota"),
                                        (errno.EROFS, "read-only"), (errno.EACCES, "permission denied"),
                                        (errno.EPERM, "permission denied"), (errno.EBUSY, "locked or in use"),
                                        (errno.ETXTBSY, "locked or in use")])
def test_any_command_failing_on_the_machine_is_one_line(tmp_path, monkeypatch, capsys, code, what):
    target = tmp_path / "build" / "params.json"

    def failing_prepare(overrides, ws):
        raise OSError(code, os.strerror(code), str(target))

    monkeypatch.setattr(pipeline, "prepare", failing_prepare)
    assert pipeline.main(["--workdir", str(tmp_path), "prepare"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("make report: ") and what in err
    assert_one_line(err, str(target))


def test_a_failed_write_names_the_folder_the_run_writes_under(tmp_path, monkeypatch, capsys):
    def full_disk(overrides, ws):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pipeline, "run_demo", full_disk)
    assert pipeline.main(["--workdir", str(tmp_path), "demo"]) == 1
    err = capsys.readouterr().err.strip()
    assert_one_line(err, f"{tmp_path.resolve()}: the disk is full")


def test_an_error_that_is_not_the_machines_keeps_its_traceback(tmp_path, monkeypatch):
    def missing(overrides, ws):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "x")

    monkeypatch.setattr(pipeline, "prepare", missing)
    with pytest.raises(FileNotFoundError):
        pipeline.main(["--workdir", str(tmp_path), "prepare"])
