"""docs/copernica.md: every python example runs as written against the demo."""
import re

from conftest import ROOT, start_server


def test_python_examples_run_against_the_demo(tmp_path):
    server = start_server(tmp_path, "--demo", fixtures=())
    try:
        text = (ROOT / "docs" / "copernica.md").read_text(encoding="utf-8")
        blocks = re.findall(r"```python\n(.*?)```", text, re.S)
        assert len(blocks) >= 2
        namespace: dict = {}
        for block in blocks:
            exec(block.replace("http://127.0.0.1:8080/", server.base_url), namespace)  # noqa: S102
        [row] = server.rows("SELECT COUNT(*) AS n FROM sessions")
        assert row["n"] == 1
    finally:
        server.stop()
