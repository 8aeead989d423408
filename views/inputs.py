"""What the app takes from a request before any view reads it.

`<int:...>` in any route, present or future, is a row id (`cases.ids`). The query string and a
url-encoded form must be UTF-8: Werkzeug keeps bytes that are not as `%FF` text, which a form
would then store, and fails on raw ones in a query string; here either answers 400.
"""
from __future__ import annotations

from urllib.parse import parse_qsl

from flask import Flask, Request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest
from werkzeug.formparser import FormDataParser
from werkzeug.routing import IntegerConverter
from werkzeug.utils import cached_property

from cases.ids import ID_DIGITS, MAX_ID


def register(app: Flask) -> None:
    """Before the blueprints: a rule picks its converter when it is added to the map."""
    app.url_map.converters["int"] = IdConverter
    app.request_class = StrictRequest


class IdConverter(IntegerConverter):
    """Werkzeug's `int`, bounded to the ids a row can have: `/cases/9223372036854775808` answers
    404 like any case that does not exist, instead of failing in the database."""
    regex = ID_DIGITS

    def __init__(self, map, fixed_digits: int = 0, min: int = 1, max: int = MAX_ID, signed: bool = False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class NotUtf8(BadRequest):
    description = _l("Địa chỉ hoặc biểu mẫu gửi lên không phải là văn bản UTF-8.")


def utf8_pairs(raw: bytes) -> list[tuple[str, str]]:
    """`name=value` pairs as Werkzeug reads them, but refusing bytes that are not UTF-8.

    :raise NotUtf8: (400) raw or percent-encoded bytes that are not UTF-8.
    """
    try:
        return parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise NotUtf8() from None


class StrictFormParser(FormDataParser):
    def _parse_urlencoded(self, stream, mimetype, content_length, options):
        # The stream is already limited to MAX_CONTENT_LENGTH. A multipart form needs nothing
        # here: Werkzeug decodes it with U+FFFD for bad bytes, which the forms refuse.
        return stream, self.cls(utf8_pairs(stream.read())), self.cls()


class StrictRequest(Request):
    form_data_parser_class = StrictFormParser

    @cached_property
    def args(self):
        return self.parameter_storage_class(utf8_pairs(self.query_string))
