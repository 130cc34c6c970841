"""The course service: forum and progress records for a cohort, run by JupyterHub as a hub service."""
