"""`crimetiles serve`: the development server (in production, granian or gunicorn: see README)."""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import click

from crimetiles.options import Decorated, ParsedText, setting_default, setting_field
from crimetiles.server.config import SETTING_PARSERS, ConfigError, ServerConfig, env_name, setting_help

SERVER_OPTION_TYPES: dict[str, click.ParamType] = {"port": click.IntRange(0, 65535)}
"""Settings whose command-line values are checked more narrowly than their Python type."""


def server_option(setting: str) -> Callable[[Decorated], Decorated]:
    """The flag of the `ServerConfig` field `setting` (`--max-age` for `max_age`): its help, default
    and env var from the config, its value read as its env var is (`SETTING_PARSERS`: sizes with
    units, absolute URLs). Unset, it leaves the setting to its env var, then its default."""
    default = setting_default(setting_field(ServerConfig, setting))
    return click.option(
        f"--{setting.replace('_', '-')}",
        setting,
        default=None,
        type=_flag_type(setting, default),
        help=setting_help(setting),
    )


def _flag_type(setting: str, default: object) -> click.ParamType | type:
    parse = SETTING_PARSERS.get(setting)
    if parse is None:
        return SERVER_OPTION_TYPES.get(setting, str if default is None else type(default))
    return ParsedText(setting, _refused_as_bad_parameter(parse))


def _refused_as_bad_parameter(parse: Callable[[str], object]) -> Callable[[str], object]:
    """`parse`, its `ValueError` (what the setting expects) a `click.BadParameter`."""

    def parsed(text: str) -> object:
        try:
            return parse(text)
        except ValueError as exc:
            raise click.BadParameter(f"{text!r}: {exc}") from None

    return parsed


def server_options(command: Decorated) -> Decorated:
    """Every `ServerConfig` flag but the build directory (an argument) on `command`."""
    for setting in reversed([field.name for field in fields(ServerConfig) if field.name != "build_dir"]):
        command = server_option(setting)(command)
    return command


@click.command(epilog=f"BUILD_DIR: {setting_help('build_dir')}")
@click.argument(
    "build_dir", required=False, default=None, type=click.Path(file_okay=False, path_type=Path), envvar=env_name("build_dir")
)
@server_options
def serve(build_dir: Path | None, **options: object) -> None:
    """Serve BUILD_DIR (see below): vector tiles, TileJSON, styles, downloads and the map page.

    The server switches to a new build when BUILD_DIR is rebuilt (checked every
    --reload-interval seconds) or on SIGHUP. If BUILD_DIR holds no build but an interrupted
    build left a complete one beside it, the newest such build is served, with a warning.
    """
    from crimetiles.artifact.errors import BuildError
    from crimetiles.server.app import create_app
    from crimetiles.server.context import live_build

    try:
        config = ServerConfig.from_env(build_dir=build_dir, **options)
        app = create_app(config)
    except (BuildError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    live = live_build(app)
    signal.signal(signal.SIGHUP, lambda *_: live.reload_if_changed())
    click.echo(f"serving build {live.service.build_id} on http://{config.host}:{config.port}/", err=True)
    app.run(host=config.host, port=config.port, threaded=True, debug=False, use_reloader=False)
