"""Every bound paramcalc puts on its input, in one place: specs come from users, generators and pull
requests, and a check in CI must answer in bounded time and memory whatever it is given. Each limit
is far beyond any real network; crossing one is a clear error, never a hang or an exhausted machine."""

MAX_FILE_BYTES = 10_000_000  # a spec file, checked before it is read
MAX_ONNX_BYTES = 2**31 - 1  # an ONNX file read by import (protobuf reads no larger message), checked first
MAX_FOLDED_VALUES = 100_000  # a constant import works out from an ONNX file's shape arithmetic, bounded before it is made
MAX_YAML_ALIASES = 1_000  # YAML alias uses
MAX_YAML_NODES = 1_000_000  # values of the document once its aliases are expanded ('billion laughs')
MAX_YAML_NESTING = 100  # mappings and lists inside each other
MAX_EXPRESSION_CHARS = 1_000  # one expression
MAX_EXPRESSION_NESTING = 100  # operators and parentheses inside each other
MAX_EVALUATED_CHARS = 500_000  # the text one expansion evaluates (a number counts 1), repeats and aliases again
MAX_LITERAL_DIGITS = 40  # digits of one number as written
MAX_POWER_EXPONENT = 64  # a ** b
MAX_MAGNITUDE = 10**30  # any value of an expression
MAX_DENOMINATOR = 10**30  # any fraction of an expression: 1e-30 is the finest
MAX_ROUND_DIGITS = 30  # round(x, n)
MAX_SIZE = 10**9  # a channel count, kernel, stride, padding, input size or batch written in a spec
MAX_TENSOR_SIZE = 2**63 - 1  # any size a layer makes (PyTorch's sizes are 64-bit integers)
MAX_RANK = 64  # dimensions of one sample, the input's or a layer's (a reshape can make more)
MAX_REPEAT = 10_000  # one 'repeat'
MAX_NESTING = 64  # blocks and groups inside each other
MAX_LAYERS = 100_000  # layers and groups after blocks and repeats are expanded
MAX_CONNECTIONS = 200_000  # inputs of all layers together, after expansion
MAX_SYMBOLIC_PERIOD = 100_000  # input sizes tried to decide a condition on a symbolic size (the period of its residues)
