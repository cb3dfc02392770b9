"""A rendered site published as one set: a reader of reports/ finds the last published set or
the new one, whole, never a mix of the two, whenever the run is killed or the machine fails.

The new set is staged, complete and on disk, in a sibling folder of reports/ (same parent, so
the same filesystem), then the two folders are switched by one atomic operation: on Linux,
renameat2(RENAME_EXCHANGE). Where the system cannot exchange two folders, two renames do it
(reports/ aside as the previous set, the staged set into its place); a run killed between them
leaves no reports/, and the next run puts the previous set back. Whatever an interrupted run left
(a staged set, a previous set, the hidden `.publishing` files of the per-file scheme before this
one) is removed when the next publish starts.

A site in two languages (reports/ and reports/<lang>/) is one set: both switch together.

Files in reports/ that publishing does not write (.gitkeep, which git tracks, or a note someone
left there) are carried into each new set.

A failure of the machine (full disk, read-only drive, missing permission, a locked file) is a
PublishError whose message is the one line the user sees.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import glob
import os
import shutil
import signal
import stat
import sys
from pathlib import Path
from typing import Iterator

from clientlens.i18n import LANGUAGES
from clientlens.paths import shown

# Tests kill the run at the n-th checkpoint to prove that readers never see a mix.
KILL_AT_VARIABLE = "CLIENTLENS_PUBLISH_KILL_AT"

# What publishing writes into reports/: top-level pages and pages.json, and these folders whole,
# the second language's site (reports/<lang>/) among them: published with the first as one set.
SITE_FOLDERS = frozenset({"executed", "downloads", "clients", *LANGUAGES})
SITE_FILE_SUFFIXES = frozenset({".html"})
SITE_FILE_NAMES = frozenset({"pages.json"})
OLD_SCHEME_SUFFIX = ".publishing"

# Room kept free beyond the new set: the filesystem's own bookkeeping, and whatever else writes
# to the drive while we publish, must not find it full.
SPACE_MARGIN_BYTES = 32 * 2**20
SPACE_MARGIN_SHARE = 0.05
BLOCK_BYTES = 4096

UNTOUCHED = "the last published reports are untouched"
AGAIN = "and run make report again"

# Linux <linux/fs.h>, <fcntl.h>
AT_FDCWD = -100
RENAME_EXCHANGE = 1 << 1
# The system has no exchange, or this filesystem does not offer it (some container sandboxes
# answer EPERM for a system call they do not know): the two renames do the switch instead.
EXCHANGE_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EPERM})

NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
READ_ONLY = frozenset({errno.EROFS})
NO_PERMISSION = frozenset({errno.EACCES, errno.EPERM})
BUSY = frozenset({errno.EBUSY, errno.ETXTBSY})
# Windows: ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION
WINDOWS_LOCKED = frozenset({5, 32, 33})


class PublishError(RuntimeError):
    """Publishing could not finish; its message is the one line the user sees."""


def machine_failure_line(error: OSError, path: Path | str | None = None, renaming: bool = False) -> str | None:
    """`<path>: <what> — <remedy>; the last published reports are untouched`, for a failure of the
    machine (no space, read-only, no permission, locked); None for any other error.

    `renaming`: the error came from renaming reports/ itself, where a Windows-like share answers
    "permission denied" when a file in it is open somewhere."""
    where = shown(path if path is not None else error.filename if error.filename else "reports")
    code = error.errno
    if code in NO_SPACE:
        what, remedy = ("the disk is full" if code == errno.ENOSPC else "the disk quota is used up",
                        f"free space on that drive {AGAIN}")
    elif code in READ_ONLY:
        what, remedy = "the drive is read-only", f"have it mounted read-write or publish to another drive, {AGAIN}"
    elif code in BUSY or getattr(error, "winerror", None) in WINDOWS_LOCKED - {5}:
        what, remedy = ("locked or in use",
                        f"close what holds it open (a page or download open in a browser or Excel, a sync client) {AGAIN}")
    elif code in NO_PERMISSION and renaming:
        what, remedy = ("locked or not writable",
                        "close what holds a file in it open (a page or download open in a browser or Excel, "
                        f"a sync client) or give this user write permission on it and its parent folder, {AGAIN}")
    elif code in NO_PERMISSION:
        what, remedy = "permission denied", f"give this user write permission there {AGAIN}"
    else:
        return None
    return f"{where}: {what} — {remedy}; {UNTOUCHED}"


def staging_dir(reports_dir: Path) -> Path:
    return reports_dir.parent / f".{reports_dir.name}-staging-{os.getpid()}"


def previous_dir(reports_dir: Path) -> Path:
    return reports_dir.parent / f".{reports_dir.name}-previous-{os.getpid()}"


def leftovers(reports_dir: Path, kind: str) -> list[Path]:
    """The staged (`kind="staging"`) or previous (`"previous"`) sets of earlier runs."""
    pattern = glob.escape(str(reports_dir.parent / f".{reports_dir.name}-{kind}-")) + "*"
    return [Path(p) for p in glob.glob(pattern) if os.path.isdir(p)]


_checkpoints_passed = 0


def _checkpoint() -> None:
    """A step a test may kill the run at: the n-th one when CLIENTLENS_PUBLISH_KILL_AT=n."""
    global _checkpoints_passed
    _checkpoints_passed += 1
    if os.environ.get(KILL_AT_VARIABLE) == str(_checkpoints_passed):
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


def _real(reports_dir: Path | str) -> Path:
    """reports/ itself: a symlink to a folder on a share is followed, so the share's folder is
    switched and the link stays."""
    return Path(reports_dir).resolve()


def _existing_ancestor(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _read_only_drive(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (AttributeError, OSError):
        return False


def check_writable(reports_dir: Path | str) -> None:
    """Before anything is rendered: reports/ and the folder holding it must be writable (the set
    is switched by renaming reports/ and removing the old set), and reports/ no mount point."""
    reports_dir = _real(reports_dir)
    if reports_dir.is_dir() and os.path.ismount(reports_dir):
        raise PublishError(f"{shown(reports_dir)}: a mount point, which cannot be switched as a whole — mount "
                           f"the share on its parent folder, or make {reports_dir.name} a symlink to a folder "
                           f"on the share, {AGAIN}; {UNTOUCHED}")
    folders = [_existing_ancestor(reports_dir.parent)] + ([reports_dir] if reports_dir.is_dir() else [])
    for folder in folders:
        if os.access(folder, os.W_OK | os.X_OK):
            continue
        if _read_only_drive(folder):
            raise PublishError(machine_failure_line(OSError(errno.EROFS, "read-only"), folder))
        raise PublishError(f"{shown(folder)}: not writable by this user — give this user write permission on "
                           f"{shown(reports_dir)} and on {shown(reports_dir.parent)} (the set is switched by "
                           f"renaming the folder) {AGAIN}; {UNTOUCHED}")
    if reports_dir.parent.is_dir():
        probe = staging_dir(reports_dir)
        try:
            probe.mkdir()
            probe.rmdir()
        except FileExistsError:
            pass
        except OSError as error:
            raise PublishError(machine_failure_line(error, reports_dir.parent) or _other_line(error, reports_dir)) from None


def _other_line(error: OSError, reports_dir: Path) -> str:
    where = shown(error.filename) if error.filename else shown(reports_dir)
    return f"{where}: {error.strerror or error} — {AGAIN.removeprefix('and ')} once that is fixed; {UNTOUCHED}"


@contextlib.contextmanager
def _one_publish_at_a_time(parent: Path) -> Iterator[None]:
    """Two publishes into one folder would remove each other's staged set as a leftover."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks on folders
        yield
        return
    fd = os.open(parent, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PublishError(f"{shown(parent)}: another publish is running into this folder — wait for it "
                               f"to end {AGAIN}; {UNTOUCHED}") from None
        except OSError:
            pass  # a filesystem without locks: publish without one
        yield
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.EBADF):  # filesystems that cannot sync a folder
            raise
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def recover(reports_dir: Path) -> None:
    """Undo what an interrupted run left: put back a previous set when reports/ is missing,
    remove staged and previous sets, and the old scheme's hidden `.publishing` files."""
    previous = sorted(leftovers(reports_dir, "previous"), key=lambda p: p.stat().st_ctime_ns)
    if not reports_dir.exists() and previous:
        os.rename(previous.pop(), reports_dir)
        _fsync_dir(reports_dir.parent)
        print(f"publish: {shown(reports_dir)} was missing after an interrupted publish; the last "
              "published set is back", file=sys.stderr)
    for leftover in previous + leftovers(reports_dir, "staging"):
        shutil.rmtree(leftover)
    if reports_dir.is_dir():
        for hidden in reports_dir.rglob(f".*{OLD_SCHEME_SUFFIX}"):
            _remove(hidden)


def _written_by_publish(rel: Path) -> bool:
    if rel.parts[0] in SITE_FOLDERS:
        return True
    if len(rel.parts) == 1 and (rel.suffix in SITE_FILE_SUFFIXES or rel.name in SITE_FILE_NAMES):
        return True
    return rel.name.startswith(".") and rel.name.endswith(OLD_SCHEME_SUFFIX)


def new_set(site_dir: Path, reports_dir: Path) -> list[tuple[Path, Path]]:
    """(source, path inside reports/) of every file of the new set: the site's, and the files
    of reports/ that publishing does not write."""
    files = [(p, p.relative_to(site_dir)) for p in sorted(site_dir.rglob("*")) if p.is_file()]
    ours = {rel for _, rel in files}
    if reports_dir.is_dir():
        for path in sorted(reports_dir.rglob("*")):
            rel = path.relative_to(reports_dir)
            if path.is_file() and rel not in ours and not _written_by_publish(rel):
                files.append((path, rel))
    return files


def _on_disk(size: int) -> int:
    return -(-size // BLOCK_BYTES) * BLOCK_BYTES


def space_needed(files: list[tuple[Path, Path]]) -> int:
    """Bytes the new set takes, rounded to blocks, folders included, plus the margin."""
    folders = {rel.parent for _, rel in files}
    size = sum(_on_disk(source.stat().st_size) for source, _ in files) + BLOCK_BYTES * (len(folders) + 1)
    return size + max(SPACE_MARGIN_BYTES, int(size * SPACE_MARGIN_SHARE))


def check_space(files: list[tuple[Path, Path]], reports_dir: Path) -> None:
    needed = space_needed(files)
    free = shutil.disk_usage(reports_dir.parent).free
    if free < needed:
        raise PublishError(f"{shown(reports_dir)}: not enough free space to publish: {needed / 2**20:,.0f} MB "
                           f"needed (the new reports and a margin), {free / 2**20:,.0f} MB free — free space on "
                           f"that drive {AGAIN}; {UNTOUCHED}")


def _copy_synced(source: Path, target: Path) -> None:
    with open(source, "rb") as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, 2**20)
        dst.flush()
        os.fsync(dst.fileno())


def stage(files: list[tuple[Path, Path]], staging: Path, reports_dir: Path) -> None:
    """The new set, complete and synced to disk, in `staging`."""
    staging.mkdir()
    for source, rel in files:
        target = staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy_synced(source, target)
        _checkpoint()
    for folder, _, _ in sorted(os.walk(staging), key=lambda entry: -len(entry[0])):
        _fsync_dir(Path(folder))
    if reports_dir.is_dir():  # a share's folder may be group-writable: the new set keeps that
        os.chmod(staging, stat.S_IMODE(reports_dir.stat().st_mode))


def _exchange(first: Path, second: Path) -> bool:
    """Swap two folders in one atomic step; False when this system or filesystem cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # a C library without renameat2
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in EXCHANGE_UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(second))


def switch(staging: Path, reports_dir: Path) -> Path | None:
    """Make the staged set reports/; returns where the old set now is (None when there was none)."""
    if not reports_dir.exists():
        os.rename(staging, reports_dir)
        _fsync_dir(reports_dir.parent)
        return None
    if _exchange(staging, reports_dir):
        _fsync_dir(reports_dir.parent)
        return staging
    previous = previous_dir(reports_dir)
    os.rename(reports_dir, previous)
    _checkpoint()
    try:
        os.rename(staging, reports_dir)
    except BaseException:
        os.rename(previous, reports_dir)
        raise
    _fsync_dir(reports_dir.parent)
    return previous


def _remove_old_set(old: Path, reports_dir: Path) -> None:
    """The old set, step by step: a run killed here leaves a leftover the next run removes."""
    try:
        for entry in sorted(old.iterdir()):
            _remove(entry)
            _checkpoint()
        old.rmdir()
    except OSError as error:
        print(f"publish: {shown(reports_dir)} is published; the previous set could not be removed "
              f"from {shown(old)} ({error.strerror}): the next publish removes it", file=sys.stderr)


def release(site_dir: Path | str, reports_dir: Path | str) -> None:
    """Publish the rendered site in `site_dir` as `reports_dir`, whole (see the module's notes)."""
    global _checkpoints_passed
    _checkpoints_passed = 0
    site_dir, reports_dir = Path(site_dir), _real(reports_dir)
    try:
        reports_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PublishError(machine_failure_line(error) or _other_line(error, reports_dir)) from None
    check_writable(reports_dir)
    with _one_publish_at_a_time(reports_dir.parent):
        staging = staging_dir(reports_dir)
        try:
            recover(reports_dir)
            files = new_set(site_dir, reports_dir)
            check_space(files, reports_dir)
            stage(files, staging, reports_dir)
            _checkpoint()
        except OSError as error:
            shutil.rmtree(staging, ignore_errors=True)
            on_staging = error.filename and Path(error.filename).is_relative_to(staging)
            path = reports_dir if on_staging or error.errno in NO_SPACE else None
            raise PublishError(machine_failure_line(error, path) or _other_line(error, reports_dir)) from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        try:
            old = switch(staging, reports_dir)
        except OSError as error:
            shutil.rmtree(staging, ignore_errors=True)
            if not reports_dir.exists():
                raise PublishError(f"{shown(reports_dir)}: {error.strerror} while switching to the new set, and "
                                   f"the last published set could not be put back: it is kept in "
                                   f"{shown(previous_dir(reports_dir))}, and the next publish puts it back") from None
            raise PublishError(machine_failure_line(error, reports_dir, renaming=True)
                               or _other_line(error, reports_dir)) from None
        _checkpoint()
        if old is not None:
            _remove_old_set(old, reports_dir)
