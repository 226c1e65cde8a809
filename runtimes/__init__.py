"""The runtimes: the app assembly and every way to run it (HTTP, Socket Mode, Lambda, CLI, local chat).

The top floor: runtimes import ``handlers``, ``bot`` and ``ml``; nothing imports them.
"""
