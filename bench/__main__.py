"""python -m bench [--quick] [--only 1,3] [--profile]: see bench/run.py."""

from bench.run import main

raise SystemExit(main())
