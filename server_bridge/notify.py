"""Order webhooks: when an order finishes, one POST of its status, delivered at least once.

Sending is engine.egress's (the URL rule, the per-attempt deadline, the delivery id header, the
signature): the same as the `notify` node's. Here: deliveries run on a bounded pool, so a slow
receiver holds one slot for one deadline at most and never another tenant's webhook; a failed
attempt is retried after the policy's backoff by a timer, not by a sleeping slot. Each attempt is
counted on the order before it is sent, so a server killed mid-delivery resumes the order's
pending webhook at start and the receiver sees the same delivery id again.
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from engine.egress import (
    NOT_DELIVERED,
    EgressPolicy,
    EgressRefused,
    RetryPolicy,
    delivery_id,
    post_once,
    webhook_headers,
)
from engine.model.vocabulary import WebhookStatus

from .db import Store
from .orders import order_status

EVENT = "order.finished"
log = logging.getLogger("hartomat.notify")


class Notifier:
    """Webhook deliveries of finished orders: `parallel` at a time, retried on a timer."""

    def __init__(self, store: Store, retry: RetryPolicy | None = None, egress: EgressPolicy | None = None,
                 parallel: int = 8) -> None:
        self.store = store
        self.retry = retry or RetryPolicy()
        self.egress = egress or EgressPolicy.from_env()
        self.secret = os.environ.get("HARTOMAT_WEBHOOK_SECRET", "")
        self._pool = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="hartomat-webhook")
        self._due: list[tuple[float, int, str]] = []  # (when, sequence, order id)
        self._busy: set[str] = set()
        self._wake = threading.Condition()
        self._seq = 0
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="hartomat-notify", daemon=True)

    def start(self) -> None:
        if not self.secret:
            log.warning("HARTOMAT_WEBHOOK_SECRET is not set: order webhooks are sent unsigned")
        self._thread.start()
        for row in self.store.all("SELECT id FROM orders WHERE webhook_status = ? AND finished_at IS NOT NULL",
                                  WebhookStatus.PENDING):
            self.order_finished(row["id"])

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def order_finished(self, order_id: str, delay_s: float = 0.0) -> None:
        with self._wake:
            self._seq += 1
            heapq.heappush(self._due, (time.monotonic() + delay_s, self._seq, order_id))
            self._wake.notify()

    def _loop(self) -> None:
        """Hand each due delivery to the pool; sleeps until the next one is due (no timer when none)."""
        with self._wake:
            while not self._stopped:
                if not self._due:
                    self._wake.wait()
                    continue
                when, _, order_id = self._due[0]
                if when > time.monotonic():
                    self._wake.wait(when - time.monotonic())
                    continue
                heapq.heappop(self._due)
                if order_id in self._busy:  # one attempt per order at a time: try again after it
                    heapq.heappush(self._due, (time.monotonic() + self.retry.backoff_s + 0.05, self._seq, order_id))
                    continue
                self._busy.add(order_id)
                self._pool.submit(self._attempt_safely, order_id)

    def _attempt_safely(self, order_id: str) -> None:
        try:
            self.attempt(order_id)
        except Exception as exc:  # never let one order stop the notifier
            log.exception("webhook of %s", order_id)
            self._record(order_id, WebhookStatus.FAILED, None, f"notifier error: {exc.__class__.__name__}")
        finally:
            with self._wake:
                self._busy.discard(order_id)

    def attempt(self, order_id: str) -> str:
        """One attempt at a pending webhook; schedules the next one when it fails and may retry."""
        row = self.store.one("SELECT webhook_url, webhook_status, webhook_attempts FROM orders WHERE id = ?",
                             order_id)
        if row is None or not row["webhook_url"] or row["webhook_status"] != WebhookStatus.PENDING:
            return "skipped"
        attempt = row["webhook_attempts"] + 1
        self._record(order_id, WebhookStatus.PENDING, attempt, None)  # counted before it is sent
        delivery = delivery_id(EVENT, order_id)
        body = json.dumps({"event": EVENT, "delivery_id": delivery, "order": order_status(self.store, order_id)},
                          sort_keys=True).encode("utf-8")
        try:
            result = post_once(self.egress, row["webhook_url"], body, webhook_headers(body, self.secret, delivery),
                               self.retry.deadline_s)
        except EgressRefused as exc:  # DNS changed since submit: never retried
            self._record(order_id, WebhookStatus.FAILED, attempt, str(exc))
            return WebhookStatus.FAILED
        (log.info if result.delivered else log.warning)("webhook %s of %s, attempt %d: %s", delivery, order_id,
                                                        attempt, result.detail)
        if result.delivered:
            self._record(order_id, WebhookStatus.DELIVERED, attempt, None)
            return WebhookStatus.DELIVERED
        if attempt >= self.retry.attempts:
            self._record(order_id, WebhookStatus.FAILED, attempt, NOT_DELIVERED)
            return WebhookStatus.FAILED
        self._record(order_id, WebhookStatus.PENDING, attempt, NOT_DELIVERED)
        self.order_finished(order_id, self.retry.delay(attempt))
        return WebhookStatus.PENDING

    def _record(self, order_id: str, status: WebhookStatus, attempts: int | None, error: str | None) -> None:
        with self.store.tx() as c:
            c.execute("UPDATE orders SET webhook_status = ?, webhook_attempts = coalesce(?, webhook_attempts), "
                      "webhook_error = ? WHERE id = ?", (status, attempts, error, order_id))
