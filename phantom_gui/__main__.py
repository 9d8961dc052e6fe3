"""`python -m phantom_gui` runs the `phantom` command."""

import sys

from phantom_gui.cli import main

sys.exit(main())
