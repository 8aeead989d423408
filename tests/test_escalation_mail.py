"""End to end (issue 19): the day's escalation digests, written to the outbox, reach a real SMTP
server (aiosmtpd on 127.0.0.1) — each recipient once, with the cases of their scope and tier
and nothing else; a second send changes nothing."""
from __future__ import annotations

from cases.models.scheduling import RunOutcome
from scheduler.process import Runner
from tests import test_escalation, test_mail
from tests.test_escalation import BASE, expected_listings, run_and_write

# The two files' fixtures, shared: the stalled cases and their people, and the SMTP server.
scene, smtp = test_escalation.scene, test_mail.smtp


def cases_listed(message) -> set[int]:
    body = message.get_content()
    return {int(line.rsplit("/", 1)[1]) for line in body.splitlines() if f"{BASE}/cases/" in line}


def test_each_digest_reaches_its_recipient_once_with_the_cases_of_their_scope(app, scene, smtp):
    people, cases = scene
    run_and_write()
    assert Runner(app, "a").run_now("send_outbox") is RunOutcome.OK

    received = {m["To"].addresses[0].addr_spec: m for m in smtp.mailbox.received}
    expected = expected_listings(cases)
    assert {people[who].email: listed for who, listed in expected.items()} == \
        {address: cases_listed(message) for address, message in received.items()}
    assert len(smtp.mailbox.received) == len(expected)            # one each
    for message in smtp.mailbox.received:
        assert message["Message-ID"].startswith("<digest-2026-05-15-")
        for case in cases.values():
            assert case.national_id not in message.get_content()  # masked

    assert Runner(app, "b").run_now("send_outbox") is RunOutcome.OK
    assert len(smtp.mailbox.received) == len(expected)            # nothing sent twice
