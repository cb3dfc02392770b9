"""The commands the Makefile runs: one stage, publishing, the demo company, dependencies.

    python -m clientlens.tooling.pipeline prepare [KEY=VALUE ...]   stamps Make compares (params, raw files)
    python -m clientlens.tooling.pipeline stage 02-pnl             executes one notebook with papermill
    python -m clientlens.tooling.pipeline second-stage 02-pnl      the same in the second language (second_report_lang)
    python -m clientlens.tooling.pipeline publish                  renders HTML and publishes it atomically
    python -m clientlens.tooling.pipeline demo [CLIENTS=.. ...]    writes the demo company into data/raw
    python -m clientlens.tooling.pipeline deps                     Make rules: which src modules each stage uses
    python -m clientlens.tooling.pipeline kernel                   register (or repair) the project's Jupyter kernel

    python -m clientlens.tooling.pipeline --workdir DIR stage 02-pnl   the same on DIR/raw, DIR/processed,
                                                               DIR/reports and DIR/build (make bench)

Every failure ends in one line on stderr and a non-zero exit, never a traceback wall.
"""
from __future__ import annotations

import ast
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from clientlens import parameters, paths
from clientlens.paths import BUILD_DIR, NOTEBOOKS_DIR, PROCESSED_DIR, PROJECT_ROOT, RAW_DIR, REPORTS_DIR, shown
from clientlens.processed import file_stats
from clientlens.quarters import QuarterError

if TYPE_CHECKING:
    from clientlens.publishing.run_status import FailedRun

KERNEL_NAME = "clientlens"

# Make's own variables, and short names for the demo's size, accepted on the command line.
MAKE_ONLY = {"VENV", "PYTHON", "PYTEST_ARGS", "JOBS"}
ALIASES = {"CLIENTS": "demo_clients", "YEARS": "demo_years"}


class PipelineError(RuntimeError):
    """A failure the user can act on; its message is the one line they see. A stage's failure
    carries what the published pages' banner says of it (publishing.run_status)."""

    def __init__(self, message: str, failed: "FailedRun | None" = None):
        super().__init__(message)
        self.failed = failed


@dataclass(frozen=True)
class Workspace:
    """Where a run reads and writes: the project's own folders, or another root's (make bench)."""

    raw: Path = RAW_DIR
    processed: Path = PROCESSED_DIR
    reports: Path = REPORTS_DIR
    build: Path = BUILD_DIR
    demo_truth: Path = paths.DEMO_TRUTH_FILE
    second_lang: str | None = None  # this is the second language's pass (second)

    @classmethod
    def under(cls, root: Path | str) -> "Workspace":
        """root/raw, root/processed, root/reports and root/build: a run that never touches data/."""
        root = Path(root).resolve()
        return cls(root / "raw", root / "processed", root / "reports", root / "build",
                   root / "demo_truth.json")

    def second(self, lang: str) -> "Workspace":
        """The second language's pass: the same raw files, a build folder of its own, and a
        processed folder of its own that starts as a copy of the first pass's (seed_second_pass),
        so the first pass's processed/ is written by the first pass only."""
        build = self.build / "lang" / lang
        return Workspace(self.raw, build / "processed", self.reports / lang, build, self.demo_truth, lang)

    @property
    def params_file(self) -> Path:
        return self.build / "params.json"

    @property
    def failed_run_file(self) -> Path:
        """The last run's failure, while no publish has followed it."""
        return self.build / "failed" / "run.json"

    @property
    def raw_inventory_file(self) -> Path:
        return self.build / "raw_inventory.json"

    def stage_params_file(self, stage: str) -> Path:
        """The parameters a stage read when it last ran (all of them before its first run):
        Make reruns the stage when this file changes."""
        return self.build / "params" / f"{stage}.json"

    def stage_reads_file(self, stage: str) -> Path:
        """The parameter sections a stage read, noted by the stage as it runs."""
        return self.build / "params" / f"{stage}.reads.json"

    def stage_outputs_file(self, stage: str) -> Path:
        """Size and time of each processed file the stage wrote, when Make last ran it."""
        return self.build / "outputs" / f"{stage}.json"

    @property
    def executed(self) -> Path:
        return self.build / "executed"

    @property
    def failed(self) -> Path:
        return self.build / "failed"

    @property
    def site(self) -> Path:
        return self.build / "site"


PROJECT = Workspace()


def stages() -> list[str]:
    return sorted(p.stem for p in NOTEBOOKS_DIR.glob("[0-9][0-9]-*.ipynb"))


def _normalise_overrides(words: Iterable[str]) -> list[str]:
    out = []
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or key in MAKE_ONLY:
            continue
        out.append(f"{ALIASES.get(key, key)}={value}")
    return out


def effective_params(overrides: Iterable[str] = ()) -> parameters.Params:
    return parameters.load(overrides=_normalise_overrides(overrides))


def write_if_changed(path: Path, text: str) -> bool:
    """Write only when the content differs, so Make sees a new time only on a real change."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return True




def second_language(params: dict[str, Any]) -> str | None:
    """The language the pages are also published in; None for one language only."""
    second = params.get("second_report_lang")
    return second if second and second != params.get("report_lang") else None


def second_params_text(params: dict[str, Any], lang: str) -> str:
    """The second pass's parameters: the run's, in the second language."""
    return json.dumps({**params, "report_lang": lang}, indent=2, sort_keys=True) + "\n"


def prepare(overrides: Iterable[str], ws: Workspace = PROJECT) -> None:
    """Write what Make compares: the run's parameters, each stage's share of them, the raw files.

    Each file is rewritten only when its content changes, so Make reruns a stage only when a
    parameter it read changed. A stage whose processed files were rewritten since Make ran it
    (a notebook run by hand in JupyterLab) has its parameters file touched, so Make runs it
    again and republishes: the pages never disagree with data/processed/.
    """
    params = effective_params(overrides)
    write_if_changed(ws.params_file, params.to_json())
    data = params.model_dump(mode="json")
    second = second_language(data)
    if second:
        write_if_changed(ws.second(second).params_file, second_params_text(data, second))
    write_if_changed(ws.raw_inventory_file, json.dumps(file_stats(ws.raw), indent=2) + "\n")
    io = stage_io()
    for stage in io:
        target = ws.stage_params_file(stage)
        changed = write_if_changed(target, stage_params_text(data, stage, ws))
        if not changed and target.exists() and stage_outputs_changed(stage, ws, io):
            print(f"{stage}: data/processed/ was changed outside make report; running it again",
                  file=sys.stderr)
            target.touch()


def stage_params_text(params: dict[str, Any], stage: str, ws: Workspace = PROJECT) -> str:
    """The parameters (as the run's JSON data) `stage` read on its last run; all of them before
    its first."""
    reads_file = ws.stage_reads_file(stage)
    if reads_file.exists():
        reads = json.loads(reads_file.read_text(encoding="utf-8"))
        params = {name: params[name] for name in sorted(reads) if name in params}
    return json.dumps(params, indent=2, sort_keys=True) + "\n"


def stage_outputs(stage: str, ws: Workspace = PROJECT,
                  io: dict[str, tuple[set[str], set[str]]] | None = None) -> dict[str, list[int]]:
    """{file under processed/: [size, mtime_ns]} for the files `stage` writes that exist: the
    tables it saves, and for the first stage (ingest) the files intake noted."""
    from clientlens.intake.stage import intake_outputs

    io = stage_io() if io is None else io
    chain = list(io)
    if stage not in io:
        return {}
    names = intake_outputs(ws.processed) if stage == chain[0] else [f"{t}.parquet" for t in io[stage][1]]
    return file_stats(ws.processed, names)


def stage_outputs_changed(stage: str, ws: Workspace = PROJECT,
                          io: dict[str, tuple[set[str], set[str]]] | None = None) -> bool:
    record = ws.stage_outputs_file(stage)
    if not record.exists() or not (ws.executed / f"{stage}.ipynb").exists():
        return False
    return json.loads(record.read_text(encoding="utf-8")) != stage_outputs(stage, ws, io)


def load_params(ws: Workspace = PROJECT) -> dict[str, Any]:
    """The run's checked parameters, as the JSON data the lineage prints."""
    if not ws.params_file.exists():
        raise PipelineError(f"{shown(ws.params_file)} is missing: run the chain with make report")
    return json.loads(ws.params_file.read_text(encoding="utf-8"))


def check_kernel() -> None:
    """The chain runs on this project's environment, never on someone's `python3` kernel."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        raise PipelineError(f"no Jupyter kernel named {KERNEL_NAME!r}: run make setup") from None
    kernel_python = Path(spec.argv[0])
    if kernel_python.parent.resolve() != Path(sys.executable).parent.resolve():
        raise PipelineError(f"kernel {KERNEL_NAME!r} runs {kernel_python}, not this project's "
                            f"environment ({sys.executable}): run make setup")


def repair_kernel() -> None:
    """Register the project's kernel when it is missing or runs another environment's Python
    (a .venv moved or copied elsewhere keeps the old path in its kernel spec)."""
    import subprocess

    try:
        check_kernel()
        return
    except PipelineError as problem:
        print(f"setup: registering the kernel again ({problem})", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL_NAME,
                    "--display-name", "clientlens (project)"], check=True, stdout=subprocess.DEVNULL)
    check_kernel()


def notebook_parameters(notebook: Path) -> dict[str, Any]:
    import papermill

    return papermill.inspect_notebook(str(notebook))


def stage_parameters(notebook: Path, ws: Workspace = PROJECT) -> dict[str, Any]:
    """The values for the names a notebook's parameters cell declares: where it reads and
    writes, the run's parameter file, and where it notes the parameters it reads. Every other
    parameter comes from that file, so a default is never written in a notebook."""
    stage = notebook.stem
    values = {"raw_dir": str(ws.raw), "processed_dir": str(ws.processed), "reports_dir": str(ws.reports),
              "params_file": str(ws.params_file), "reads_file": str(ws.stage_reads_file(stage))}
    declared = notebook_parameters(notebook)
    unknown = sorted(set(declared) - set(values))
    if unknown:
        raise PipelineError(f"{notebook.relative_to(PROJECT_ROOT)}: its parameters cell declares "
                            f"{', '.join(unknown)}; it may declare only {', '.join(values)} (read every "
                            "other parameter with clientlens.parameters.stage_params)")
    return {name: values[name] for name in declared}


def failed_run(notebook: Path, error: Exception) -> "FailedRun":
    from clientlens.publishing.publish import now_utc
    from clientlens.publishing.run_status import FailedRun

    ename = getattr(error, "ename", type(error).__name__)
    evalue = str(getattr(error, "evalue", error)).strip().splitlines()
    return FailedRun(when=now_utc(), notebook=str(notebook.relative_to(PROJECT_ROOT)),
                     cell=getattr(error, "cell_index", None),
                     error=f"{ename}: {evalue[0] if evalue else ''}".strip().rstrip(":"))


def failure_line(notebook: Path, kept: Path, error: Exception, ws: Workspace = PROJECT) -> str:
    failed = failed_run(notebook, error)
    count = getattr(error, "exec_count", None)
    where = f"cell {failed.cell}" if failed.cell is not None else "a cell"
    if count:
        where += f" (In [{count}])"
    second = f" (the {ws.second_lang} pages)" if ws.second_lang else ""
    return (f"FAILED {failed.notebook}{second} at {where}: {failed.error} "
            f"- the executed notebook is kept at {shown(kept)}")


def ipc_kernel_manager():
    """A kernel manager talking to the kernel over local sockets, not TCP ports: nothing
    listens on the network, and the kernel has no reason to warn about plain-text TCP.

    The sockets get a path of their own kernel's: jupyter_client's default ("kernel-ipc" in
    the working directory) is the same for every kernel, and stages running side by side
    (make -j) would then talk to each other's kernels."""
    import os
    import tempfile
    import uuid

    from jupyter_client.manager import KernelManager
    from traitlets import Unicode, default

    class IPCKernelManager(KernelManager):
        transport = Unicode("ipc")

        @default("ip")
        def _unique_socket_path(self) -> str:
            return os.path.join(tempfile.gettempdir(), f"clientlens-{os.getpid()}-{uuid.uuid4().hex[:12]}-ipc")

    return IPCKernelManager


def run_stage(name: str, ws: Workspace = PROJECT) -> None:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    notebook = NOTEBOOKS_DIR / f"{name}.ipynb"
    if not notebook.exists() and not notebook.with_suffix(".py").exists():
        raise PipelineError(f"no notebook {notebook.relative_to(PROJECT_ROOT)}")
    check_kernel()
    from clientlens.tooling.notebooks import sync_pair

    sync_pair(notebook)
    if not ws.params_file.exists():
        raise PipelineError(f"{shown(ws.params_file)} is missing: run the chain with make report")
    values = stage_parameters(notebook, ws)
    write_if_changed(ws.stage_reads_file(name), "[]\n")  # the stage adds each section it reads
    running = ws.build / "running" / notebook.name
    running.parent.mkdir(parents=True, exist_ok=True)
    # the second pass's stages are told apart: "-> 02-pnl (ru): running"
    label = f"{name} ({ws.second_lang})" if ws.second_lang else name
    print(f"-> {label}: running {notebook.relative_to(PROJECT_ROOT)}", file=sys.stderr, flush=True)
    started, started_at = time.monotonic(), time.time()
    try:
        papermill.execute_notebook(
            str(notebook), str(running), parameters=values, kernel_name=KERNEL_NAME,
            cwd=str(NOTEBOOKS_DIR), progress_bar=False, stderr_file=sys.stderr,
            kernel_manager_class=ipc_kernel_manager(), shutdown_kernel="immediate",
        )
    except PapermillExecutionError as error:
        kept = ws.failed / notebook.name
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(running, kept)
        raise PipelineError(failure_line(notebook, kept, error, ws), failed_run(notebook, error)) from None
    except Exception as error:  # kernel died, notebook unreadable: still one line
        kept = ws.failed / notebook.name
        if running.exists():
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(running, kept)
        raise PipelineError(failure_line(notebook, kept, error, ws), failed_run(notebook, error)) from None
    ws.executed.mkdir(parents=True, exist_ok=True)
    (ws.failed / notebook.name).unlink(missing_ok=True)
    record_stage(name, ws, started_at)
    running.replace(ws.executed / notebook.name)
    print(f"   {label}: done in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)


def seed_second_pass(ws: Workspace, second: Workspace) -> None:
    """Copy into the second pass's processed folder what the first pass's intake wrote, with
    each file's time, so the second pass's intake finds its inputs unchanged and reuses them
    rather than read every export again. Copies, never links: intake and DuckDB write files in
    place, and the first pass's files must change only when the first pass writes them."""
    from clientlens.intake.panel import ANONYMIZE_KEY_FILE
    from clientlens.intake.stage import FINGERPRINT_FILE, intake_outputs

    wanted = intake_outputs(ws.processed)
    for stale in set(intake_outputs(second.processed)) - set(wanted):
        (second.processed / stale).unlink(missing_ok=True)
    have = file_stats(second.processed, wanted)
    for name, stats in file_stats(ws.processed, wanted).items():
        if have.get(name) != stats:
            target = second.processed / name
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.copying")
            shutil.copy2(ws.processed / name, tmp)
            tmp.replace(target)
    # intake's note of what it read and wrote, and the anonymisation key: the second pass's
    # pseudonyms are the first's
    for source, target in [(ws.processed / FINGERPRINT_FILE, second.processed / FINGERPRINT_FILE),
                           (ws.processed.parent / ANONYMIZE_KEY_FILE, second.processed.parent / ANONYMIZE_KEY_FILE)]:
        if source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        else:
            target.unlink(missing_ok=True)


def run_second_stage(name: str, ws: Workspace = PROJECT) -> None:
    """Execute stage `name` again in the second language, on the second pass's own folders,
    once the first pass has run it."""
    lang = second_language(load_params(ws))
    if lang is None:
        raise PipelineError(f"{shown(ws.params_file)}: no second language (second_report_lang) to run {name} in")
    second = ws.second(lang)
    if not (ws.executed / f"{name}.ipynb").exists():
        raise PipelineError(f"{name} in {lang}: the stage has not run in the first language yet")
    if name == stages()[0]:
        seed_second_pass(ws, second)
    run_stage(name, second)


def record_stage(stage: str, ws: Workspace, started_at: float) -> None:
    """After a run: the parameters the stage read become its parameters file (dated before the
    executed notebook, so Make does not take it for a change), and its outputs are noted."""
    target = ws.stage_params_file(stage)
    write_if_changed(target, stage_params_text(load_params(ws), stage, ws))
    os.utime(target, (started_at, started_at))
    write_if_changed(ws.stage_outputs_file(stage), json.dumps(stage_outputs(stage, ws), indent=2) + "\n")


def lineage_for_publication(ws: Workspace = PROJECT):
    from clientlens.publishing.publish import Lineage, git_commit, now_utc

    params = load_params(ws)
    manifest_path = ws.processed / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    period_end = params.get("period_end")
    panel_meta = ws.processed / "panel_meta.json"
    if panel_meta.exists():
        period_end = json.loads(panel_meta.read_text(encoding="utf-8")).get("period_end", period_end)
    inputs = manifest.get("inputs", [])
    if params.get("anonymize"):
        from clientlens.intake.panel import anonymized_inputs

        # ingest's anonymisation names them so already; a manifest it has not reached must not
        # put a client's name in every page's footer
        inputs = anonymized_inputs(inputs)
    return Lineage(
        data_as_of=manifest.get("data_max_date"),
        period_end=period_end,
        params=params,
        git_commit=git_commit(PROJECT_ROOT),
        inputs=inputs,
        built_at=now_utc(),
    )


def run_publish(ws: Workspace = PROJECT) -> None:
    from clientlens.publishing.cards import CardNameClash
    from clientlens.publishing.publish import build_site, publish
    from clientlens.publishing.release import PublishError, check_writable
    from clientlens.publishing.twins import twins

    params = load_params(ws)
    lang, second_lang = params["report_lang"], second_language(params)
    second = ws.second(second_lang) if second_lang else None
    missing = [s for s in stages() if not (ws.executed / f"{s}.ipynb").exists()]
    if second is not None:
        missing += [f"{s} ({second_lang})" for s in stages() if not (second.executed / f"{s}.ipynb").exists()]
    if missing:
        raise PipelineError(f"cannot publish: stages not run yet: {', '.join(missing)}")
    lineage = lineage_for_publication(ws)
    first_twin, second_twin = twins(lang, second_lang) if second_lang else (None, None)
    try:
        check_writable(ws.reports)  # a read-only reports/ is found before the whole site is rendered
        pages = build_site(ws.executed, ws.site, lineage, lang, processed_dir=ws.processed, twin=first_twin)
        if second is not None:
            # the second site inside the first: one set, published (or not) as a whole
            second_lineage = lineage_for_publication(second)
            second_lineage.built_at, second_lineage.git_commit = lineage.built_at, lineage.git_commit
            build_site(second.executed, ws.site / second_lang, second_lineage, second_lang,
                       processed_dir=second.processed, twin=second_twin, project_root=ws.build.parent)
        publish(ws.site, ws.reports)
    except (PublishError, CardNameClash) as error:
        raise PipelineError(str(error)) from None
    ws.failed_run_file.unlink(missing_ok=True)
    also = f" and {shown(ws.reports / second_lang)}/index.html" if second_lang else ""
    print(f"published {len(pages)} pages: {shown(ws.reports)}/index.html{also}", file=sys.stderr)


def note_failed_run(ws: Workspace, failed: "FailedRun") -> None:
    """A stage failed, so this run publishes nothing: the failure is noted, and the published
    index and leadership pages (both languages) say they are from the last good run."""
    from clientlens.publishing.run_status import mark_failed_run

    write_if_changed(ws.failed_run_file, json.dumps(failed.to_dict(), indent=2) + "\n")
    try:
        mark_failed_run(ws.reports, failed)
    except OSError as error:  # the failure is what the user must see, not the banner's
        print(f"make report: the published pages could not be marked as older than this run "
              f"({error.strerror or error})", file=sys.stderr)


def run_demo(overrides: Iterable[str], ws: Workspace = PROJECT) -> None:
    from clientlens import demo

    params = effective_params(overrides)
    ws.raw.mkdir(parents=True, exist_ok=True)
    demo.generate(ws.raw, ws.demo_truth, clients=params.demo_clients, years=params.demo_years,
                  seed=params.seed, end_quarter=params.demo_end_quarter,
                  lapse_quarters=params.lapse_quarters, progress=True)


# --- dependencies -------------------------------------------------------------

def _imported_modules(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("clientlens"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("clientlens"))
    return found


def module_file(module: str) -> Path | None:
    base = PROJECT_ROOT / "src" / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def source_dependencies(entry_sources: Iterable[str]) -> set[Path]:
    """Every src file reachable through clientlens imports from the given sources."""
    seen: set[Path] = set()
    queue = [m for s in entry_sources for m in _imported_modules(s)]
    while queue:
        module = queue.pop()
        parts = module.split(".")
        for i in range(1, len(parts) + 1):  # a module's packages run their __init__ too
            path = module_file(".".join(parts[:i]))
            if path is None or path in seen:
                continue
            seen.add(path)
            queue.extend(_imported_modules(path.read_text(encoding="utf-8")))
    return seen


def notebook_code(notebook: Path) -> str:
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    lines = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            lines += [ln for ln in cell.source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


# Data files a module reads, so a stage that imports the module reruns when they change.
MODULE_DATA = {"src/clientlens/i18n.py": "src/clientlens/locale/*.yaml"}


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _loop_values(tree: ast.AST) -> dict[str, set[str]]:
    """{name: the strings it takes} for `for name, x in [("a", ...), ("b", ...)]` loops."""
    values: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.For) and isinstance(node.target, ast.Tuple)
                and isinstance(node.iter, (ast.List, ast.Tuple))):
            continue
        for position, target in enumerate(node.target.elts):
            items = [e.elts[position] for e in node.iter.elts
                     if isinstance(e, ast.Tuple) and len(e.elts) > position]
            if isinstance(target, ast.Name) and items and all(
                    isinstance(i, ast.Constant) and isinstance(i.value, str) for i in items):
                values.setdefault(target.id, set()).update(i.value for i in items)
    return values


def stage_tables(code: str, where: str) -> tuple[set[str], set[str]]:
    """(tables a notebook's code loads, tables it saves), read from its calls to the
    clientlens.processed and clientlens.analysis.cards loaders and to save_table.

    A table named by anything but a string (or a loop over strings) stops with a
    PipelineError: the Make rules, which let stages run side by side, rest on these names.
    """
    from clientlens.analysis.cards import CARD_TABLES
    from clientlens.processed import PANEL_FILE

    tree = ast.parse(code)
    loops = _loop_values(tree)
    reads: set[str] = set()
    writes: set[str] = set()

    def names(node: ast.Call, position: int, call: str) -> set[str]:
        arg = node.args[position] if len(node.args) > position else None
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return {arg.value}
        if isinstance(arg, ast.Name) and arg.id in loops:
            return loops[arg.id]
        raise PipelineError(f"{where}: line {node.lineno}: {call}() must name its table with a string "
                            "(the stages' Make rules are read from these names)")

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        call = _call_name(node)
        if call == "load_table":
            reads |= names(node, 1, call)
        elif call == "load_panel":
            reads.add(Path(PANEL_FILE).stem)
        elif call == "load_card_tables":
            reads.update(CARD_TABLES)
        elif call == "save_table":
            writes |= names(node, 2, call)
    return reads, writes


def stage_codes() -> dict[str, str]:
    """{stage: its notebook's code}, in chain order."""
    return {name: notebook_code(NOTEBOOKS_DIR / f"{name}.ipynb") for name in stages()}


def stage_io(codes: dict[str, str] | None = None) -> dict[str, tuple[set[str], set[str]]]:
    """{stage: (tables it loads, tables it saves)} (stage_tables), in chain order."""
    codes = stage_codes() if codes is None else codes
    return {name: stage_tables(code, f"notebooks/{name}") for name, code in codes.items()}


def stage_needs(codes: dict[str, str] | None = None) -> dict[str, list[str]]:
    """{stage: the earlier stages whose tables it loads}. The first stage (ingest) writes
    every table no later stage saves; a stage needs the last stage before it saving a table
    it loads. Stages that need nothing of each other may run side by side (make -j)."""
    io = stage_io(codes)
    chain = list(io)
    needs: dict[str, list[str]] = {}
    for position, name in enumerate(chain):
        if position == 0:
            needs[name] = []
            continue
        wanted = set()
        for table in sorted(io[name][0]):
            writers = [s for s in chain[1:position] if table in io[s][1]]
            if not writers and any(table in io[s][1] for s in chain[position:]):
                raise PipelineError(f"notebooks/{name} loads {table}, which only a later stage saves")
            wanted.add(writers[-1] if writers else chain[0])
        wanted = wanted or {chain[0]}  # a stage that loads nothing still runs after ingest
        needs[name] = [s for s in chain if s in wanted]
    return needs


def second_pass_needs(needs: dict[str, list[str]], lang: str) -> dict[str, list[str]]:
    """{"02-pnl (ru)": the stages it waits for} for the second language's pass, as the Makefile
    runs it: after the first pass's run of the stage and the second pass's of those it loads."""
    return {f"{name} ({lang})": [name] + [f"{s} ({lang})" for s in wanted] for name, wanted in needs.items()}


def stage_command(step: str) -> list[str]:
    """The pipeline command that runs a step named as stage_needs or second_pass_needs name it."""
    name, _, lang = step.partition(" (")
    return ["second-stage", name] if lang else ["stage", name]


def make_dependencies() -> str:
    """Make rules: each stage depends on the src files it imports (and the data files they read)
    and on the stages whose tables it loads (stage_needs); the first stage reads the raw files."""
    out = ["# Generated by `python -m clientlens.tooling.pipeline deps`: the src files each stage imports,",
           "# and the stages whose tables it loads."]
    codes = stage_codes()
    needs = stage_needs(codes)
    for name, code in codes.items():
        files = source_dependencies([code])
        for module, pattern in MODULE_DATA.items():
            if PROJECT_ROOT / module in files:
                files |= set(PROJECT_ROOT.glob(pattern))
        files = sorted(files)
        rel = " ".join(str(p.relative_to(PROJECT_ROOT)) for p in files)
        upstream = " ".join(f"build/executed/{s}.ipynb" for s in needs[name]) or "build/raw_inventory.json"
        out.append(f"build/executed/{name}.ipynb: {upstream} {rel}".rstrip())
    out.append("# The second language's pass (the Makefile's SECOND): a stage runs after the first pass's run "
               "of it and the second pass's runs of the stages whose tables it loads.")
    for name in codes:
        upstream = " ".join(f"$(SECOND)/executed/{s}.ipynb" for s in needs[name])
        out.append(f"$(SECOND)/executed/{name}.ipynb: build/executed/{name}.ipynb {upstream}".rstrip())
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    ws = PROJECT
    if argv[0] == "--workdir":
        if len(argv) < 3:
            print(__doc__, file=sys.stderr)
            return 2
        ws, argv = Workspace.under(argv[1]), argv[2:]
    command, rest = argv[0], argv[1:]
    try:
        if command == "prepare":
            prepare(rest, ws)
        elif command == "stage":
            run_stage(rest[0], ws)
        elif command == "second-stage":
            run_second_stage(rest[0], ws)
        elif command == "publish":
            run_publish(ws)
        elif command == "demo":
            run_demo(rest, ws)
        elif command == "deps":
            write_if_changed(BUILD_DIR / "deps.mk", make_dependencies())
        elif command == "kernel":
            repair_kernel()
        elif command == "stages":
            print(" ".join(stages()))
        elif command == "second-lang":
            print(second_language(effective_params(rest).model_dump(mode="json")) or "")
        else:
            print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
            return 2
    except (PipelineError, parameters.ConfigError, QuarterError) as error:
        print(f"make report: {error}", file=sys.stderr)
        if getattr(error, "failed", None) is not None:
            note_failed_run(ws, error.failed)
        return 1
    except OSError as error:
        from clientlens.publishing.release import machine_failure_line

        # a failed write names no file: the folder the run writes under is the one to look at
        line = machine_failure_line(error, error.filename or ws.build.parent)
        if line is None:  # not the machine's fault: the traceback is what a developer needs
            raise
        print(f"make report: {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
