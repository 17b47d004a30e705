"""``python -m mockserver`` is the same as the ``mockserver`` command."""
from mockserver.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
