"""Import every compiled extension module in the image's venv: proof that stripping the wheels
(strip-wheels.sh) broke none, and that each finds the libraries it links to. Exit 1 names the ones
that failed."""

import importlib
import sys
import sysconfig
from pathlib import Path

# Tk bindings: they need tkinter, which a CI image's Python has no use for (and slim lacks).
NEEDS_TK = {"PIL._imagingtk", "matplotlib.backends._tkagg"}

site = Path(sysconfig.get_paths()["purelib"])
failed = []
count = 0
for path in sorted(site.rglob("*.so")):
    relative = path.relative_to(site)
    if relative.parts[0].endswith((".libs", ".data")):
        continue  # vendored shared libraries, loaded by the extensions that link them
    if relative.name.startswith("lib") and relative.name.count(".") == 1:
        continue  # a shared library beside the extensions (pyarrow's libarrow_python.so), not a module
    module = ".".join((*relative.parts[:-1], relative.name.split(".")[0]))
    if module in NEEDS_TK:
        continue
    count += 1
    try:
        importlib.import_module(module)
    except ImportError as exc:
        failed.append(f"{module}: {exc}")
print(f"imported {count - len(failed)} of {count} extension modules")
if failed:
    print("\n".join(failed), file=sys.stderr)
    sys.exit(1)
