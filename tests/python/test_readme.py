"""The Python examples in python/README.md run as written."""

import os
import re

README = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      'python', 'README.md')


def test_readme_examples_run():
    with open(README, encoding='utf-8') as f:
        text = f.read()
    blocks = re.findall(r'```python\n(.*?)```', text, re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, README, 'exec'), {})
