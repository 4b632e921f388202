"""The client has its whole answer before the gateway's bookkeeping for the request (price, settle, metrics,
the log row) runs: that work is off the client's clock, and nothing of it is skipped.

The gateway runs on its own thread (GatewayThread) so that its loop can be held inside `Gateway.finish`
while the official SDKs, on this thread, read the answer."""
from __future__ import annotations

import asyncio
import sqlite3
import threading

import anthropic
import openai
import pytest

from app.core.config import config_from_text
from app.proxy.server_thread import GatewayThread
from conftest import VK_A, gateway_yaml

HOLD_S = 10.0  # how long finish waits for the client to say it has the answer (only reached on failure)


@pytest.fixture
async def held_gateway(tmp_path, mock_upstream, test_env):
    """A gateway whose `finish` waits until the test says the client has read its answer."""
    config = config_from_text(gateway_yaml(tmp_path, mock_upstream), "test.yaml", base_dir=tmp_path)
    gateway = GatewayThread(config, port=0)
    await gateway.start()
    gw = gateway.server.gateway
    answered, finished = threading.Event(), []
    original = gw.finish

    def finish(record):
        finished.append(answered.wait(HOLD_S))  # True: the client had the answer while this was still to run
        original(record)

    gw.finish = finish
    try:
        yield gateway, answered, finished
    finally:
        answered.set()
        await gateway.stop()


def anthropic_message(url: str) -> str:
    client = anthropic.Anthropic(base_url=url + "/anthropic", api_key=VK_A, max_retries=0, timeout=HOLD_S * 2)
    reply = client.messages.create(model="claude-haiku-4-5", max_tokens=20, messages=[{"role": "user", "content": "hi"}])
    return reply.content[0].text


def anthropic_stream(url: str) -> str:
    client = anthropic.Anthropic(base_url=url + "/anthropic", api_key=VK_A, max_retries=0, timeout=HOLD_S * 2)
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=20,
                                messages=[{"role": "user", "content": "hi"}]) as stream:
        return stream.get_final_message().content[0].text


def openai_completion(url: str) -> str:
    client = openai.OpenAI(base_url=url + "/openai/v1", api_key=VK_A, max_retries=0, timeout=HOLD_S * 2)
    reply = client.chat.completions.create(model="claude-haiku-4-5", max_tokens=20,
                                           messages=[{"role": "user", "content": "hi"}])
    return reply.choices[0].message.content


@pytest.mark.parametrize("ask", [anthropic_message, anthropic_stream, openai_completion])
async def test_the_client_has_its_answer_before_the_bookkeeping(held_gateway, ask):
    gateway, answered, finished = held_gateway
    text = await asyncio.to_thread(ask, gateway.url)
    answered.set()
    assert text  # the SDK read a complete answer (a stream with its message_stop) while finish was held
    for _ in range(200):
        if finished:
            break
        await asyncio.sleep(0.01)
    assert finished == [True]  # finish ran once, after the client had everything, not before it was written
    await gateway.stop()  # drains the request log
    with sqlite3.connect(gateway.server.config.sqlite_path) as db:
        status, cost, output = db.execute("select status, cost_micro_usd, output_tokens from request_log").fetchone()
    assert status == 200 and cost > 0 and output > 0  # nothing of the bookkeeping was skipped
