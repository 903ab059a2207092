"""The probe library and the region worker. Pure: a check spec in, an outcome out.

Never imports Django or another app: a region worker has no database credentials.

    spec.py       the contract with the scheduler and the aggregator (CheckSpec, Outcome, messages)
    runner.py     the registry of probes by monitor type, per-check deadline, concurrency bound
    fairness.py   the worker's slots shared fairly between teams; checks that would start too late
    withdrawn.py  paused and deleted monitors, written by the control plane, read by the worker
    engine.py     one event loop per worker process: admits batches, publishes their outcomes
    worker.py     the Celery app of `celery -A probes.worker worker -Q probe.<region>`
    http.py       status / expected_status_code / keyword / keyword_absence, redirects, cookies
    transport.py  the httpx transport: fresh HTTP/1.1 connection per request, phases recorded
    connection.py a fresh TCP (+TLS) connection with a read buffer
    tcp.py udp.py dns.py icmp.py mail.py   the other monitor types
    guard.py      name resolution and the private-address guard
    tls.py        shared SSL contexts, certificate expiry and issuer
    timing.py     the per-check trace of phases
    failures.py   exceptions and the human causes of a failure
"""
