"""`python -m desktop` is `honk`."""

import sys

from desktop.cli.main import main

sys.exit(main())
