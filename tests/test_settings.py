"""One settings object (`careledger.settings`): every CARELEDGER_* variable, read from the
environment, then from the settings file (TOML), then the default; an option on the command
line before all three.

- `careledger settings` shows each value in force and where it came from, and never a
  secret's value, in either format.
- A bad value, from the environment or the file, is one line naming the variable (and the
  file), exit status 1, and nothing recorded.
- The file's values reach the ledger: its location, who records, its cipher key.
- The README's table lists every variable the model has, with its default.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from pydantic import BaseModel

from careledger.api import opened
from careledger.cli.main import cli
from careledger.ledger.domain.protocol import DisputeProtocol, Stage
from careledger.ledger.errors import LedgerError
from careledger.projections.drift_settings import DriftSettings
from careledger.settings import (
    FILE_VARIABLE,
    Settings,
    StoreSettings,
    load_settings,
    variables,
)
from tests.envelope import data_of

README = Path(__file__).resolve().parents[1] / "README.md"
COUNCIL = "E10000099"
# Every variable unset, so the machine's own settings do not leak into a test.
CLEAN = {variable.name: None for variable in variables()} | {FILE_VARIABLE: None}
CIPHER_KEY = "q3Vd0m9bJ0l4m0yQ1y0bQvZ2b2c3d4e5f6g7h8i9j0k="
OIDC_SECRET = "oidc-client-secret-of-westmere"
SESSION_SECRET = "session-cookie-signing-key-7731"
ENTRY = {
    "type": "ChildBecameLookedAfter", "council": COUNCIL, "child": "NR-0101",
    "occurred_on": "2024-03-11", "source": "LCS/NR-0101/1", "legal_status": "C2",
}  # fmt: skip


@pytest.fixture(autouse=True)
def no_file_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ./careledger.toml but the ones a test writes."""
    monkeypatch.chdir(tmp_path)


def invoke(*args: str, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=CLEAN | (env or {}))


def settings_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "council.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def shown(result: Result) -> dict[str, dict[str, object]]:
    assert result.exit_code == 0, result.output
    return {row["variable"]: row for row in data_of(result.stdout)}


def test_each_value_says_whether_it_came_from_option_environment_file_or_default(
    tmp_path: Path,
) -> None:
    path = settings_file(
        tmp_path,
        '[limits]\ntext_length = 40000\n[drift]\niro_changes = 4\n'
        '[recording]\ncouncil = "E09000027"\nactor = "returns.officer"\n',
    )
    env = {FILE_VARIABLE: path, "CARELEDGER_IRO_CHANGES": "5", "CARELEDGER_ROLE": "IRO"}
    rows = shown(invoke("settings", "--council", COUNCIL, "--format", "json", env=env))
    assert rows["CARELEDGER_MAX_TEXT_LENGTH"] == {
        "variable": "CARELEDGER_MAX_TEXT_LENGTH", "section": "limits", "value": 40000,
        "from": path,
    }  # fmt: skip
    assert (rows["CARELEDGER_IRO_CHANGES"]["value"], rows["CARELEDGER_IRO_CHANGES"]["from"]) == (
        5, "CARELEDGER_IRO_CHANGES",
    )  # the environment before the file  # fmt: skip
    assert (rows["CARELEDGER_COUNCIL"]["value"], rows["CARELEDGER_COUNCIL"]["from"]) == (
        COUNCIL, "--council",
    )  # the command line before the file  # fmt: skip
    assert (rows["CARELEDGER_ACTOR"]["value"], rows["CARELEDGER_ACTOR"]["from"]) == (
        "returns.officer", path,
    )  # fmt: skip
    assert (rows["CARELEDGER_ROLE"]["value"], rows["CARELEDGER_ROLE"]["from"]) == (
        "IRO", "CARELEDGER_ROLE",
    )  # fmt: skip
    assert rows["CARELEDGER_MAX_JSON_DEPTH"]["value"] == 32
    assert rows["CARELEDGER_MAX_JSON_DEPTH"]["from"] == "default"
    assert rows["CARELEDGER_READ_DB"]["value"] == "./careledger.db"  # CARELEDGER_DB's
    assert set(rows) == {variable.name for variable in variables()}


def test_the_file_in_the_working_directory_is_read_when_none_is_named(tmp_path: Path) -> None:
    (tmp_path / "careledger.toml").write_text("[service]\nport = 8443\n", encoding="utf-8")
    rows = shown(invoke("settings", "--format", "json"))
    assert (rows["CARELEDGER_PORT"]["value"], rows["CARELEDGER_PORT"]["from"]) == (
        8443, "careledger.toml",
    )  # fmt: skip


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_no_secret_is_ever_printed_only_whether_it_is_set(tmp_path: Path, fmt: str) -> None:
    path = settings_file(tmp_path, f'[service]\nsession_secret = "{SESSION_SECRET}"\n')
    env = {
        FILE_VARIABLE: path,
        "CARELEDGER_CIPHER_KEY": CIPHER_KEY,
        "CARELEDGER_OIDC_CLIENT_SECRET": OIDC_SECRET,
        "COLUMNS": "400",
    }
    result = invoke("settings", "--format", fmt, env=env)
    assert result.exit_code == 0, result.output
    for secret in (CIPHER_KEY, OIDC_SECRET, SESSION_SECRET):
        assert secret not in result.output
        assert secret[:12] not in result.output  # not even a part of one, wrapped in a table
    if fmt == "json":
        rows = shown(result)
        assert rows["CARELEDGER_CIPHER_KEY"]["value"] == "********"
        assert rows["CARELEDGER_OIDC_CLIENT_SECRET"]["value"] == "********"
        assert rows["CARELEDGER_SESSION_SECRET"] == {
            "variable": "CARELEDGER_SESSION_SECRET", "section": "service",
            "value": "********", "from": path,
        }  # fmt: skip
        assert rows["CARELEDGER_CIPHER_KEY_FILE"]["value"] is None


def test_a_bad_value_in_the_environment_is_one_line_naming_the_variable() -> None:
    result = invoke("settings", env={"CARELEDGER_SESSION_MINUTES": "0"})
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: CARELEDGER_SESSION_MINUTES: Input should be greater than or equal to 1\n"
    )


def test_a_bad_value_in_the_file_names_the_variable_and_the_file_and_records_nothing(
    tmp_path: Path, sqlite_db: str
) -> None:
    assert invoke("init", "--db", sqlite_db).exit_code == 0
    path = settings_file(tmp_path, '[limits]\ntext_length = "lots"\n')
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(ENTRY) + "\n", encoding="utf-8")
    env = {FILE_VARIABLE: path, "CARELEDGER_ACTOR": "lcs-feed", "CARELEDGER_ROLE": "ADMIN"}
    recorded = invoke("record", "--db", sqlite_db, "--file", str(events), env=env)
    assert recorded.exit_code == 1
    assert recorded.stderr == (
        "error: CARELEDGER_MAX_TEXT_LENGTH: Input should be a valid integer, unable to parse "
        f"string as an integer ([limits] text_length in {path})\n"
    )
    history = invoke("history", "--db", sqlite_db, f"{COUNCIL}:NR-0101")
    assert history.exit_code == 1
    assert "no case for child 'NR-0101'" in history.stderr


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[limits]\ntext_lenght = 40000\n", "CARELEDGER_MAX_TEXT_LENGHT: Extra inputs are not "
         "permitted ([limits] text_lenght in {path})"),
        ("[limit]\ntext_length = 40000\n", "{path}: [limit] is not a section of careledger's "
         "settings (sections: store, integrity, recording, diagnostics, limits, policy, drift, "
         "challenge, service, access, email)"),
        ("[limits\n", "{path}: not TOML (Expected ']' at the end of a table declaration "
         "(at line 1, column 8))"),
    ],
    ids=["misspelt_setting", "misspelt_section", "not_toml"],
)  # fmt: skip
def test_a_file_careledger_cannot_use_is_named_in_one_line(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = settings_file(tmp_path, text)
    result = invoke("settings", env={FILE_VARIABLE: path})
    assert result.exit_code == 1
    assert result.stderr == f"error: {problem.format(path=path)}\n"


def test_a_named_settings_file_that_is_missing_is_an_error_not_ignored(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.toml")
    result = invoke("settings", env={FILE_VARIABLE: missing})
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {FILE_VARIABLE}: cannot read '{missing}' (No such file or directory)\n"
    )


def test_the_files_ledger_and_recorder_are_used_when_no_option_or_variable_names_them(
    tmp_path: Path, db: str
) -> None:
    path = settings_file(
        tmp_path,
        f'[store]\ndb = "{db}"\n[recording]\nactor = "sw-2210"\nrole = "SW"\n'
        f'council = "{COUNCIL}"\n',
    )
    env = {FILE_VARIABLE: path}
    assert invoke("init", env=env).exit_code == 0
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(ENTRY) + "\n", encoding="utf-8")
    recorded = invoke("record", "--file", str(events), env=env)
    assert recorded.exit_code == 0, recorded.output
    history = invoke("history", "NR-0101", env=env | {"COLUMNS": "200"})
    assert history.exit_code == 0, history.output
    assert "sw-2210 (SW)" in history.stdout  # the council, the ledger and who, from the file


def test_a_cipher_key_from_the_file_encrypts_the_ledger(tmp_path: Path, sqlite_db: str) -> None:
    key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # 32 bytes, base64
    path = settings_file(tmp_path, f'[store]\ncipher_key = "{key}"\n')
    keyed = {FILE_VARIABLE: path, "CARELEDGER_ACTOR": "lcs-feed", "CARELEDGER_ROLE": "ADMIN"}
    assert invoke("init", "--db", sqlite_db, env=keyed).exit_code == 0
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(ENTRY) + "\n", encoding="utf-8")
    recorded = invoke("record", "--db", sqlite_db, "--file", str(events), env=keyed)
    assert recorded.exit_code == 0, recorded.output
    without = invoke("history", "--db", sqlite_db, f"{COUNCIL}:NR-0101")
    assert without.exit_code == 1
    assert without.stderr == (
        "error: the ledger is encrypted: set CARELEDGER_CIPHER_KEY or CARELEDGER_CIPHER_KEY_FILE\n"
    )
    assert key.encode() not in Path(sqlite_db).read_bytes()
    assert invoke("history", "--db", sqlite_db, f"{COUNCIL}:NR-0101", env=keyed).exit_code == 0


def test_the_settings_object_reads_as_pydantic_settings_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Settings()` (pydantic-settings' own sources) and `load_settings()` (section by
    section, for the messages) agree: environment over file over default."""
    path = settings_file(tmp_path, "[drift]\niro_changes = 4\nsocial_worker_changes = 6\n")
    monkeypatch.setenv(FILE_VARIABLE, path)
    monkeypatch.setenv("CARELEDGER_IRO_CHANGES", "5")
    monkeypatch.setenv(
        "CARELEDGER_CHALLENGE_STAGES",
        json.dumps([{"name": "Alert", "responder": "Team manager", "working_days": 10},
                    {"name": "Escalation", "responder": "Head of service", "working_days": 10}]),
    )  # fmt: skip
    monkeypatch.setenv("CARELEDGER_PRESUMED_SIGNIFICANT", "placement,education")
    loaded = load_settings()
    assert Settings() == loaded
    assert (loaded.drift.iro_changes, loaded.drift.social_worker_changes) == (5, 6)
    assert [stage.name for stage in loaded.challenge.stages] == ["Alert", "Escalation"]
    assert {str(s) for s in loaded.policy.presumed_significant} == {"placement", "education"}


def test_the_python_api_takes_a_settings_object_instead_of_reading_them(
    sqlite_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An embedding program hands `opened` its settings: the sections it gives come before
    the environment's (here a bad challenge setting, and a cipher key that is no key)."""
    monkeypatch.setenv("CARELEDGER_CHALLENGE_FORMAL_LIMIT_WORKING_DAYS", "0")
    monkeypatch.setenv("CARELEDGER_CIPHER_KEY", "not a key")
    stages = (
        Stage(name="Alert", responder="Team manager", working_days=10),
        Stage(name="Escalation", responder="Head of service", working_days=10),
    )
    given = Settings(
        store=StoreSettings(),
        challenge=DisputeProtocol(stages=stages),
        drift=DriftSettings(iro_changes=9),
    )
    with opened(sqlite_db, create_tables=True, settings=given) as ledger:
        assert ledger.record([ENTRY], actor="lcs-feed", role="ADMIN") == 1
        assert [stage.name for stage in ledger.ledger.protocol.stages] == ["Alert", "Escalation"]
        assert ledger.challenges(date(2025, 6, 2)) == []
        assert ledger.drift(date(2025, 6, 2)).settings.iro_changes == 9
    with pytest.raises(LedgerError, match=r"^CARELEDGER_CIPHER_KEY: not the base64"):
        opened(sqlite_db).__enter__()  # no settings given: the environment's are read


# --- the README lists every variable -------------------------------------------------------


def readme_settings() -> dict[str, str]:
    """The README's settings table: each variable and its default cell."""
    text = README.read_text(encoding="utf-8").split("### Settings\n", 1)[1]
    text = text.split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(CARELEDGER_\w+)` \|[^|]*\|[^|]*\| (.*) \|$", text, re.M)
    return dict(rows)


def test_the_readme_lists_every_setting_with_its_default() -> None:
    listed = readme_settings()
    assert set(listed) == {variable.name for variable in variables()} | {FILE_VARIABLE}
    for variable in variables():
        default = variable.info.default
        if isinstance(default, BaseModel | tuple | frozenset) or default is None:
            continue
        written = str(default).lower() if isinstance(default, bool) else str(default)
        assert f"`{written}`" in listed[variable.name], variable.name


# --- only the settings module reads them ---------------------------------------------------


def test_only_the_settings_module_reads_the_environment_and_the_domain_never_imports_it() -> None:
    """The domain and the projections are handed their settings by the composition root
    (`careledger.api`); the command line reads variables only through its options."""
    root = Path(__file__).resolve().parents[1]
    for folder in ("ledger", "projections", "cli"):
        for source in sorted((root / folder).rglob("*.py")):
            text = source.read_text(encoding="utf-8")
            where = source.relative_to(root)
            assert "os.environ" not in text and "getenv(" not in text, where
            assert "pydantic_settings" not in text, where
            if folder != "cli":
                assert "careledger.settings" not in text.replace("`careledger.settings`", ""), where
