import pytest


def pytest_collection_modifyitems(config, items):
    """Every test under tests/cuda needs a GPU: mark it so the root conftest skips it without one."""
    for item in items:
        if "/tests/cuda/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.cuda)
