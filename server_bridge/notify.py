"""Order webhooks: one signed POST when an order finishes, retried with backoff.

The body is the order's status JSON; `X-Hartomat-Signature: sha256=<hex>` is the HMAC-SHA256
of the body with the secret from $HARTOMAT_WEBHOOK_SECRET (as the `notify` node signs). URLs
go only where the egress policy allows (engine.egress), checked at submit and again at delivery.
Delivery state lives on the order (pending, delivered, failed), so a restarted server resumes
what was still pending.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import queue
import threading
import time

from engine.egress import EgressPolicy
from engine.model.vocabulary import WebhookStatus

from .db import Store
from .orders import order_status

SIGNATURE_HEADER = "X-Hartomat-Signature"


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class Notifier:
    """A daemon thread delivering finished orders' webhooks one at a time."""

    def __init__(self, store: Store, attempts: int = 5, backoff_s: float = 0.5, timeout_s: float = 10.0,
                 egress: EgressPolicy | None = None) -> None:
        self.store = store
        self.egress = egress or EgressPolicy.from_env()
        self.attempts, self.backoff_s, self.timeout_s = attempts, backoff_s, timeout_s
        self.secret = os.environ.get("HARTOMAT_WEBHOOK_SECRET", "")
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="hartomat-notify", daemon=True)

    def start(self) -> None:
        self._thread.start()
        for row in self.store.all("SELECT id FROM orders WHERE webhook_status = ? AND finished_at IS NOT NULL",
                                  WebhookStatus.PENDING):
            self._queue.put(row["id"])

    def stop(self) -> None:
        self._queue.put(None)

    def order_finished(self, order_id: str) -> None:
        self._queue.put(order_id)

    def _loop(self) -> None:
        while (order_id := self._queue.get()) is not None:
            try:
                self.deliver(order_id)
            except Exception as exc:  # never let one order stop the notifier
                self._record(order_id, WebhookStatus.FAILED, 0, f"notifier error: {exc}")

    def deliver(self, order_id: str) -> str:
        from engine.egress import COULD_NOT_CONNECT, EgressRefused, delivery_failed, post

        row = self.store.one("SELECT webhook_url, webhook_status FROM orders WHERE id = ?", order_id)
        if row is None or not row["webhook_url"] or row["webhook_status"] != WebhookStatus.PENDING:
            return "skipped"
        body = json.dumps({"event": "order.finished", "order": order_status(self.store, order_id)},
                          sort_keys=True).encode("utf-8")
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, self.secret)}
        error = ""
        for attempt in range(1, self.attempts + 1):
            try:
                status = post(self.egress, row["webhook_url"], body, headers, self.timeout_s)
            except EgressRefused as exc:  # DNS changed since submit: never retried
                self._record(order_id, WebhookStatus.FAILED, attempt, str(exc))
                return WebhookStatus.FAILED
            if isinstance(status, int) and status < 300:
                self._record(order_id, WebhookStatus.DELIVERED, attempt, None)
                return WebhookStatus.DELIVERED
            error = delivery_failed(status) if isinstance(status, int) else COULD_NOT_CONNECT
            self._record(order_id, WebhookStatus.PENDING, attempt, error)
            if attempt < self.attempts:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
        self._record(order_id, WebhookStatus.FAILED, self.attempts, error)
        return WebhookStatus.FAILED

    def _record(self, order_id: str, status: WebhookStatus, attempts: int, error: str | None) -> None:
        with self.store.tx() as c:
            c.execute("UPDATE orders SET webhook_status = ?, webhook_attempts = ?, webhook_error = ? WHERE id = ?",
                      (status, attempts, error, order_id))
