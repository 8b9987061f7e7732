"""The rules, as pure functions: no server, no subprocess, many small cases.

Like CPython's own test_csv: the rules of a valid CSV row and header and
every message they give, the settings (precedence, empty values, ``.env``
read literally, validation), the check of an existing table's columns, and
the DECIMAL reader are tested on values in memory (or a few bytes in a
temporary file, where the function reads a path). The end-to-end tests of
what a user sees (printed lines, exit codes, the database left as it was)
stay in test_csv_input.py, test_seed.py and test_reliability.py.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from prodev import config, csvfile
from prodev.backends import MYSQL, SQLITE
from prodev.backends.base import Column, exact_number
from prodev.backends.mysql import COLUMNS as MYSQL_COLUMNS
from prodev.backends.sqlite import _affinity
from prodev.config import Config, check_size, check_user_id, load_config
from prodev.csvfile import HEADER_MAX, User, problem, read_users, user_id_for
from prodev.errors import SetupError, printable, shown
from prodev.schema import check_columns

HEADER = '"name","email","age"'
AGE_RULE = "field 'age' is not an age from 0 to 999.99 with at most two decimals: "

# ----------------------------------------------------------- one row's rules


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (("Bob", "bob@x.com"), "expected 3 fields, found 2"),
        (("Bob", "bob@x.com", "31", "x"), "expected 3 fields, found 4"),
        (("", "bob@x.com", "31"), "field 'name' is empty"),
        (("   ", "bob@x.com", "31"), "field 'name' is empty"),
        (("Bob", "\t", "31"), "field 'email' is empty"),
        (("Bob", "bob@x.com", ""), "field 'age' is empty"),
        (("Bo\x00b", "bob@x.com", "31"), "field 'name' contains a NUL byte: 'Bo\\x00b'"),
        (("Bob", "b\x00@x.com", "31"), "field 'email' contains a NUL byte: 'b\\x00@x.com'"),
        (("Jos\udce9", "jose@x.com", "31"), "field 'name' is not valid UTF-8: 'Jos\\udce9'"),
        (
            ("N" * 256, "bob@x.com", "31"),
            f"field 'name' is longer than 255 characters: '{'N' * 40}'... (256 characters)",
        ),
        (
            ("Bob", "e" * 250 + "@x.com", "31"),
            f"field 'email' is longer than 255 characters: '{'e' * 40}'... (256 characters)",
        ),
    ],
    ids=lambda value: repr(value)[:30] if isinstance(value, tuple) else "",
)
def test_a_bad_row_is_named_by_its_first_problem(values: tuple[str, ...], message: str) -> None:
    assert problem(values) == message


@pytest.mark.parametrize(
    "age",
    [
        *("thirty", "-1", "1000", "30.555", "1.", ".5", " 5", "5 ", "1e2", "1,5", "+5", "0x10"),
        *("\u0661\u0662", "\uff11\uff12", "\u09e9\u09e6", "12.\u0665", "\u00b2"),  # not ASCII
    ],
)
def test_an_age_outside_0_to_999_99_in_ascii_digits_is_refused(age: str) -> None:
    assert problem(("Bob", "bob@x.com", age)) == AGE_RULE + repr(age)


@pytest.mark.parametrize(
    "values",
    [
        ("Ann", "ann@x.com", "0"),
        ("Ann", "ann@x.com", "000"),
        ("Ann", "ann@x.com", "999.99"),
        ("Ann", "ann@x.com", "30.5"),
        ("N" * 255, "e" * 255, "67"),
        ("日" * 255, "\U0001f600" * 255, "1.05"),
        ("back\\slash\tand tab", "\\N", "2"),
        ('line\nbreak, "quoted"', " Spaced@X.com ", "3"),
    ],
    ids=[
        "0",
        "000",
        "999.99",
        "30.5",
        "at the limits",
        "multi-byte at the limits",
        "escapes",
        "newline and quotes",
    ],
)
def test_a_valid_row_has_no_problem(values: tuple[str, str, str]) -> None:
    assert problem(values) is None


def test_the_user_id_is_the_uuid5_of_the_trimmed_lower_cased_email() -> None:
    expected = str(uuid.uuid5(csvfile.USER_ID_NAMESPACE, "ann@x.com"))
    assert user_id_for(" Ann@X.com\t") == user_id_for("ann@x.com") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("short", "'short'"),
        ("a" * 40, repr("a" * 40)),
        ("a" * 41, f"{'a' * 40!r}... (41 characters)"),
        ("9" * 100_000, f"{'9' * 40!r}... (100,000 characters)"),
        ("esc\x1b[2J", "'esc\\x1b[2J'"),
    ],
    ids=["short", "40", "41", "huge", "control characters"],
)
def test_a_value_in_an_error_is_quoted_escaped_and_cut(value: str, expected: str) -> None:
    assert shown(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("users.csv", "users.csv"), ("dir/ü.csv", "dir/ü.csv"), ("a\x1bb\udcff", "a\\x1bb\\udcff")],
)
def test_a_path_is_printed_escaped_only_when_it_must_be(text: str, expected: str) -> None:
    assert printable(text) == expected


# ---------------------------------------------------------------- the header


@pytest.mark.parametrize(
    ("header", "order"),
    [
        (["name", "email", "age"], [0, 1, 2]),
        (["age", "email", "name"], [2, 1, 0]),
        ([" Name ", "EMAIL", "Age"], [0, 1, 2]),
    ],
)
def test_the_header_names_the_three_columns_in_any_order(
    header: list[str], order: list[int]
) -> None:
    assert csvfile._column_order("f.csv", header) == order


HEADER_RULE = (
    "f.csv: line 1: the header must name the columns name, email, age once each "
    "(in any order, nothing else); found: "
)


@pytest.mark.parametrize(
    ("header", "found"),
    [
        (["name", "email"], "'name', 'email'"),
        (["name", "email", "age", "city"], "'name', 'email', 'age', 'city'"),
        (["name", "name", "age"], "'name', 'name', 'age'"),
        ([], "nothing"),
        ([f"c{n}" for n in range(10_000)], "'c0', 'c1', 'c2', 'c3', 'c4', ... (10,000 columns)"),
        (["name", "email", "\x1b[2Jage"], "'name', 'email', '\\x1b[2Jage'"),
    ],
    ids=["missing", "extra", "twice", "empty", "ten thousand", "control characters"],
)
def test_a_wrong_header_is_one_line_showing_what_it_holds(header: list[str], found: str) -> None:
    with pytest.raises(SetupError) as error:
        csvfile._column_order("f.csv", header)
    assert str(error.value) == HEADER_RULE + found


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'f.csv: the file is empty; expected a header "name","email","age"'),
        ('"name,email,age\n', "f.csv: line 1: malformed CSV header: "),
        (
            "x" * (HEADER_MAX + 1),
            f"f.csv: line 1: the header is longer than {HEADER_MAX:,} characters; "
            f'expected "name","email","age": {"x" * 40!r}... ({HEADER_MAX + 1:,} characters)',
        ),
    ],
    ids=["empty", "malformed", "too long"],
)
def test_a_header_that_cannot_be_read_is_one_line(text: str, message: str) -> None:
    with pytest.raises(SetupError) as error:
        csvfile._header(io.StringIO(text), "f.csv")
    assert str(error.value).startswith(message)


# ----------------------------------------------------------- a whole file


@pytest.fixture
def read(tmp_path: Path) -> Callable[[str | bytes], list[tuple[str, str, str]]]:
    """read_users over a file of ``content``: its rows as (name, email, age)."""

    def read_file(content: str | bytes) -> list[tuple[str, str, str]]:
        path = tmp_path / "f.csv"
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return [(user.name, user.email, user.age) for user in read_users(path)]

    return read_file


@pytest.fixture
def errors(
    tmp_path: Path, read: Callable[[str | bytes], list]
) -> Callable[[str | bytes], list[str]]:
    """The lines of read_users' error for a file of ``content``, the path as ``f.csv``."""

    def error_lines(content: str | bytes) -> list[str]:
        with pytest.raises(SetupError) as error:
            read(content)
        return str(error.value).replace(str(tmp_path / "f.csv"), "f.csv").splitlines()

    return error_lines


def lines(*rows: str, header: str = HEADER, end: str = "\n") -> str:
    return end.join((header, *rows)) + end


def test_a_file_reads_in_order_with_bom_crlf_blank_lines_and_no_last_newline(
    read: Callable,
) -> None:
    text = "\ufeff" + lines('"Ann","ann@x.com","30"', "", '"Bob","bob@x.com","31.5"', end="\r\n")
    assert read(text.rstrip("\r\n")) == [("Ann", "ann@x.com", "30"), ("Bob", "bob@x.com", "31.5")]


def test_a_header_alone_is_a_file_of_no_users(read: Callable) -> None:
    assert read(HEADER) == []


def test_columns_in_another_order_come_back_as_name_email_age(read: Callable) -> None:
    assert read(lines('"30","ann@x.com","Ann"', header="age,email,name")) == [
        ("Ann", "ann@x.com", "30")
    ]


def test_a_quoted_field_keeps_commas_quotes_and_newlines(read: Callable) -> None:
    assert read(lines('"Smith, ""Jr""\r\nof Paris","s@x.com","41"')) == [
        ('Smith, "Jr"\r\nof Paris', "s@x.com", "41")
    ]


def test_users_carry_the_user_id_of_their_email(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text(lines('"Ann"," Ann@X.com","30"'), encoding="utf-8")
    assert list(read_users(path)) == [User(user_id_for("ann@x.com"), "Ann", " Ann@X.com", "30")]


def test_the_first_five_bad_lines_are_named_and_the_rest_counted(errors: Callable) -> None:
    rows = []
    for n in range(1, 9):
        rows += [f'"Good {n}","good{n}@x.com","{n}"', f'"Bad {n}","bad{n}@x.com","x{n}"']
    assert errors(lines(*rows)) == [
        *(f"f.csv: line {2 * n + 1}: {AGE_RULE}'x{n}'" for n in range(1, 6)),
        "f.csv: and 3 more bad lines",
    ]


def test_a_stray_quote_ends_the_reading_and_joins_the_bad_lines(errors: Callable) -> None:
    found = errors(
        lines(
            '"Bob","bob@x.com","old"', '"Cy","cy@x.com","x"', '"Di","di@x.com,"33"', '"Ed","e","3"'
        )
    )
    assert found[:2] == [f"f.csv: line 2: {AGE_RULE}'old'", f"f.csv: line 3: {AGE_RULE}'x'"]
    assert found[2].startswith("f.csv: line 4: malformed CSV: ")
    assert len(found) == 3


def test_an_unterminated_quote_is_named_at_the_line_it_starts(errors: Callable) -> None:
    (line,) = errors(lines('"Ann","a@x.com","1"', '"Bob","bob@x.com","31', "cy,cy@x.com,32"))
    assert line.startswith("f.csv: line 3: malformed CSV: ")


def test_bytes_that_are_not_utf8_are_named_with_their_line(errors: Callable) -> None:
    content = lines('"Ann","a@x.com","1"').encode() + b'"Jos\xe9","jose@x.com","31"\n'
    assert errors(content) == ["f.csv: line 3: field 'name' is not valid UTF-8: 'Jos\\udce9'"]


def test_a_missing_file_or_a_folder_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="cannot open: No such file or directory"):
        list(read_users(tmp_path / "missing.csv"))
    with pytest.raises(SetupError, match=r": is a directory, not a CSV file$"):
        list(read_users(tmp_path))


# ------------------------------------------------------------- the settings


@pytest.fixture
def dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[[bytes], None]]:
    """Write the project's ``.env`` (in a temporary project root); none until called."""
    monkeypatch.setattr(config, "ROOT", tmp_path)
    config._dotenv.cache_clear()
    config._config_from.cache_clear()

    def write(content: bytes) -> None:
        (tmp_path / ".env").write_bytes(content)
        config._dotenv.cache_clear()
        config._config_from.cache_clear()

    yield write
    config._dotenv.cache_clear()
    config._config_from.cache_clear()


def test_nothing_set_gives_the_documented_defaults(dotenv: Callable, tmp_path: Path) -> None:
    assert load_config({}) == Config(sqlite_path=tmp_path / "ALX_prodev.sqlite3")


def test_the_environment_wins_over_dotenv_which_wins_over_the_default(dotenv: Callable) -> None:
    dotenv(b"MYSQL_DATABASE=from_dotenv\nMYSQL_USER=dotenv_user\n")
    settings = load_config({"MYSQL_DATABASE": "from_env"})
    assert (settings.database, settings.user, settings.password) == ("from_env", "dotenv_user", "")


def test_an_empty_value_counts_as_unset_in_the_environment_and_in_dotenv(
    dotenv: Callable, tmp_path: Path
) -> None:
    dotenv(b"MYSQL_DATABASE=mydb\nMYSQL_USER=\nDB_ENGINE=sqlite\n")
    settings = load_config({"MYSQL_DATABASE": "", "DB_ENGINE": ""})
    assert (settings.database, settings.user, settings.engine) == ("mydb", "root", "sqlite")
    assert settings.sqlite_path == tmp_path / "mydb.sqlite3", "the SQLite file follows the name"


@pytest.mark.parametrize(
    "written", ["'pw${HOME}x'", '"pw${HOME}x"', "pw${HOME}x"], ids=["single", "double", "bare"]
)
def test_dotenv_is_read_literally_without_expansion(dotenv: Callable, written: str) -> None:
    dotenv(f"MYSQL_PASSWORD={written}\n".encode())
    assert load_config({"HOME": "/expanded"}).password == "pw${HOME}x"


def test_a_password_keeps_its_inner_quotes(dotenv: Callable) -> None:
    dotenv(b'MYSQL_PASSWORD="pw\'x"\n')
    assert load_config({}).password == "pw'x"


def test_a_dotenv_that_is_not_utf8_names_its_line_and_never_the_bytes(dotenv: Callable) -> None:
    dotenv(b"DB_ENGINE=sqlite\nMYSQL_PASSWORD=caf\xe9\n")
    with pytest.raises(SetupError) as error:
        load_config({})
    assert str(error.value) == (
        f"{config.ROOT / '.env'}: line 2 is not UTF-8 text: save the file as UTF-8"
    )


def test_the_password_never_shows_in_the_settings_repr(dotenv: Callable) -> None:
    assert "s3cret" not in repr(load_config({"MYSQL_PASSWORD": "s3cret"}))


def test_several_hosts_are_tried_in_order(dotenv: Callable) -> None:
    settings = load_config({"MYSQL_HOSTS": "a:1, b:4407,[::1]:3306", "MYSQL_HOST": "ignored"})
    assert settings.hosts == (("a", 1), ("b", 4407), ("[::1]", 3306))
    assert settings.address == "a:1,b:4407,[::1]:3306"


def test_names_of_engines_and_load_methods_ignore_case(dotenv: Callable) -> None:
    settings = load_config({"DB_ENGINE": "MySQL", "LOAD_METHOD": "LOAD-DATA"})
    assert (settings.engine, settings.load_method) == ("mysql", "load-data")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "DB_ENGINE",
            "postgres",
            "DB_ENGINE='postgres' is not valid: use one of auto, mysql, sqlite",
        ),
        (
            "LOAD_METHOD",
            "copy",
            "LOAD_METHOD='copy' is not valid: use one of auto, load-data, insert",
        ),
        (
            "MYSQL_DATABASE",
            "x-y",
            "MYSQL_DATABASE='x-y' is not valid: use 1 to 64 letters, digits or underscores",
        ),
        ("MYSQL_DATABASE", "a" * 65, f"MYSQL_DATABASE='{'a' * 65}' is not valid"),
        ("MYSQL_DATABASE", "naïve", "MYSQL_DATABASE='naïve' is not valid"),
        ("MYSQL_PORT", "0", "MYSQL_PORT='0' is not valid: use a port number from 1 to 65535"),
        ("MYSQL_PORT", "65536", "MYSQL_PORT='65536' is not valid"),
        ("MYSQL_PORT", "\u00b2", "MYSQL_PORT='\u00b2' is not valid"),
        ("MYSQL_PORT", " 3306", "MYSQL_PORT=' 3306' is not valid"),
        ("MYSQL_HOSTS", "a:1,b", "MYSQL_HOSTS: 'b' is not a valid host:port (port 1 to 65535)"),
        ("MYSQL_HOSTS", "a:\u00b9\u00b2", "MYSQL_HOSTS: 'a:\u00b9\u00b2' is not a valid host:port"),
        ("MYSQL_HOSTS", ":3306", "MYSQL_HOSTS: ':3306' is not a valid host:port"),
        ("SQLITE_TIMEOUT", "soon", "SQLITE_TIMEOUT='soon' is not valid: give a number of seconds"),
        ("SQLITE_TIMEOUT", "-1", "SQLITE_TIMEOUT='-1' is not valid"),
    ],
    ids=lambda value: value[:24] if isinstance(value, str) else "",
)
def test_a_malformed_setting_is_one_line_naming_it(
    dotenv: Callable, variable: str, value: str, message: str
) -> None:
    with pytest.raises(SetupError) as error:
        load_config({variable: value})
    assert str(error.value).startswith(message)


def test_a_malformed_setting_in_dotenv_is_refused_too(dotenv: Callable) -> None:
    dotenv(b"MYSQL_PORT=port\n")
    with pytest.raises(SetupError, match="MYSQL_PORT='port' is not valid"):
        load_config({})


@pytest.mark.parametrize(
    ("value", "minimum", "error"),
    [
        (True, 1, TypeError),
        (2.0, 1, TypeError),
        ("5", 1, TypeError),
        (None, 1, TypeError),
        (0, 1, ValueError),
        (-1, 0, ValueError),
        (2**63, 1, ValueError),
    ],
)
def test_a_size_that_is_not_an_int_in_range_is_refused(
    value: object, minimum: int, error: type[Exception]
) -> None:
    with pytest.raises(error, match=r"^size must be"):
        check_size("size", value, minimum)


@pytest.mark.parametrize(("value", "minimum"), [(1, 1), (0, 0), (2**63 - 1, 1)])
def test_a_size_in_range_is_returned(value: int, minimum: int) -> None:
    assert check_size("size", value, minimum) == value


@pytest.mark.parametrize("email", ["a@example.com", " Mixed.Case@Example.COM ", "é@example.com"])
def test_every_user_id_seeding_writes_is_a_valid_resume_point(email: str) -> None:
    user_id = user_id_for(email)
    assert check_user_id("after", user_id) == user_id
    assert check_user_id("after", str(uuid.uuid1())) is not None  # MariaDB's UUID() form


def test_a_resume_point_may_be_none_only_where_optional() -> None:
    assert check_user_id("after", None, optional=True) is None
    with pytest.raises(TypeError, match=r"^after must be a user_id string, not NoneType"):
        check_user_id("after", None)


# ---------------------------------------------------- an existing table


def mysql_column(declared: str, **changes: object) -> Column:
    """A column as information_schema describes it, from its declaration."""
    kind, _, rest = declared.lower().partition("(")
    numbers = [int(n) for n in rest.rstrip(")").split(",")] if rest else []
    text = kind in ("char", "varchar", "tinytext", "text")
    column = Column(
        declared=declared,
        kind=kind,
        length=(numbers[0] if numbers else 65_535) if text else 0,
        charset="utf8mb4" if text else "",
        precision=numbers[0] if kind == "decimal" else 0,
        scale=numbers[1] if kind == "decimal" else 0,
        key=False,
    )
    return column._replace(**changes)


MYSQL_GOOD = {
    "user_id": mysql_column("char(36)", charset="ascii", key=True),
    "name": mysql_column("varchar(255)"),
    "email": mysql_column("varchar(255)"),
    "age": mysql_column("decimal(5,2)"),
}
FIX = "drop the table (DROP TABLE user_data) and run seed.py to create it"


@pytest.mark.parametrize(
    ("name", "column", "message"),
    [
        (
            "age",
            mysql_column("decimal(10,0)"),
            "column age is decimal(10,0), which would round or refuse ages from 0 to 999.99",
        ),
        ("age", mysql_column("decimal(4,2)"), "column age is decimal(4,2), which would round"),
        ("age", mysql_column("decimal(5,1)"), "column age is decimal(5,1), which would round"),
        ("age", mysql_column("int(11)"), "column age is int(11), which does not store every age"),
        ("age", mysql_column("float"), "column age is float, which does not store every age"),
        (
            "name",
            mysql_column("varchar(20)"),
            "column name is varchar(20), which would cut values longer than 20 characters",
        ),
        (
            "name",
            mysql_column("tinytext", length=63),
            "column name is tinytext, which would cut values longer than 63",
        ),
        (
            "name",
            mysql_column("varchar(255)", charset="latin1"),
            "column name is varchar(255) in latin1, which cannot hold every character",
        ),
        ("email", mysql_column("int(11)"), "column email is int(11), not a text column"),
        ("user_id", mysql_column("char(36)", key=False), "column user_id is not the primary key"),
        (
            "user_id",
            mysql_column("char(35)", key=True),
            "column user_id is char(35), too short for a UUID",
        ),
        ("email", None, "column email is missing"),
    ],
    ids=lambda value: value.declared if isinstance(value, Column) else None,
)
def test_a_mysql_table_that_would_change_a_value_is_refused(
    name: str, column: Column | None, message: str
) -> None:
    columns = {**MYSQL_GOOD, name: column}
    if column is None:
        del columns[name]
    with pytest.raises(SetupError) as error:
        check_columns(columns, MYSQL)
    text = str(error.value)
    assert text.startswith(f"table user_data: {message}")
    change = "ADD" if column is None else "MODIFY"
    assert text.endswith(f"; {FIX}, or ALTER TABLE user_data {change} {MYSQL_COLUMNS[name]}")


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {
            "user_id": mysql_column("varchar(64)", key=True),
            "name": mysql_column("text"),
            "email": mysql_column("varchar(320)"),
            "age": mysql_column("decimal(8,3)"),
        },
    ],
    ids=["as seed.py creates it", "wider everywhere"],
)
def test_a_mysql_table_that_holds_every_valid_row_exactly_is_accepted(changes: dict) -> None:
    check_columns({**MYSQL_GOOD, **changes}, MYSQL)


def sqlite_column(declared: str, key: bool = False) -> Column:
    """A column as pragma_table_info describes it, from its declared type."""
    return Column(declared, _affinity(declared), 0, "", 0, 0, key)


SQLITE_GOOD = {
    "user_id": sqlite_column("TEXT", key=True),
    "name": sqlite_column("TEXT"),
    "email": sqlite_column("TEXT"),
    "age": sqlite_column("DECIMAL(5, 2)"),
}


@pytest.mark.parametrize(
    ("name", "declared", "message"),
    [
        ("age", "TEXT", "column age is TEXT, so ages would be stored as text"),
        ("age", "", "column age is untyped, so ages would be stored as text"),
        ("name", "INT", "column name is INT, so a name such as 123 would be stored as a number"),
        (
            "email",
            "REAL",
            "column email is REAL, so a email such as 123 would be stored as a number",
        ),
    ],
)
def test_an_sqlite_table_that_would_change_a_value_is_refused(
    name: str, declared: str, message: str
) -> None:
    with pytest.raises(SetupError) as error:
        check_columns({**SQLITE_GOOD, name: sqlite_column(declared)}, SQLITE)
    assert str(error.value) == f"table user_data: {message}; {FIX}"


def test_an_sqlite_table_without_a_single_column_key_is_refused() -> None:
    columns = {**SQLITE_GOOD, "user_id": sqlite_column("TEXT"), "name": sqlite_column("TEXT", True)}
    with pytest.raises(SetupError, match="column user_id is not the primary key"):
        check_columns(columns, SQLITE)


def test_no_columns_at_all_means_the_table_does_not_exist() -> None:
    with pytest.raises(SetupError, match=r"^table user_data does not exist: run seed\.py"):
        check_columns({}, MYSQL)


@pytest.mark.parametrize(
    ("declared", "affinity"),
    [
        ("INT", "INTEGER"),
        ("BIGINT", "INTEGER"),
        ("VARCHAR(255)", "TEXT"),
        ("CLOB", "TEXT"),
        ("", "BLOB"),
        ("BLOB", "BLOB"),
        ("DOUBLE", "REAL"),
        ("FLOAT", "REAL"),
        ("DECIMAL(5, 2)", "NUMERIC"),
        ("CHARINT", "INTEGER"),
    ],
)
def test_sqlite_affinity_follows_its_documented_rules_in_order(
    declared: str, affinity: str
) -> None:
    assert _affinity(declared) == affinity


# --------------------------------------------------------- the DECIMAL reader


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (b"67", 67),
        (b"67.00", 67),
        (b"0.00", 0),
        (b"000", 0),
        (b"30.50", Decimal("30.5")),
        (b"30.5", Decimal("30.5")),
        (b"0.05", Decimal("0.05")),
        (b"999.99", Decimal("999.99")),
        (b"100.10", Decimal("100.1")),
    ],
)
def test_a_decimal_reads_as_an_int_when_whole_else_an_exact_decimal(
    text: bytes, value: int | Decimal
) -> None:
    read = exact_number(text)
    assert (type(read), read) == (type(value), value)
    assert repr(read) == repr(value), "67, not Decimal('67.00'); Decimal('30.5'), not '30.50'"
