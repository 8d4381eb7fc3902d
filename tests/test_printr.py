from __future__ import annotations

import pytest

from bot.inferno.printr import PrintRError, parse_print_r

SPEC_SUCCESS = (
    "[method] => createVPS [result] => success [msg] => ok [retx] => Array ( [result] => success "
    "[msg] => VSCD: VPS added to queue [error_code] => 0 )"
)
SPEC_FAIL = (
    "Array ( [method] => createVPS [result] => fail [msg] => Vps exists with current main_id "
    "(21968) , W:47012 [error_code] => 904 )"
)


def test_spec_example_without_outer_array() -> None:
    assert parse_print_r(SPEC_SUCCESS) == {
        "method": "createVPS",
        "result": "success",
        "msg": "ok",
        "retx": {"result": "success", "msg": "VSCD: VPS added to queue", "error_code": "0"},
    }


def test_spec_example_wrapped_with_parentheses_in_value() -> None:
    assert parse_print_r(SPEC_FAIL) == {
        "method": "createVPS",
        "result": "fail",
        "msg": "Vps exists with current main_id (21968) , W:47012",
        "error_code": "904",
    }


def test_multiline_php_layout_nested_three_deep() -> None:
    text = """Array
(
    [method] => createVPS
    [retx] => Array
        (
            [result] => success
            [data] => Array
                (
                    [vps] => Array
                        (
                            [ip] => 37.1.0.111
                            [note] => a, b (c)
                        )

                )

        )

    [result] => success
)
"""
    assert parse_print_r(text) == {
        "method": "createVPS",
        "retx": {
            "result": "success",
            "data": {"vps": {"ip": "37.1.0.111", "note": "a, b (c)"}},
        },
        "result": "success",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Array ( )", {}),
        ("Array\n(\n)\n", {}),
        ("Array()", {}),
        ("[a] => Array ( ) [b] => 1", {"a": {}, "b": "1"}),
        ("Array ( [a] => Array\n        (\n        )\n\n)", {"a": {}}),
    ],
)
def test_empty_arrays(text: str, expected: dict[str, object]) -> None:
    assert parse_print_r(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Array([a]=>1[b]=>Array([c]=>x))", {"a": "1", "b": {"c": "x"}}),
        (
            "  \n\tArray\t(\n[a]   =>   spaced   value  \n\n [b]=>\n)\n  ",
            {"a": "spaced   value", "b": ""},
        ),
        ("\ufeff[result] => success\r\n[msg] => ok\r\n", {"result": "success", "msg": "ok"}),
        ("Array ( [msg] => ends with (parens) )", {"msg": "ends with (parens)"}),
        (
            "Array ( [msg] => unbalanced ) inside [x] => 1 )",
            {"msg": "unbalanced ) inside", "x": "1"},
        ),
        ("Array ( [0] => first [1] => second )", {"0": "first", "1": "second"}),
        ("stdClass Object ( [a] => 1 )", {"a": "1"}),
    ],
)
def test_odd_spacing_and_values(text: str, expected: dict[str, object]) -> None:
    assert parse_print_r(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n ",
        "hello world",
        '{"result": "success"}',
        "<html><body>Just a moment...</body></html>",
        "Array ( [a] => 1",
        "Array ( [a] => Array ( [b] => 2 )",
        "Array ( [a] => 1 ) trailing junk",
        "Array ( junk )",
        ") [a] => 1",
    ],
)
def test_garbage_raises_value_error(text: str) -> None:
    with pytest.raises(PrintRError):
        parse_print_r(text)
    assert issubclass(PrintRError, ValueError)
