"""Chat webhooks against a real HTTP server on loopback: what each flavor posts, DingTalk's
signature, and what happens when the chat service says no."""

import base64
import hashlib
import hmac
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from celery.exceptions import Retry

from playbooks import notifications
from playbooks.models import Delivery, Notification, Team, WebhookChannel
from playbooks.notifications import DeliveryError, build_webhook_payload, notify, send_delivery
from playbooks.tasks import deliver
from tests.factories import UserFactory

SITE = "https://cs.example.com"


class Receiver:
    """A chat service stand-in: records every request and answers with `status` and `reply`."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        self.reply: dict | str = {"errcode": 0, "errmsg": "ok"}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                parts = urllib.parse.urlsplit(self.path)
                receiver.requests.append(
                    {
                        "method": self.command,
                        "path": parts.path,
                        "query": urllib.parse.parse_qs(parts.query),
                        "raw_query": parts.query,
                        "headers": dict(self.headers),
                        "json": json.loads(raw),
                    }
                )
                body = receiver.reply if isinstance(receiver.reply, str) else json.dumps(receiver.reply)
                data = body.encode()
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


@pytest.fixture
def team(maria_manager, alice_csm):
    team = Team.objects.create(name="North")
    team.managers.add(maria_manager)
    team.members.add(alice_csm, maria_manager)
    return team


def webhook(team, receiver, flavor, *, path="/hook", secret="", active=True):
    return WebhookChannel.objects.create(
        team=team,
        name=f"{flavor} room",
        flavor=flavor,
        url=receiver.url + path,
        secret=secret,
        is_active=active,
    )


def post_to_team(team, django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            recipients=list(team.managers.all()),
            kind="sla_breached",
            title=kwargs.pop("title", "2 tasks breached their SLA"),
            body=kwargs.pop("body", "· Acme Ltd — Call the champion"),
            url="/queue/team/",
            chat_team=team,
            **kwargs,
        )


def test_it_posts_slack_blocks_with_an_absolute_link(team, receiver, django_capture_on_commit_callbacks):
    channel = webhook(team, receiver, "slack", path="/services/T000/B000/XXX")
    post_to_team(team, django_capture_on_commit_callbacks, body="· Acme <Ltd> & co")

    [request] = receiver.requests
    assert request["method"] == "POST"
    assert request["path"] == "/services/T000/B000/XXX"
    assert request["headers"]["Content-Type"].startswith("application/json")
    payload = request["json"]
    assert "2 tasks breached their SLA" in payload["text"]
    assert f"{SITE}/queue/team/" in payload["text"]
    [block] = payload["blocks"]
    assert block["type"] == "section"
    assert block["text"]["type"] == "mrkdwn"
    assert block["text"]["text"].startswith(f"*<{SITE}/queue/team/|2 tasks breached their SLA>*")
    # mrkdwn control characters in the text are escaped, so nobody can forge a link or mention.
    assert "Acme &lt;Ltd&gt; &amp; co" in block["text"]["text"]
    delivery = Delivery.objects.get(webhook=channel)
    assert delivery.status == "sent"
    assert delivery.attempts == 1
    assert delivery.sent_at is not None


def test_it_signs_dingtalk_requests_the_documented_way(team, receiver, django_capture_on_commit_callbacks):
    secret = "SEC0123456789abcdef"
    webhook(team, receiver, "dingtalk", path="/robot/send?access_token=tok123", secret=secret)
    post_to_team(team, django_capture_on_commit_callbacks)

    [request] = receiver.requests
    assert request["path"] == "/robot/send"
    assert request["query"]["access_token"] == ["tok123"]
    timestamp = request["query"]["timestamp"][0]
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert request["query"]["sign"] == [expected]
    # The sign is URL-encoded on the wire: base64's + / = never appear raw.
    raw_sign = request["raw_query"].split("sign=")[1]
    assert urllib.parse.unquote_plus(raw_sign) == expected
    assert not set(raw_sign) & set("+/=")
    payload = request["json"]
    assert payload["msgtype"] == "markdown"
    assert payload["markdown"]["title"] == "2 tasks breached their SLA"
    assert payload["markdown"]["text"].startswith("### 2 tasks breached their SLA")
    assert f"({SITE}/queue/team/)" in payload["markdown"]["text"]


def test_an_unsigned_dingtalk_robot_gets_no_signature(team, receiver, django_capture_on_commit_callbacks):
    webhook(team, receiver, "dingtalk", path="/robot/send?access_token=tok123")
    post_to_team(team, django_capture_on_commit_callbacks)
    [request] = receiver.requests
    assert set(request["query"]) == {"access_token"}


def test_it_posts_wecom_markdown(team, receiver, django_capture_on_commit_callbacks):
    webhook(team, receiver, "wecom", path="/cgi-bin/webhook/send?key=k1")
    post_to_team(team, django_capture_on_commit_callbacks, title="客戶 Acme 風險升高", body="· 取消意向")

    [request] = receiver.requests
    assert request["query"] == {"key": ["k1"]}
    payload = request["json"]
    assert payload["msgtype"] == "markdown"
    content = payload["markdown"]["content"]
    assert content.startswith("**客戶 Acme 風險升高**")
    assert "· 取消意向" in content
    assert f"({SITE}/queue/team/)" in content


def test_only_the_teams_active_channels_get_the_post(team, receiver, django_capture_on_commit_callbacks):
    webhook(team, receiver, "slack", path="/on")
    webhook(team, receiver, "slack", path="/off", active=False)
    other = Team.objects.create(name="South")
    webhook(other, receiver, "slack", path="/other")
    post_to_team(team, django_capture_on_commit_callbacks)
    assert [r["path"] for r in receiver.requests] == ["/on"]


def test_a_delivery_shows_the_channel_not_its_token(team, receiver, django_capture_on_commit_callbacks):
    webhook(team, receiver, "wecom", path="/send?key=very-secret-key")
    post_to_team(team, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert "very-secret-key" not in delivery.to
    assert delivery.to == "North: wecom room"


def test_one_failed_attempt_is_counted_and_raised(team, receiver, maria_manager):
    receiver.status = 500
    receiver.reply = {"error": "boom"}
    channel = webhook(team, receiver, "slack")
    delivery = Delivery.objects.create(
        channel="webhook", webhook=channel, to=str(channel), payload={"text": "hi"}
    )

    with pytest.raises(DeliveryError, match="HTTP 500"):
        send_delivery(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert delivery.attempts == 1
    assert "HTTP 500" in delivery.last_error
    assert "boom" in delivery.last_error
    assert not Notification.objects.filter(kind="delivery_failed").exists()


@pytest.fixture
def full_retry_chain():
    """Eager tasks re-raise Retry when eager propagation is on (the project's setting, so that
    errors surface in tests); with it off, apply() runs every retry in turn, back-off skipped."""
    conf = deliver.app.conf
    before = conf.task_eager_propagates
    conf.task_eager_propagates = False
    yield
    conf.task_eager_propagates = before


def test_a_server_error_is_retried_with_growing_pauses(team, receiver):
    receiver.status = 500
    channel = webhook(team, receiver, "slack")
    delivery = Delivery.objects.create(
        channel="webhook", webhook=channel, to=str(channel), payload={"text": "hi"}
    )

    with pytest.raises(Retry) as first:
        deliver.apply(args=[delivery.pk])
    with pytest.raises(Retry) as fourth:
        deliver.apply(args=[delivery.pk], retries=3)

    assert first.value.when == 60
    assert fourth.value.when == 480
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert delivery.attempts == 2
    assert "HTTP 500" in delivery.last_error
    assert not Notification.objects.filter(kind="delivery_failed").exists()


def test_after_the_last_retry_it_is_marked_failed_and_the_managers_told(team, receiver, maria_manager):
    receiver.status = 500
    channel = webhook(team, receiver, "slack")
    delivery = Delivery.objects.create(
        channel="webhook", webhook=channel, to=str(channel), payload={"text": "hi"}
    )

    assert deliver.apply(args=[delivery.pk], retries=deliver.max_retries).get() == "failed"

    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert "HTTP 500" in delivery.last_error
    [notice] = Notification.objects.filter(kind="delivery_failed")
    assert notice.recipient == maria_manager
    assert "North: slack room" in notice.title
    assert "HTTP 500" in notice.body
    assert notice.url.endswith("?status=failed")


def test_the_whole_retry_chain_ends_failed_after_six_attempts(
    team, receiver, maria_manager, full_retry_chain
):
    receiver.status = 500
    channel = webhook(team, receiver, "slack")
    delivery = Delivery.objects.create(
        channel="webhook", webhook=channel, to=str(channel), payload={"text": "hi"}
    )

    assert deliver.apply(args=[delivery.pk]).get() == "failed"

    assert len(receiver.requests) == 1 + deliver.max_retries
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.attempts == 6
    assert Notification.objects.filter(kind="delivery_failed", recipient=maria_manager).count() == 1


def test_an_errcode_in_a_200_answer_is_retried_then_failed(team, receiver, maria_manager, full_retry_chain):
    receiver.reply = {"errcode": 310000, "errmsg": "sign not match"}
    channel = webhook(team, receiver, "dingtalk", path="/robot/send?access_token=t", secret="SECx")
    delivery = Delivery.objects.create(
        channel="webhook",
        webhook=channel,
        to=str(channel),
        payload={"msgtype": "text", "text": {"content": "x"}},
    )

    assert deliver.apply(args=[delivery.pk]).get() == "failed"

    assert len(receiver.requests) == 6
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.attempts == 6
    assert delivery.last_error == "errcode 310000: sign not match"
    [notice] = Notification.objects.filter(kind="delivery_failed")
    assert notice.recipient == maria_manager
    assert "errcode 310000" in notice.body


def test_a_failure_raised_while_enqueuing_does_not_break_the_caller(
    team, receiver, maria_manager, django_capture_on_commit_callbacks
):
    # Without a broker the task runs at commit and its first retry raises: the notification
    # and the delivery are committed all the same, and the delivery waits, pending, for a requeue.
    receiver.status = 500
    webhook(team, receiver, "slack")
    post_to_team(team, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert delivery.status == "pending"
    assert delivery.attempts == 1
    assert Notification.objects.filter(kind="sla_breached").count() == 1


def test_wecom_errcodes_count_too_but_slack_text_answers_do_not(team, receiver):
    receiver.reply = {"errcode": 93000, "errmsg": "invalid webhook url"}
    wecom = webhook(team, receiver, "wecom", path="/send?key=k")
    delivery = Delivery.objects.create(
        channel="webhook", webhook=wecom, to="x", payload={"msgtype": "markdown"}
    )
    with pytest.raises(DeliveryError, match="errcode 93000"):
        send_delivery(delivery.pk)

    receiver.reply = "ok"
    slack = webhook(team, receiver, "slack")
    delivery = Delivery.objects.create(channel="webhook", webhook=slack, to="x", payload={"text": "hi"})
    assert send_delivery(delivery.pk).status == "sent"


def test_a_sent_delivery_is_not_sent_again(team, receiver):
    channel = webhook(team, receiver, "slack")
    delivery = Delivery.objects.create(channel="webhook", webhook=channel, to="x", payload={"text": "hi"})
    assert deliver.apply(args=[delivery.pk]).get() == "sent"
    assert deliver.apply(args=[delivery.pk]).get() == "sent"
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1


def test_a_retry_after_a_failure_can_succeed(
    team, receiver, maria_manager, full_retry_chain, django_capture_on_commit_callbacks
):
    from playbooks.notifications import retry_delivery

    receiver.status = 503
    channel = webhook(team, receiver, "slack")
    delivery = Delivery.objects.create(channel="webhook", webhook=channel, to="x", payload={"text": "hi"})
    deliver.apply(args=[delivery.pk])
    receiver.status = 200
    receiver.reply = "ok"
    delivery.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        retry_delivery(delivery=delivery, user=maria_manager)
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert delivery.attempts == 7
    assert delivery.last_error == ""


def test_an_unreachable_webhook_is_recorded(team):
    channel = WebhookChannel.objects.create(
        team=team, name="gone", flavor="slack", url="http://127.0.0.1:9/nothing"
    )
    delivery = Delivery.objects.create(channel="webhook", webhook=channel, to="x", payload={"text": "hi"})
    with pytest.raises(DeliveryError):
        send_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.last_error
    assert delivery.attempts == 1


def test_a_non_http_url_is_refused_without_a_request(team):
    channel = WebhookChannel.objects.create(team=team, name="file", flavor="slack", url="file:///etc/passwd")
    delivery = Delivery.objects.create(channel="webhook", webhook=channel, to="x", payload={"text": "hi"})
    with pytest.raises(DeliveryError, match="http"):
        send_delivery(delivery.pk)


def test_the_webhook_managers_fallback_when_the_team_has_none(receiver, db):
    lonely = Team.objects.create(name="Lonely")
    boss = UserFactory(username="boss", roles=["manager"])
    receiver.status = 500
    channel = webhook(lonely, receiver, "slack")
    delivery = Delivery.objects.create(channel="webhook", webhook=channel, to="x", payload={"text": "hi"})
    deliver.apply(args=[delivery.pk], retries=deliver.max_retries)
    assert Notification.objects.get(kind="delivery_failed").recipient == boss


def test_payloads_link_relative_urls_to_the_site():
    for flavor in ("slack", "dingtalk", "wecom"):
        payload = build_webhook_payload(flavor, title="T", body="B", url="/accounts/7/")
        assert f"{SITE}/accounts/7/" in json.dumps(payload)


def test_long_wecom_bodies_fit_the_4096_byte_limit():
    payload = build_webhook_payload("wecom", title="標題", body="風險帳戶\n" * 2000, url="/queue/team/")
    content = payload["markdown"]["content"]
    assert len(content.encode()) <= 4096
    assert content.endswith(f"({SITE}/queue/team/)")


def test_long_slack_text_fits_a_section():
    payload = build_webhook_payload("slack", title="T", body="x" * 10000, url="")
    assert len(payload["blocks"][0]["text"]["text"]) <= 3000


def test_an_unknown_flavor_is_a_programming_error():
    with pytest.raises(ValueError, match="flavor"):
        build_webhook_payload("teams", title="T", body="", url="")


def test_the_signature_helper_matches_the_documented_example():
    # The helper is deterministic for a given timestamp: check the assembly of the URL.
    url = notifications.dingtalk_signed_url(
        "https://oapi.dingtalk.com/robot/send?access_token=a", "s", timestamp_ms=1
    )
    digest = base64.b64encode(hmac.new(b"s", b"1\ns", hashlib.sha256).digest()).decode()
    assert url == (
        "https://oapi.dingtalk.com/robot/send?access_token=a&timestamp=1&sign="
        + urllib.parse.quote_plus(digest)
    )
