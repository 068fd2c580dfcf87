"""Background tasks of routing suggestions, run by the huey consumer (``hashdesk worker``)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from hashdesk.core.logging import get_logger

log = get_logger(__name__)


@db_periodic_task(crontab(minute="40", hour="2"))
def retrain_routing() -> int:
    """Nightly: learn assignment groups and categories again from the incidents resolved so
    far; returns how many models were trained."""
    # Imported here: the model pulls in scikit-learn, which only the worker needs.
    from hashdesk.insights import routing

    trained = 0
    for target in routing.TARGETS:
        model = routing.train(target)
        if model is None:
            log.info("routing model not trained: too little history", target=target)
            continue
        trained += 1
        log.info(
            "routing model trained",
            target=target,
            examples=model.examples,
            accuracy=model.metrics.get("accuracy"),
        )
    return trained
