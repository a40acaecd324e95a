# mmhelpers: this environment's Jupyter configuration, for nbconvert and the Jupyter server.
#
# Installed by scripts/setup_export.sh (`make setup`) into <environment>/etc/jupyter/ as
# jupyter_nbconvert_config.py and jupyter_server_config.py, so that `jupyter nbconvert --to pdf`
# and JupyterLab's File > Save and Export Notebook As (served by `make lab`) export the notebooks
# as the learner ran them:
# * this environment's bin/ first on PATH: `make setup` links pandoc (from the pypandoc_binary
#   wheel) there, found even when the environment is not activated;
# * nbconvert's LaTeX template plus the counter pandoc's tables need (scripts/nbconvert/);
# * cells tagged as tools/report_copy.py tags them lose what the project's own export drops:
#   the opening cell's input ("setup"), and whole cells that only work in the Lab ("lab-only":
#   the interactive controls, whose static twin is the cell before them);
# * kernels on IPC sockets (local files), so ipykernel has no unencrypted TCP to warn about.
import os
import sys

_bin = os.path.join(sys.prefix, "Scripts" if os.name == "nt" else "bin")
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")

c = get_config()  # noqa: F821 (defined by Jupyter when it loads this file)
_templates = os.path.join(sys.prefix, "share", "jupyter", "nbconvert", "mmhelpers")
if os.path.isfile(os.path.join(_templates, "mmhelpers.tex.j2")):
    c.LatexExporter.extra_template_paths = [_templates]
    c.LatexExporter.template_file = "mmhelpers.tex.j2"
c.TagRemovePreprocessor.remove_input_tags = {"setup", "remove-input"}
c.TagRemovePreprocessor.remove_cell_tags = {"remove-cell", "lab-only"}
if os.name != "nt":
    c.KernelManager.transport = "ipc"
