"""What the portal refuses an external participant, in its catalogs' words: each refusal is a message of strings.EN
(and of every language's catalog) with its values, so the page or the API answer says it in the visitor's language
(languages.say). Its English, sizes in bytes and numbers as plain digits, is the error's `detail` for the logs."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from caseline_common.errors import FieldIssue, ForbiddenError, InvalidInputError, NotFoundError

from ..strings import EN


@dataclass(frozen=True)
class Size:
    """A number of bytes, written as the visitor's language writes sizes ("20 MB")."""

    bytes: int


@dataclass(frozen=True)
class Number:
    """A number, written as the visitor's language writes numbers ("10,000", "10.000")."""

    value: int


Value = str | Size | Number


@dataclass(frozen=True)
class Said:
    key: str
    values: Mapping[str, Value] = field(default_factory=dict)

    def english(self) -> str:
        return EN[self.key].format(**{name: _plain(value) for name, value in self.values.items()})


def _plain(value: Value) -> str:
    if isinstance(value, Size):
        return f"{value.bytes} bytes"
    return str(value.value) if isinstance(value, Number) else value


class Worded:
    """A refusal whose words are catalog messages: `said` its detail, `said_issues` its issues' in their order."""

    said: Said
    said_issues: tuple[Said, ...] = ()


class Invalid(Worded, InvalidInputError):
    def __init__(self, said: Said, issues: Mapping[str, Said]) -> None:
        InvalidInputError.__init__(
            self,
            said.english(),
            [FieldIssue(pointer=pointer, detail=each.english()) for pointer, each in issues.items()],
        )
        self.said, self.said_issues = said, tuple(issues.values())


class Refused(Worded, ForbiddenError):
    def __init__(self, said: Said) -> None:
        ForbiddenError.__init__(self, said.english())
        self.said = said


class Unknown(Worded, NotFoundError):
    def __init__(self, said: Said) -> None:
        NotFoundError.__init__(self, said.english())
        self.said = said
