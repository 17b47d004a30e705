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


def test_the_method_tables_are_the_service_table():
    """docs/copernica.md has a table per object: its emulated methods are the service table's
    (W where they write), the rest of the object's catalogue methods are listed not emulated."""
    from mockserver.copernica import catalogue, service
    text = (ROOT / "docs" / "copernica.md").read_text(encoding="utf-8")
    methods = text[text.index("## Methods"):text.index("## Rules")]
    sections = dict(re.findall(r"^### (\w+)\n(.*?)(?=^### |\Z)", methods, re.S | re.M))
    documented: set[str] = set()
    for obj, body in sections.items():
        if obj == "The":
            continue
        names = [n for n in catalogue.operations() if catalogue.object_of(n) == obj]
        rows = re.findall(r"^\| `(\w+)`( W)? \|", body, re.M)
        listed = re.findall(r"`(\w+)`", body.split("Not emulated:", 1)[1]) \
            if "Not emulated:" in body else []
        emulated = [n for n in names if n in service.METHODS]
        assert sorted(n for n, _ in rows) == sorted(emulated), obj
        assert {n: bool(w) for n, w in rows} == {
            n: service.METHODS[n].write and n != "login" for n in emulated}, obj
        assert sorted(listed) == sorted(set(names) - set(emulated)), obj
        assert f"{len(names)} catalogue methods, {len(emulated)} emulated." in body, obj
        documented |= set(emulated)
    assert documented == set(service.METHODS)
