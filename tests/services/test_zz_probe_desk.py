from pathlib import Path
import pytest

@pytest.mark.parametrize("i", range(4))
def test_probe(backend_dir: Path, i: int) -> None:
    pass
