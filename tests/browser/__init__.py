"""The browser tests: a package, so that their fixtures (Chromium, the student's JupyterLab) end
with the last of them (scope="package") instead of running on through the rest of the suite."""
