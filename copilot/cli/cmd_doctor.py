"""`lqmf doctor`: this machine, the llama.cpp build, the libraries, and a self-check."""
from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("doctor", help="check this machine, the llama.cpp build and the bundled models")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.add_argument("--no-check", action="store_true", help="skip the self-check of the bundled models")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lqmf.copilot.app import doctor
    from lqmf.copilot.cli.output import console, print_json

    rep = doctor.doctor(args.app, check=not args.no_check)
    if args.json:
        print_json(rep.to_dict())
        return 0 if rep.ok else 1
    m, b = rep.machine, rep.llama
    c = console()
    cpu = m["cpu"]
    c.print(f"[bold]CPU[/]      {cpu['model']} ({cpu['arch']}), {cpu['cores']} cores usable, load {cpu['load_1m']:.2f}")
    c.print(f"         features: {' '.join(cpu['flags']) or 'none of note'}")
    c.print(f"[bold]RAM[/]      {m['ram_total_gb']:.1f} GB, {m['ram_available_gb']:.1f} GB available")
    c.print(f"[bold]disk[/]     {m['disk_free_gb']:.1f} GB free at {m['disk_path']}")
    gpus = ", ".join(f"{g['name']} ({g['vram_gb']:.1f} GB)" for g in m["gpus"]) or "none"
    c.print(f"[bold]GPU[/]      {gpus}")
    c.print(f"[bold]llama.cpp[/] llama-cpp-python {b.version}, build {b.installed_key or 'not from make setup'}"
            f" ({'matches this CPU' if b.matches_cpu else 'expected ' + str(b.build_key)})")
    c.print(f"         flags: {' '.join(b.cmake_args)}")
    c.print(f"         {b.system_info}")
    vers = ", ".join(f"{k} {v or 'not installed'}" for k, v in rep.versions.items())
    c.print(f"[bold]libraries[/] {vers}; Python {rep.python}")
    c.print(f"[bold]data dir[/] {rep.data_dir}")
    for chk in rep.checks:
        mark = "[green]ok[/]" if chk.ok else "[red]FAILED[/]"
        c.print(f"[bold]self-check[/] {chk.model}: {mark} {chk.message} ({chk.seconds:.1f} s)")
    advice = doctor.advice(rep)
    if advice:
        c.print(f"[yellow]advice[/]   {advice}")
    return 0 if rep.ok else 1
