import sys
from pathlib import Path

# Benchmarks reuse the test suite's vector loader.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
