"""pyml's benchmark suite: pyml against PyTorch and NumPy in one process, on the same inputs.

`python -m bench [--quick] [--filter SUBSTR] [--threads N]`; cases live in bench/cases.py, the
worklog of kernel versions (prediction, then measurement) in bench/NOTES.md.
"""
