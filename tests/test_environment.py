"""The pins: requirements.in, requirements.lock and environment.yml never drift apart."""
from clientlens.tooling import lockfile


def test_every_direct_requirement_is_locked():
    pins = lockfile.locked_pins()
    missing = [name for name in lockfile.direct_requirements() if name not in pins]
    assert not missing, f"requirements.in names packages requirements.lock does not pin: {missing}"


def test_lock_pins_exact_versions():
    for name, version in lockfile.locked_pins().items():
        assert version and version[0].isdigit(), f"{name} is not pinned to an exact version"


def test_environment_yml_matches_the_lock():
    python, env_pins = lockfile.environment_pins()
    lock = lockfile.locked_pins()
    assert python == lockfile.PYTHON_VERSION
    assert set(env_pins) == set(lockfile.direct_requirements())
    drift = {name: (v, lock.get(name)) for name, v in env_pins.items() if lock.get(name) != v}
    assert not drift, f"environment.yml and requirements.lock disagree (env, lock): {drift}; run make lock"


def test_environment_yml_is_what_make_lock_writes():
    assert (lockfile.PROJECT_ROOT / "environment.yml").read_text() == lockfile.render_environment_yml()


def test_notebook_tools_load_without_the_grammar_compiling_iri_checker():
    """A fresh process that imports clientlens, then nbformat, never loads rfc3987_syntax
    (2 s of grammar compiling per stage runner), and nbformat still validates notebooks."""
    import subprocess
    import sys

    script = ("import sys, clientlens, nbformat\n"
              "nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')]))\n"
              "print(sys.modules.get('rfc3987_syntax'))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "None", done.stdout
