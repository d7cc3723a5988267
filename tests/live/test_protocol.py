"""The signalling protocol as a pure module: every input parses or names its problem."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.live.protocol import (
    MAX_MESSAGE_BYTES,
    Chat,
    Join,
    Media,
    MediaState,
    PeerInfo,
    PeerJoined,
    Peers,
    ProtocolError,
    RecordConsent,
    Signal,
    TokenBucket,
    from_json,
    to_json,
)


def test_client_messages_parse_into_typed_objects() -> None:
    assert from_json('{"type":"join"}') == Join()
    assert from_json('{"type":"join","peer_id":"p1","media":{"video":false}}') == Join(
        peer_id="p1", media=Media(audio=True, video=False)
    )
    signal = from_json('{"type":"signal","to":"p2","data":{"candidate":"x"}}')
    assert signal == Signal(to="p2", data={"candidate": "x"})
    assert from_json('{"type":"chat","text":"hi"}') == Chat(text="hi")
    assert from_json('{"type":"media-state","audio":false}') == MediaState(Media(audio=False))
    assert from_json('{"type":"record-consent","consent":true}') == RecordConsent(True)


def test_a_client_cannot_choose_its_sender() -> None:
    parsed = from_json('{"type":"chat","text":"hi","from":"someone-else"}')
    assert isinstance(parsed, Chat) and parsed.sender is None


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "bad-json"),
        ("[1,2]", "bad-json"),
        ('{"type":"dance"}', "unknown-type"),
        ('{"no":"type"}', "unknown-type"),
        ('{"type":"signal","data":{}}', "invalid"),
        ('{"type":"signal","to":"p","data":"sdp"}', "invalid"),
        ('{"type":"chat","text":"  "}', "invalid"),
        ('{"type":"media-state","audio":"off"}', "invalid"),
        ('{"type":"record-consent"}', "invalid"),
        ('{"type":"join","peer_id":12}', "invalid"),
        ("x" * (MAX_MESSAGE_BYTES + 1), "too-big"),
        ("[" * 60_000, "bad-json"),
        ('{"type":"signal","to":"p","data":' + '{"a":' * 5_000 + "1" + "}" * 5_001, "bad-json"),
    ],
)
def test_bad_messages_name_their_problem(raw: str, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        from_json(raw)
    assert caught.value.code == code


@given(st.text(max_size=300))
def test_any_text_parses_or_raises_a_protocol_error(raw: str) -> None:
    try:
        from_json(raw)
    except ProtocolError as exc:
        assert exc.code in {"bad-json", "unknown-type", "invalid", "too-big"}


@given(
    st.dictionaries(
        st.sampled_from(["type", "to", "data", "text", "consent", "peer_id", "audio"]),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.text(max_size=20),
            st.sampled_from(["join", "signal", "chat", "media-state", "record-consent", "bye"]),
            st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
        ),
    )
)
def test_any_object_parses_or_raises_a_protocol_error(raw: dict[str, object]) -> None:
    try:
        parsed = from_json(json.dumps(raw))
    except ProtocolError as exc:
        assert exc.code in {"unknown-type", "invalid"}
    else:
        assert parsed.type == raw["type"]


def test_server_messages_round_trip_through_json() -> None:
    info = PeerInfo("p1", "u1", "Ada", "Europe/Berlin", 12.5, Media(video=False), consent=True)
    assert PeerInfo.from_dict(json.loads(json.dumps(info.to_dict()))) == info
    peers = json.loads(to_json(Peers(you=info, peers=(), recording=False)))
    assert peers["type"] == "peers" and peers["you"]["media"]["video"] is False
    joined = json.loads(to_json(PeerJoined(info, resumed=True)))
    assert joined == {"type": "peer-joined", "peer": info.to_dict(), "resumed": True}
    relayed = json.loads(to_json(Signal("p2", {"sdp": "v=0"}, sender="p1")))
    assert relayed == {"type": "signal", "to": "p2", "from": "p1", "data": {"sdp": "v=0"}}


def test_token_bucket_allows_bursts_then_the_rate() -> None:
    bucket = TokenBucket(rate=10, burst=5)
    assert all(bucket.allow(0.0) for _ in range(5))
    assert not bucket.allow(0.0)
    assert bucket.allow(0.1)  # one token back after 1/10 s
    assert not bucket.allow(0.1)


def test_a_relayed_signal_keeps_the_clients_text_and_gains_only_from() -> None:
    raw = '{"type":"signal","to":"p2","data":{"description":{"type":"offer","sdp":"v=0\\r\\n"}}}'
    parsed = from_json(raw)
    assert isinstance(parsed, Signal) and parsed.raw == raw
    relayed = Signal(parsed.to, parsed.data, sender="p1", raw=parsed.raw)
    assert json.loads(to_json(relayed)) == {
        "type": "signal",
        "to": "p2",
        "from": "p1",
        "data": {"description": {"type": "offer", "sdp": "v=0\r\n"}},
    }


def test_a_signal_with_extra_fields_is_rebuilt_so_nothing_else_is_relayed() -> None:
    parsed = from_json('{"type":"signal","to":"p2","data":{},"from":"forged","x":1}')
    assert isinstance(parsed, Signal) and parsed.raw is None
    relayed = json.loads(to_json(Signal(parsed.to, parsed.data, sender="p1", raw=parsed.raw)))
    assert relayed == {"type": "signal", "to": "p2", "from": "p1", "data": {}}
