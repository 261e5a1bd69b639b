import sys

from lqmf.copilot.cli import main

sys.exit(main())
