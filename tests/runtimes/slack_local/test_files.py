"""File uploads the way ``files_upload_v2`` makes them: URL, bytes, completion; and what Slack refuses."""

from __future__ import annotations

import http.client
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from runtimes.slack_local import LocalSlack
from runtimes.slack_local.files import MAX_UPLOAD_BYTES

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def _post_raw(url: str, body: bytes, declared: int | None = None) -> int:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port)
    conn.putrequest("POST", parts.path)
    conn.putheader("Content-Length", str(len(body) if declared is None else declared))
    conn.endheaders()
    conn.send(body)
    status = conn.getresponse().status
    conn.close()
    return status


def test_files_upload_v2_shares_the_file_in_the_thread(slack: LocalSlack, client: WebClient) -> None:
    card = client.chat_postMessage(channel="#mlops", text="Drift in production")
    answer = client.files_upload_v2(
        channel=card["channel"],
        thread_ts=card["ts"],
        file=PNG,
        filename="drift-production-v1.png",
        title="Drift · production v1",
        alt_txt="age: PSI 3.7 (drift)",
    )
    file_id = answer["file"]["id"]
    assert [c.method for c in slack.calls()][-2:] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    assert slack.file_bytes(file_id) == PNG
    (reply,) = slack.thread(card["ts"])
    assert reply.thread_ts == card["ts"]
    (doc,) = reply.files
    assert doc == {
        "id": file_id,
        "name": "drift-production-v1.png",
        "title": "Drift · production v1",
        "filetype": "png",
        "mimetype": "image/png",
        "size": len(PNG),
        "alt_txt": "age: PSI 3.7 (drift)",
    }
    shared = client.conversations_replies(channel=card["channel"], ts=card["ts"])["messages"][1]
    assert shared["files"][0]["id"] == file_id and shared["upload"] is True


def test_without_a_channel_the_file_stays_private(slack: LocalSlack, client: WebClient) -> None:
    before = len(slack.messages())
    answer = client.files_upload_v2(file=PNG, filename="chart.png", title="chart")
    assert slack.file_bytes(answer["file"]["id"]) == PNG
    assert len(slack.messages()) == before  # shared nowhere


def test_a_files_dir_keeps_the_bytes_under_a_name_that_cannot_leave_it(tmp_path: Path) -> None:
    files = tmp_path / "files"
    with LocalSlack(files_dir=files) as slack:
        client = slack.web_client()
        answer = client.files_upload_v2(file=PNG, filename="../../../etc/passwd", channel="#mlops")
        found = slack.file(answer["file"]["id"])
        assert found is not None and found.path is not None
        assert found.path.parent == files and found.path.read_bytes() == PNG
        assert found.path.name == f"{found.id}-passwd"
        (shared,) = [m for m in slack.messages() if m.files]
        assert slack.file_path(shared.files[0]) == found.path  # found again from the message alone
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [found.path.name]


def test_what_slack_refuses_is_refused(slack: LocalSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as zero:
        client.files_getUploadURLExternal(filename="a.png", length=0)
    assert zero.value.response["error"] == "missing_argument"
    with pytest.raises(SlackApiError) as alt:
        client.files_getUploadURLExternal(filename="a.png", length=10, alt_txt="x" * 1001)
    assert alt.value.response["error"] == "alt_txt_too_large"
    with pytest.raises(SlackApiError) as big:
        client.files_getUploadURLExternal(filename="a.png", length=MAX_UPLOAD_BYTES + 1)
    assert big.value.response["error"] == "file_upload_size_restricted"
    # completing a file whose bytes never arrived, or one already completed
    pending = client.files_getUploadURLExternal(filename="a.png", length=len(PNG))
    with pytest.raises(SlackApiError) as early:
        client.files_completeUploadExternal(files=[{"id": pending["file_id"]}])
    assert early.value.response["error"] == "file_not_found"
    done = client.files_upload_v2(file=PNG, filename="b.png")
    with pytest.raises(SlackApiError) as twice:
        client.files_completeUploadExternal(files=[{"id": done["file"]["id"]}])
    assert twice.value.response["error"] == "file_not_found"
    # a reply's ts is no thread to share into
    card = client.chat_postMessage(channel="#mlops", text="card")
    reply = client.chat_postMessage(channel="#mlops", text="reply", thread_ts=card["ts"])
    with pytest.raises(SlackApiError) as thread:
        client.files_upload_v2(file=PNG, filename="c.png", channel=card["channel"], thread_ts=reply["ts"])
    assert thread.value.response["error"] == "invalid_thread_ts"
    assert not [m for m in slack.messages() if m.files]


def test_the_upload_url_takes_exactly_the_announced_bytes(slack: LocalSlack, client: WebClient) -> None:
    grant = client.files_getUploadURLExternal(filename="a.png", length=len(PNG))
    assert _post_raw(grant["upload_url"], PNG[:-1]) == 400  # shorter than announced
    assert _post_raw(grant["upload_url"], PNG, declared=MAX_UPLOAD_BYTES + 1) == 413  # refused unread
    assert slack.file_bytes(grant["file_id"]) is None
    assert _post_raw(grant["upload_url"], PNG) == 200
    assert _post_raw(slack.url + "/upload/FNOSUCHFILE", PNG) == 404
