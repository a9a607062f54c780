"""Every bound paramcalc puts on its input, in one place: specs come from users, generators and pull
requests, and a check in CI must answer in bounded time and memory whatever it is given. Each limit
is far beyond any real network; crossing one is a clear error, never a hang or an exhausted machine."""

MAX_FILE_BYTES = 10_000_000  # a spec file
MAX_YAML_ALIASES = 1_000  # YAML alias uses ('billion laughs' expands aliases of aliases)
MAX_YAML_NESTING = 100  # mappings and lists inside each other
MAX_EXPRESSION_CHARS = 1_000  # one expression
MAX_POWER_EXPONENT = 64  # a ** b
MAX_MAGNITUDE = 10**30  # any intermediate value of an expression
MAX_SIZE = 10**9  # a channel count, kernel, stride, padding, input size or batch
MAX_REPEAT = 100_000  # one 'repeat'
MAX_NESTING = 64  # blocks and groups inside each other
MAX_LAYERS = 250_000  # layers and groups after blocks and repeats are expanded
