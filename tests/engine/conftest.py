"""The Spark session shared by the engine tests (local mode, two cores)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def spark():
    from confiance.engine.spark import session

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = session("local[2]", shuffle_partitions=2)
    yield spark
    spark.stop()
