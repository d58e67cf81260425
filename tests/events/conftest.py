"""Fixtures of the events tests: a real HTTP receiver on 127.0.0.1, endpoints, outbox events."""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction

from rapport.events.services import emit
from rapport.events.webhooks import WebhookService
from rapport.tenancy.actors import Actor


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP server answering each POST with the next scripted status (then `default`)."""

    server: ThreadingHTTPServer
    statuses: list[int] = field(default_factory=list)
    default: int = 200
    delay: float = 0.0  # seconds before each answer
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/rapport"

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else self.default


def start_receiver(**options) -> Receiver:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if receiver.delay:
                time.sleep(receiver.delay)
            with receiver.lock:
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
            status = receiver.next_status()
            answer = f"answered {status}".encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # a client that gave up (a timeout test) is no failure of the receiver

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(server=server, **options)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return receiver


@pytest.fixture
def receiver():
    receiver = start_receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def local_webhooks(settings):
    """Webhooks may reach 127.0.0.1, as in local development."""
    settings.RAPPORT_WEBHOOK_ALLOW_PRIVATE = True
    return settings


@pytest.fixture
def actor(tenant):
    return Actor.for_system(tenant, "tests")


@pytest.fixture
def make_endpoint(actor, local_webhooks):
    def make(url: str, **fields):
        return WebhookService.create_endpoint(actor=actor, url=url, **fields)

    return make


@pytest.fixture
def make_event(tenant):
    """make_event(type, data) writes an outbox event as a service would."""

    def make(type: str = "customer.tagged", data: dict | None = None, of_tenant=None):
        with transaction.atomic():
            return emit(of_tenant or tenant, type, data or {"code": "ADA-1", "tags": ["VIP"]})

    return make
