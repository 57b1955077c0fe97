"""Personal links to a run's page: bound to a user and a run, signed, expiring."""

from __future__ import annotations

import pytest

from chatops.engine.domain.links import LinkRefused, read_token, token_for

KEY = b"k" * 32


def test_a_link_names_its_user_and_run_until_it_expires() -> None:
    token = token_for(KEY, 7, "U_LEAD", expires=1_000)
    got = read_token(KEY, token, 7, now=999)
    assert (got.run_id, got.user, got.expires) == (7, "U_LEAD", 1_000)
    with pytest.raises(LinkRefused, match="expired"):
        read_token(KEY, token, 7, now=1_000)


def test_a_link_for_one_run_opens_no_other() -> None:
    token = token_for(KEY, 7, "U_LEAD", expires=1_000)
    with pytest.raises(LinkRefused, match="for run #7, not #8"):
        read_token(KEY, token, 8, now=1)


@pytest.mark.parametrize("part", [1, 2, 3, 4])
def test_any_change_to_a_link_is_refused(part: int) -> None:
    token = token_for(KEY, 7, "U_LEAD", expires=1_000)
    pieces = token.split(".")
    other = {1: "8", 2: token_for(KEY, 7, "U_ARCH", 1_000).split(".")[2], 3: "99999", 4: "x" * 43}
    pieces[part] = other[part]
    with pytest.raises(LinkRefused):
        read_token(KEY, ".".join(pieces), int(pieces[1]), now=1)


def test_a_link_made_with_another_key_or_garbage_is_refused() -> None:
    token = token_for(b"other" * 8, 7, "U_LEAD", expires=1_000)
    with pytest.raises(LinkRefused, match="changed or made elsewhere"):
        read_token(KEY, token, 7, now=1)
    for junk in ("", "v1", "v2.7.VV9MRUFE.1000.sig", "v1.seven.VV9MRUFE.1000.sig", "v1.7.%%.1.s"):
        with pytest.raises(LinkRefused, match="not one chatops made"):
            read_token(KEY, junk, 7, now=1)


def test_a_link_is_made_only_for_a_plain_user_name_and_with_a_key() -> None:
    with pytest.raises(ValueError):
        token_for(KEY, 7, "U<script>", expires=1_000)
    with pytest.raises(ValueError):
        token_for(b"", 7, "U_LEAD", expires=1_000)
