"""Exception tree of the core package.

CoreError
├── SettingsError      a setting (environment variable) has a junk value
├── ConfigError        the OPSLOOP_CONFIG YAML file is unreadable or malformed
└── AuthError          bad credentials, unknown user or token, bad role or scope
"""


class CoreError(Exception):
    """Base of every error raised by the core package."""


class SettingsError(CoreError):
    """A setting has a value that cannot be used; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


class ConfigError(CoreError):
    """The config-as-code file cannot be used; the message names the file and the place."""


class AuthError(CoreError):
    """Authentication or authorisation failed."""
