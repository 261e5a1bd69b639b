"""The quantization backends that ship with lqmf: every module here declares
one ``BACKEND`` (a ``tools.quantize.registry.Backend``), and
``registry.builtin()`` collects them all. Adding a backend is adding a module
here (and its tests); nothing else lists it."""
