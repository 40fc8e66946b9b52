"""The README's Python tour runs as written."""
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))


def test_readme_python_blocks_run():
    text = open(os.path.join(HERE, "..", "README.md")).read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "README has no python block"
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})
