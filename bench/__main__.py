"""``python -m bench [--quick] [--users 10,50,200] [--runs 3] ...`` — see ``bench/run.py``;
``python -m bench alerts [--accounts 10000]`` — see ``bench/alerts_bench.py``;
``python -m bench scale [--users 50,200] [--replicas 1,2]`` — see ``bench/scale_bench.py``."""

from __future__ import annotations

import sys

from bench.run import main

if __name__ == "__main__":
    if sys.argv[1:2] == ["alerts"]:
        from bench.alerts_bench import main as alerts_main

        sys.exit(alerts_main(sys.argv[2:]))
    if sys.argv[1:2] == ["scale"]:
        from bench.scale_bench import main as scale_main

        sys.exit(scale_main(sys.argv[2:]))
    sys.exit(main(sys.argv[1:]))
