"""The `pyml` command: `pyml info` prints build and runtime facts; `pyml demo` trains a small CNN on the
bundled digits end to end (see pyml/demo.py); `pyml recipes` / `pyml run NAME` run the course recipes."""
import argparse
import sys


def cmd_info(args):
    import pyml
    i = pyml.info()
    print(f"pyml {i['version']}")
    print(f"  compiler:        {i['compiler']}")
    print(f"  SIMD level:      {i['simd']}")
    print(f"  threads:         {i['threads']}")
    print(f"  CUDA compiled:   {'yes' if i['cuda_compiled'] else 'no'}")
    if i["cuda_available"]:
        names = ", ".join(pyml.cuda.get_device_name(d) for d in range(i["cuda_devices"]))
        print(f"  GPU available:   yes ({i['cuda_devices']}: {names})")
    else:
        print("  GPU available:   no")
    return 0


def cmd_demo(args):
    from .demo import run_demo
    run_demo(quick=args.quick, epochs=args.epochs, seed=args.seed, out=args.out, threads=args.threads,
             device=args.device)
    return 0


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _add_demo(sub):
    p = sub.add_parser("demo", help="train a LeNet-style CNN on the bundled 8x8 digits (about a minute; "
                                    "--quick: seconds)")
    p.add_argument("--quick", action="store_true", help="a smaller model for a few epochs (a smoke test)")
    p.add_argument("--epochs", type=_positive_int, default=None, help="epochs to train (default: the preset's)")
    p.add_argument("--seed", type=int, default=0, help="seed for the split, initialisation and shuffling")
    p.add_argument("--out", default="pyml-demo", help="folder for the checkpoint and the loss-curve PNG")
    p.add_argument("--threads", type=_positive_int, default=1,
                   help="CPU threads for the engine (default 1: these small convolutions gain nothing from "
                        "more, and on a busy machine waiting threads slow them down)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where to train (cuda: the first GPU)")


def cmd_recipes(args):
    from .recipes.runner import list_recipes
    for line in list_recipes():
        print(line)
    return 0


def cmd_run(args):
    from .recipes import get
    from .recipes.runner import run_recipe
    try:
        get(args.name)
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2
    from ._threads import engine_threads
    with engine_threads(args.threads):  # main() may be called in-process (tests): leave threads as found
        run_recipe(args.name, quick=args.quick, epochs=args.epochs, device=args.device, seed=args.seed, out=args.out,
                   threads=args.threads)
    return 0


def _add_recipes(sub):
    sub.add_parser("recipes", help="list the course recipes with their chapter and purpose")
    p = sub.add_parser("run", help="run a course recipe (see `pyml recipes`)")
    p.add_argument("name", help="recipe name, e.g. cnn-digits")
    p.add_argument("--quick", action="store_true", help="the reduced run the tests use (< 30 s on a 2-core CPU)")
    p.add_argument("--epochs", type=_positive_int, default=None, help="epochs (default: the recipe's)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs", help="parent folder of the run folder (metrics.json, plots, checkpoints)")
    p.add_argument("--threads", type=_positive_int, default=None, help="CPU threads for the engine")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="pyml", description="pyml: a small deep-learning library")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("info", help="print version, compiler, SIMD level, threads and CUDA status")
    _add_demo(sub)
    _add_recipes(sub)
    args = parser.parse_args(argv)
    if args.command == "info":
        return cmd_info(args)
    if args.command == "demo":
        return cmd_demo(args)
    if args.command == "recipes":
        return cmd_recipes(args)
    if args.command == "run":
        return cmd_run(args)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
