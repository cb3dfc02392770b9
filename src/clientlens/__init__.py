"""clientlens: which clients make money, which are toxic, and what the spiral brings next."""
import sys

__version__ = "0.1.0"

# jsonschema (under nbformat, papermill and nbconvert) imports rfc3987_syntax when it is
# installed (jupyterlab pulls it in), and that module compiles 38 grammars at import: about
# 2 s in every stage runner and in publish, about 14 s of a report. Nothing here checks the "iri"
# format it serves, so it stays unimported; jsonschema skips the check, as when it is absent.
sys.modules.setdefault("rfc3987_syntax", None)
