"""python -m dascourse -- see dascourse/cli.py, or `python -m dascourse --help`."""
from .cli import main

raise SystemExit(main())
