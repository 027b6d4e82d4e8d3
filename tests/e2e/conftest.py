"""What the local runtime's tests share: one runtime per test module (module scope), its customer
messages in a temporary outbox, never the repository's."""

from __future__ import annotations

import os

import pytest

from infra import wiring
from local.runtime import LocalOms


@pytest.fixture(scope="module")
def outbox(tmp_path_factory):
    return tmp_path_factory.mktemp("outbox")


@pytest.fixture(scope="module")
def oms(outbox):
    previous = os.environ.get(wiring.ENV.local_outbox)
    os.environ[wiring.ENV.local_outbox] = str(outbox)  # customer messages land here, not in the repo
    runtime = LocalOms(port=0, retry_delay_s=1).start()
    yield runtime
    runtime.stop()
    if previous is None:
        os.environ.pop(wiring.ENV.local_outbox, None)
    else:
        os.environ[wiring.ENV.local_outbox] = previous
