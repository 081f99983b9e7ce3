"""`python -m gopolicy ...` (also what `torchrun -m gopolicy train ...` runs)."""
import sys

from gopolicy.cli import main

sys.exit(main())
