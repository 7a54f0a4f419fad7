"""JupyterLab settings of `make lab`, which the browser tests load too.

Jupyter reads this file with ``jupyter lab --config=jupyter_lab_config.py``. ``c``
is the configuration object Jupyter passes to a config file.
"""

from akv_helpers.profile import kit_home

c = get_config()  # type: ignore[name-defined]  # noqa: F821

# The link JupyterLab prints opens the first notebook, not the launcher.
c.LabApp.default_url = "/lab/tree/00-start-here.ipynb"
# Autosave writes no outputs, and so no IDs or messages, into the checkout.
c.ContentsManager.pre_save_hook = "akv_helpers.notebook_hooks.strip_outputs"
# Workspaces of the kit's own, so that JupyterLab does not reopen the tabs of
# another project's session.
c.LabApp.workspaces_dir = str(kit_home() / "lab-workspaces")
