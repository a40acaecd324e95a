# mmhelpers: put this environment's bin/ first on PATH for nbconvert and the Jupyter server.
#
# Installed by scripts/setup_export.sh (`make setup`) into <environment>/etc/jupyter/ as
# jupyter_nbconvert_config.py and jupyter_server_config.py. `make setup` links pandoc (from the
# pypandoc_binary wheel) into <environment>/bin; with this, `jupyter nbconvert --to pdf` and the
# PDF export of `make lab`'s server find it even when the environment is not activated.
import os
import sys

_bin = os.path.join(sys.prefix, "Scripts" if os.name == "nt" else "bin")
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")
