"""Four small seeded images in a module-scoped folder, and the CSV reader, for the evaluation tests."""
import csv

import pytest

from tests.fixtures_model import write_images


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("eval_images")
    write_images(str(d), 4, 32, 32, seed=5)
    return str(d)


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))
