"""`python -m gopolicy ...` (also what `torchrun -m gopolicy train ...` runs)."""
from gopolicy.cli import run

run()
